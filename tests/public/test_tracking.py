"""Experiment tracking through the public SDK, on every backend pair and both transports."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

from pomona.client import Workspace
from pomona.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from pomona.types import Metric, RunStatus


def test_run_records_params_metrics_tags_and_artifacts(ws: Workspace, tmp_path: Path) -> None:
    model_file = tmp_path / "model.bin"
    model_file.write_bytes(b"\x00weights" * 1000)
    with ws.start_run("rf", params={"model": "rf", "n_estimators": 100}) as run:
        for step in range(5):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_metric("accuracy", 0.93)
        run.set_tag("team", "vision")
        run.log_artifact(model_file, "model/model.bin")
    stored = ws.runs.get_run(run.run_id)
    assert stored.status is RunStatus.FINISHED
    assert stored.params == {"model": "rf", "n_estimators": "100"}
    assert stored.metrics == {"loss": pytest.approx(0.2), "accuracy": pytest.approx(0.93)}
    assert stored.tags == {"team": "vision"}
    assert stored.end_at is not None and stored.end_at >= stored.start_at
    history = ws.runs.get_metric_history(run.run_id, "loss")
    assert [p.step for p in history] == [0, 1, 2, 3, 4]
    assert [round(p.value, 3) for p in history] == [1.0, 0.5, 0.333, 0.25, 0.2]
    [artifact] = ws.runs.list_artifacts(run.run_id)
    assert (artifact.path, artifact.size) == ("model/model.bin", 8000)
    out = ws.runs.download_artifact(run.run_id, "model/model.bin", tmp_path / "dl" / "m.bin")
    assert out.read_bytes() == model_file.read_bytes()


def test_nested_runs_record_their_parent(ws: Workspace) -> None:
    with ws.start_run("study") as parent:
        with ws.start_run("trial-0") as child:
            child.log_metric("score", 1.0)
        with ws.start_run("other", nested=False) as top:
            pass
    assert ws.runs.get_run(child.run_id).parent_run_id == parent.run_id
    assert ws.runs.get_run(top.run_id).parent_run_id is None


def test_an_exception_marks_the_run_failed(ws: Workspace) -> None:
    with pytest.raises(RuntimeError), ws.start_run("boom") as run:
        run.log_metric("x", 1.0)
        raise RuntimeError("training diverged")
    stored = ws.runs.get_run(run.run_id)
    assert stored.status is RunStatus.FAILED
    assert stored.metrics == {"x": 1.0}


def test_search_filters_sorts_and_pages(ws: Workspace) -> None:
    ids = {}
    for i in range(25):
        with ws.start_run(f"run-{i:02d}", params={"model": "rf" if i % 2 else "lr"}) as run:
            run.log_metric("accuracy", i / 100)
        ids[run.run_id] = i
    found = ws.runs.search_runs("metrics.accuracy > 0.1 and params.model = 'rf'")
    assert sorted(r.name for r in found) == [f"run-{i:02d}" for i in range(11, 25, 2)]
    assert found.total == 7
    best = ws.runs.search_runs(order_by=["metrics.accuracy desc"], limit=3)
    assert [r.name for r in best] == ["run-24", "run-23", "run-22"]
    seen: list[str] = []
    token = None
    while True:
        page = ws.runs.search_runs(order_by=["name"], limit=10, page_token=token)
        seen.extend(r.run_id for r in page)
        token = page.next_page_token
        if token is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 25
    either = ws.runs.search_runs("name = 'run-03' or name like 'run-1%'")
    assert len(either) == 11


def test_bad_filter_names_the_position(ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="character 19"):
        ws.runs.search_runs("metrics.accuracy >")
    with pytest.raises(InvalidInputError, match="compare them with"):
        ws.runs.search_runs("params.model > 'a'")


def test_non_numeric_metric_is_refused_at_the_call(ws: Workspace) -> None:
    with ws.start_run("r") as run:
        with pytest.raises(InvalidInputError, match="metric values must be numbers"):
            run.log_metric("accuracy", "high")  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError, match="must be numbers"):
            ws.runs.log_batch(run.run_id, metrics=[Metric("acc", "x", 0, 0)])  # type: ignore[arg-type]
    assert ws.runs.get_run(run.run_id).metrics == {}


def test_unknown_run_is_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        ws.runs.get_run("0" * 32)
    with pytest.raises(NotFoundError):
        ws.runs.log_batch("0" * 32, params={"a": "1"})


def test_over_long_key_is_refused_and_nothing_is_stored(ws: Workspace) -> None:
    with ws.start_run("r") as run, pytest.raises(InvalidInputError, match="the limit is 250"):
        ws.runs.log_batch(run.run_id, params={"k" * 300: "1", "ok": "1"})
    assert ws.runs.get_run(run.run_id).params == {}


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../b", "a\\b", "a//b"])
def test_artifact_paths_that_escape_the_run_are_refused(ws: Workspace, path: str) -> None:
    with ws.start_run("r") as run:
        with pytest.raises(InvalidInputError, match="plain relative path"):
            ws.runs.log_artifact(run.run_id, path, io.BytesIO(b"x"))
    assert ws.runs.list_artifacts(run.run_id) == []


def test_relogging_a_param_with_another_value_is_a_conflict(ws: Workspace) -> None:
    with ws.start_run("r", params={"lr": 0.1}) as run:
        run.log_param("lr", 0.1)  # same value: fine
        with pytest.raises(ConflictError, match="cannot change"):
            run.log_param("lr", 0.2)
    assert ws.runs.get_run(run.run_id).params == {"lr": "0.1"}


def test_a_retried_batch_is_applied_once(ws: Workspace) -> None:
    with ws.start_run("r") as run:
        batch = [Metric("loss", 0.5, step) for step in range(3)]
        ws.runs.log_batch(run.run_id, metrics=batch, idempotency_key="k-1")
        ws.runs.log_batch(run.run_id, metrics=batch, idempotency_key="k-1")
    assert len(ws.runs.get_metric_history(run.run_id, "loss")) == 3


def test_a_retried_create_returns_the_same_run(ws: Workspace) -> None:
    first = ws.runs.create_run(run_id="a" * 32, name="once")
    again = ws.runs.create_run(run_id="a" * 32, name="once")
    assert first.run_id == again.run_id
    assert len(ws.runs.search_runs("name = 'once'")) == 1


def test_long_histories_are_downsampled_by_the_store(ws: Workspace) -> None:
    with ws.start_run("long") as run:
        for step in range(5000):
            run.log_metric("loss", math.sin(step / 100), step=step)
    full = ws.runs.get_metric_history(run.run_id, "loss")
    small = ws.runs.get_metric_history(run.run_id, "loss", max_points=100)
    assert len(full) == 5000
    assert 50 <= len(small) <= 100
    assert all(p.min is not None and p.max is not None and p.min <= p.value <= p.max for p in small)
    assert small[-1].step == 4999


def test_nan_and_infinite_values_round_trip(ws: Workspace) -> None:
    with ws.start_run("r") as run:
        run.log_metric("loss", float("nan"), step=0)
        run.log_metric("loss", 2.0, step=1)
    values = [p.value for p in ws.runs.get_metric_history(run.run_id, "loss")]
    assert math.isnan(values[0]) and values[1] == 2.0


def test_deleted_runs_leave_listings(ws: Workspace) -> None:
    with ws.start_run("gone") as run:
        pass
    ws.runs.delete_run(run.run_id)
    ws.runs.delete_run(run.run_id)  # idempotent
    assert [r.run_id for r in ws.runs.search_runs("name = 'gone'")] == []
    kept = ws.runs.search_runs("name = 'gone'", include_deleted=True)
    assert [r.deleted for r in kept] == [True]
    ws.runs.restore_run(run.run_id)
    assert [r.run_id for r in ws.runs.search_runs("name = 'gone'")] == [run.run_id]


def test_module_level_shortcuts_use_the_default_workspace(tmp_path: Path) -> None:
    import pomona as pm

    ws = pm.connect(tmp_path)
    with pm.start_run(name="shortcut"):
        pm.log_param("a", 1)
        pm.log_metric("m", 2.0)
        pm.set_tag("t", "v")
    [run] = ws.runs.search_runs("name = 'shortcut'")
    assert (run.params, run.metrics, run.tags) == ({"a": "1"}, {"m": 2.0}, {"t": "v"})
    with pytest.raises(InvalidInputError, match="No run is active"):
        pm.log_metric("m", 1.0)
    ws.close()


def test_very_long_histories_are_sampled_by_seeks(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pomona.tracking import _queries

    monkeypatch.setattr(_queries, "EXACT_BUCKETS_UP_TO", 1000)  # the server reads it too
    with ws.start_run("longer") as run:
        for step in range(0, 10_000, 2):
            run.log_metric("loss", float(step), step=step)
    sampled = ws.runs.get_metric_history(run.run_id, "loss", max_points=100)
    steps = [p.step for p in sampled]
    assert 90 <= len(sampled) <= 101
    assert steps == sorted(set(steps))
    assert steps[0] == 0
    assert steps[-1] == 9998
    assert all(p.value == p.step for p in sampled)
