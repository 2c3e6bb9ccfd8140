"""Deployments through the public API, embedded (SQLite, PostgreSQL+S3) and remote."""

from __future__ import annotations

import time

import pytest

from pomona.client.workspace import Workspace
from pomona.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PomonaError,
)
from pomona.registry import ModelVersionNotFoundError
from pomona.serving import ABTest, Canary, DeploymentNotFoundError, Shadow
from pomona.testing.serving import (
    SENTINEL,
    cancer_frame,
    register_cancer_model,
    register_table_net,
)


def _models(ws: Workspace) -> None:
    v1 = register_cancer_model(ws, c=1.0)
    register_cancer_model(ws, c=0.01)
    ws.models.set_alias("cancer", "champion", v1.version, reason="first model")


def test_create_list_get_delete_across_environments(ws: Workspace) -> None:
    _models(ws)
    ws.deployments.create("cancer-prod", model="cancer@champion", region="eu-west")
    ws.deployments.create("cancer-us", model="cancer:2", region="us-east")
    ws.deployments.create("cancer-staging", model="cancer", environment="staging")

    listed = {d.name: d for d in ws.deployments.list()}
    assert set(listed) == {"cancer-prod", "cancer-us", "cancer-staging"}
    assert listed["cancer-prod"].served == {"model": "cancer:1"}
    assert listed["cancer-staging"].served == {"model": "cancer:2"}  # the latest version
    assert [d.name for d in ws.deployments.list(environment="staging")] == ["cancer-staging"]
    assert [d.name for d in ws.deployments.list(region="us-east")] == ["cancer-us"]
    page = ws.deployments.list(limit=2)
    assert len(page) == 2 and page.next_page_token is not None

    with pytest.raises(AlreadyExistsError, match="exists"):
        ws.deployments.create("cancer-prod", model="cancer:1")
    with pytest.raises(ModelVersionNotFoundError):
        ws.deployments.create("cancer-x", model="cancer:9")
    with pytest.raises(InvalidInputError, match="deployment name"):
        ws.deployments.create("bad name!", model="cancer:1")

    ws.deployments.delete("cancer-us")
    ws.deployments.delete("cancer-us")  # idempotent
    with pytest.raises(DeploymentNotFoundError, match="cancer-us"):
        ws.deployments.get("cancer-us")


def test_predict_records_columns_and_feedback(ws: Workspace) -> None:
    _models(ws)
    ws.deployments.create("cancer-prod", model="cancer@champion")
    X, y = cancer_frame()
    answer = ws.deployments.predict("cancer-prod", X.iloc[:3])
    assert answer["model"] == "cancer:1" and answer["variant"] == "primary"
    assert len(answer["predictions"]) == 3 and len(answer["request_ids"]) == 3
    assert answer["classes"] == ["0", "1"]
    assert all(abs(sum(p.values()) - 1) < 1e-9 for p in answer["probabilities"])

    columns = {c: X[c].iloc[:2].tolist() for c in X.columns}
    assert len(ws.deployments.predict("cancer-prod", {"columns": columns})["predictions"]) == 2

    with pytest.raises(InvalidInputError, match="mean_radius") as info:
        ws.deployments.predict("cancer-prod", [{"mean_texture": 1.0}])
    assert info.value.details["field"] == "mean_radius"
    record = X.iloc[0].to_dict() | {"mean_area": "big"}
    with pytest.raises(InvalidInputError, match="'mean_area' of record 0 must be a number"):
        ws.deployments.predict("cancer-prod", [record])
    with pytest.raises(DeploymentNotFoundError):
        ws.deployments.predict("nowhere", X.iloc[:1])

    rid = answer["request_ids"][0]
    stored = ws.deployments.feedback("cancer-prod", rid, int(y.iloc[0]), source="lab")
    assert (stored.request_id, stored.label, stored.source) == (rid, str(y.iloc[0]), "lab")
    ws.deployments.feedback("cancer-prod", rid, "1")  # a correction replaces it
    assert ws.deployments.get_feedback(rid).label == "1"
    with pytest.raises(NotFoundError):
        ws.deployments.get_feedback("no-such-request")
    with pytest.raises(DeploymentNotFoundError):
        ws.deployments.feedback("nowhere", rid, "1")


def test_predictions_are_logged(ws: Workspace) -> None:
    _models(ws)
    ws.deployments.create("cancer-prod", model="cancer:1", options={"logging": "sync"})
    X, _ = cancer_frame()
    start = int(time.time() * 1000) - 1000
    rids = [
        ws.deployments.predict("cancer-prod", X.iloc[i : i + 2])["request_id"] for i in range(3)
    ]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        files = ws.deployments.log_files("cancer-prod", start_ms=start)
        if sum(f.rows for f in files) >= 6:
            break
        time.sleep(0.1)
    assert sum(f.rows for f in files) == 6
    assert {(f.model_name, f.model_version, f.variant) for f in files} == {("cancer", 1, "primary")}
    assert all(f.digest.startswith("sha256:") and f.min_ts_ms >= start for f in files)
    assert len(rids) == 3


