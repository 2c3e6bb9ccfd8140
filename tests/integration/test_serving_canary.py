"""Canary rollouts decided by the analysis loop on live traffic: a good challenger is
promoted step by step; one that errors or is much slower is rolled back; every decision
is stored with its evidence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.server.app import create_app
from pomona.serving import Canary, Criteria
from pomona.testing.live import serve_in_thread
from pomona.testing.serving import cancer_frame, hammer, register_cancer_model, register_table_net

BODY = orjson.dumps({"instances": [[0.1, 0.7, 0.3, 0.9]]})
CRITERIA = Criteria(min_samples=20, alpha=0.01, max_p99_ratio=3.0)
# The same model on both sides: on a loaded CPU (CI runs tests two at a time) their p99s
# differ by noise alone. Every other check stays strict.
LATENCY_BLIND = Criteria(min_samples=20, alpha=0.01, max_p99_ratio=1000.0)


FAST = {  # server settings: look often
    "serving.poll_s": 0.1,
    "serving.analysis_poll_s": 0.25,
    "serving.log_flush_interval_s": 0.2,
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    ws = pomona.connect(tmp_path / "ws", **FAST)
    register_table_net(ws, "net")  # 1: the champion
    register_table_net(ws, "net")  # 2: the same weights: a good challenger
    register_table_net(ws, "net", mode="fail")  # 3: always raises
    register_table_net(ws, "net", mode="slow", delay_s=0.06)  # 4: much slower
    ws.models.set_alias("net", "champion", 1, reason="first")
    ws.deployments.create("net-prod", model="net@champion")
    with serve_in_thread(create_app(ws)) as url:
        yield ws, url
    ws.close()


def _drive(url: str, ws: Workspace, until: set[str], limit_s: float = 90.0) -> list[str]:
    """Send traffic until the rollout ends with one of ``until``; returns the actions."""

    async def run() -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            await hammer(
                url + "/v1/deployments/net-prod/predict", BODY, connections=8, duration_s=0.5
            )
            if ws.deployments.get("net-prod").rollout is None:
                return

    asyncio.run(run())
    return [d.action for d in reversed(list(ws.deployments.decisions("net-prod")))]


def test_a_good_challenger_is_promoted_step_by_step(served: tuple[Workspace, str]) -> None:
    ws, url = served
    ws.deployments.rollout(
        "net-prod",
        model="net:2",
        # the same model on both sides: under a loaded CPU their p99s differ by noise alone
        strategy=Canary(steps=(25, 50, 100), interval_s=1.0, criteria=LATENCY_BLIND),
    )
    actions = _drive(url, ws, {"promote"})
    reasons = [(d.action, d.evidence.get("reasons")) for d in ws.deployments.decisions("net-prod")]
    assert actions[0] == "start" and actions[-1] == "promote", reasons
    assert "advance" in actions and "rollback" not in actions
    assert ws.models.get_version("net@champion").version == 2  # the alias moved
    promote = next(iter(ws.deployments.decisions("net-prod", limit=1)))
    assert promote.actor == "analysis" and promote.evidence["verdict"] == "pass"
    assert promote.evidence["samples"]["challenger"] >= CRITERIA.min_samples
    assert promote.evidence["error_rate"]["failed"] is False
    assert promote.evidence["divergence"]["js_distance"] == pytest.approx(0.0)
    advance = next(d for d in ws.deployments.decisions("net-prod") if d.action == "advance")
    assert (advance.from_weight, advance.to_weight) == (25, 50)


@pytest.mark.parametrize(
    ("version", "failed_check"), [(3, "error_rate"), (4, "latency")], ids=["errors", "slow"]
)
def test_a_bad_challenger_is_rolled_back(
    served: tuple[Workspace, str], version: int, failed_check: str
) -> None:
    ws, url = served
    ws.deployments.rollout(
        "net-prod",
        model=f"net:{version}",
        strategy=Canary(steps=(40, 100), interval_s=60.0, criteria=CRITERIA),
    )
    actions = _drive(url, ws, {"rollback"})
    assert actions == ["start", "rollback"]
    rollback = next(iter(ws.deployments.decisions("net-prod", limit=1)))
    assert rollback.actor == "analysis" and rollback.evidence["verdict"] == "fail"
    assert rollback.evidence[failed_check]["failed"] is True
    assert rollback.evidence[failed_check]["p_value"] < CRITERIA.alpha
    dep = ws.deployments.get("net-prod")
    assert dep.rollout is None and dep.served == {"model": "net:1"}
    assert ws.models.get_version("net@champion").version == 1


@pytest.fixture
def cancer_served(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    ws = pomona.connect(tmp_path / "ws", **FAST)
    register_cancer_model(ws, c=1e-6)  # 1: always answers "benign": 63 % right
    register_cancer_model(ws, c=1.0)  # 2: "retrained": about 98 % right, both classes
    ws.models.set_alias("cancer", "champion", 1, reason="first")
    ws.deployments.create("cancer-prod", model="cancer@champion")
    with serve_in_thread(create_app(ws)) as url:
        yield ws, url
    ws.close()


async def _predict_with_feedback(url: str, ws: Workspace, limit_s: float = 90.0) -> None:
    """Rows of breast_cancer from 4 connections; each answer's true label sent at once."""
    X, y = cancer_frame()
    records = X.to_dict(orient="records")
    deadline = time.monotonic() + limit_s
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def worker(offset: int) -> None:
            i = offset
            while time.monotonic() < deadline:
                i = (i + 37) % len(records)
                answer = await client.post(
                    "/v1/deployments/cancer-prod/predict", json={"records": [records[i]]}
                )
                assert answer.status_code == 200, answer.text
                sent = await client.post(
                    "/v1/deployments/cancer-prod/feedback",
                    json={"request_id": answer.json()["request_id"], "label": int(y.iloc[i])},
                )
                assert sent.status_code == 201, sent.text

        async def watch() -> None:
            while time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                if (await asyncio.to_thread(ws.deployments.get, "cancer-prod")).rollout is None:
                    return

        tasks = [asyncio.create_task(worker(k)) for k in range(4)]
        await watch()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_a_more_accurate_challenger_that_predicts_differently_is_promoted(
    cancer_served: tuple[Workspace, str],
) -> None:
    ws, url = cancer_served
    # labels arrive with the answers: fewer labels than samples are needed, so accuracy
    # is judged as soon as anything is
    criteria = Criteria(min_samples=60, min_feedback=30, alpha=0.01, max_p99_ratio=1000.0)
    ws.deployments.rollout(
        "cancer-prod",
        model="cancer:2",
        strategy=Canary(steps=(50, 100), interval_s=1.0, criteria=criteria),
    )
    asyncio.run(_predict_with_feedback(url, ws))
    decisions = list(ws.deployments.decisions("cancer-prod"))
    seen = [(d.action, d.evidence.get("reasons")) for d in decisions]
    actions = [d.action for d in decisions]
    assert actions[0] == "promote" and actions[-1] == "start", seen
    assert set(actions[1:-1]) <= {"hold"}, seen  # holds only while samples were short
    grown = [d.evidence["samples"]["champion"] for d in reversed(decisions[1:-1])]
    assert grown == sorted(grown)  # a window short of samples keeps growing
    evidence = decisions[0].evidence
    assert evidence["verdict"] == "pass"
    # the challenger predicts differently: measured, recorded, not held against it
    assert evidence["divergence"]["diverged"] is True
    assert evidence["divergence"]["js_distance"] > criteria.max_divergence
    assert evidence["divergence"]["failed"] is False
    assert evidence["divergence"]["judged_by"] == "accuracy"
    accuracy = evidence["accuracy"]
    assert min(accuracy["labelled"]) >= criteria.min_feedback
    assert accuracy["challenger"] > accuracy["champion"] + 0.15 and accuracy["failed"] is False
    assert ws.models.get_version("cancer@champion").version == 2  # the alias moved