def test_rollout_promote_rollback_pause_with_decisions(ws: Workspace) -> None:
    _models(ws)
    ws.deployments.create("cancer-prod", model="cancer@champion")
    dep = ws.deployments.rollout("cancer-prod", model="cancer:2", strategy=Canary(steps=(10, 50)))
    assert dep.rollout is not None and dep.rollout.weight == 10
    assert dep.served == {"model": "cancer:1", "challenger": "cancer:2"}
    with pytest.raises(ConflictError, match="already rolling out"):
        ws.deployments.rollout("cancer-prod", model="cancer:2")

    paused = ws.deployments.pause("cancer-prod", reason="looking at it")
    assert paused.rollout is not None and paused.rollout.state == "paused"
    ws.deployments.resume("cancer-prod")
    promoted = ws.deployments.promote("cancer-prod", reason="good enough")
    assert promoted.rollout is None and promoted.model == "cancer@champion"
    assert promoted.served == {"model": "cancer:2"}
    assert ws.models.get_version("cancer@champion").version == 2  # the alias moved

    ws.deployments.rollout("cancer-prod", model="cancer:1", strategy=Shadow())
    back = ws.deployments.rollback("cancer-prod", reason="no")
    assert back.rollout is None and back.served == {"model": "cancer:2"}
    with pytest.raises(ConflictError, match="no rollout"):
        ws.deployments.promote("cancer-prod")

    actions = [d.action for d in ws.deployments.decisions("cancer-prod")]
    assert actions == ["rollback", "start", "promote", "resume", "pause", "start"]
    promote = next(d for d in ws.deployments.decisions("cancer-prod") if d.action == "promote")
    assert (promote.champion, promote.challenger, promote.reason) == (
        "cancer:1",
        "cancer:2",
        "good enough",
    )


def test_ab_split_is_sticky_by_key(ws: Workspace) -> None:
    _models(ws)
    ws.deployments.create("cancer-ab", model="cancer:1", options={"logging": "off"})
    ws.deployments.rollout("cancer-ab", model="cancer:2", strategy=ABTest(split=50))
    X, _ = cancer_frame()
    for _ in range(300):  # a server applies the rollout at its next poll
        if ws.deployments.predict("cancer-ab", X.iloc[:1], key="probe")["variant"] != "primary":
            break
        time.sleep(0.1)
    seen: dict[str, set[str]] = {}
    for i in range(12):
        key = f"farmer-{i % 4}"
        answer = ws.deployments.predict("cancer-ab", X.iloc[:1], key=key)
        seen.setdefault(key, set()).add(answer["variant"])
    assert all(len(v) == 1 for v in seen.values())  # each key meets one variant
    assert set().union(*seen.values()) <= {"a", "b"}


def test_update_changes_model_and_options(ws: Workspace) -> None:
    _models(ws)
    ws.deployments.create("cancer-prod", model="cancer:1")
    dep = ws.deployments.update("cancer-prod", model="cancer:2", options={"max_batch_size": 8})
    assert dep.served == {"model": "cancer:2"} and dep.options.max_batch_size == 8
    assert dep.revision == 2
    with pytest.raises(InvalidInputError, match="max_batch_size"):
        ws.deployments.update("cancer-prod", options={"max_batch_size": 0})
    with pytest.raises(InvalidInputError, match="Unknown deployment options"):
        ws.deployments.update("cancer-prod", options={"batch": 3})


def _wait_for(ws: Workspace, name: str, model: str) -> None:
    """Until the serving process answers with ``model`` (a server polls for changes)."""
    for _ in range(300):
        answer = ws.deployments.predict(name, [[0.5, 0.0, 0.0, 1.0]])
        if answer["model"] == model:
            return
        time.sleep(0.1)
    raise AssertionError(f"{name} never served {model}")


def test_status_counts_failed_predictions_per_model_version(ws: Workspace) -> None:
    register_table_net(ws, "net", mode="fail_on_sentinel")
    register_table_net(ws, "net", mode="fail_on_sentinel")
    ws.deployments.create("net-prod", model="net:1")
    bad = [[SENTINEL, 0.0, 0.0, 0.0]]
    _wait_for(ws, "net-prod", "net:1")
    with pytest.raises(PomonaError, match="sentinel"):
        ws.deployments.predict("net-prod", bad)
    before = {(v["model"], v["variant"]): v for v in ws.deployments.status("net-prod")["versions"]}
    assert before[("net:1", "primary")]["errors"] == 1
    ws.deployments.update("net-prod", model="net:2")
    _wait_for(ws, "net-prod", "net:2")
    for _ in range(2):
        with pytest.raises(PomonaError, match="sentinel"):
            ws.deployments.predict("net-prod", bad)

    status = ws.deployments.status("net-prod")
    assert status["ready"] is True and status["models"]["primary"]["model"] == "net:2"
    assert status["models"]["primary"]["errors"] == 2
    counts = {(v["model"], v["variant"]): v for v in status["versions"]}
    assert counts[("net:1", "primary")]["errors"] == 1  # kept after the swap
    assert counts[("net:1", "primary")]["requests"] >= before[("net:1", "primary")]["requests"]
    assert counts[("net:2", "primary")]["errors"] == 2
    assert counts[("net:2", "primary")]["requests"] >= 3  # one good answer at least
    with pytest.raises(DeploymentNotFoundError):
        ws.deployments.status("nowhere")
