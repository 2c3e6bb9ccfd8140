"""How a run is recorded while it goes: a step is stored as running before its function runs
(the step before it already stored as succeeded), and a pipeline run on a fresh workspace
builds none of the workspace's unrelated services (they start on first use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pomona as pm
from pomona.pipelines import RunState, StepState

SEEN: dict[str, dict[str, str]] = {}


def _states_now() -> dict[str, str]:
    ctx = pm.step_context()
    run = ctx.workspace.pipelines.get_run(ctx.run_id)
    return {s.name: s.state.value for s in run.steps}


@pm.step
def first() -> int:
    SEEN["first"] = _states_now()
    return 1


@pm.step
def second(x: int) -> int:
    SEEN["second"] = _states_now()
    return x + 1


@pm.pipeline
def two() -> None:
    second(first())


def test_a_step_is_stored_as_running_before_it_runs(tmp_path: Path) -> None:
    SEEN.clear()
    with pm.connect(tmp_path / "ws") as ws:
        run = ws.pipelines.run(two)
        assert run.state is RunState.SUCCEEDED, run.error
        assert SEEN["first"] == {"first": "running", "second": "pending"}
        assert SEEN["second"] == {"first": "succeeded", "second": "running"}
        cached = ws.pipelines.run(two)  # cache hits are written together, at the end
        assert [s.state for s in cached.steps] == [StepState.SUCCEEDED] * 2
        assert all(s.cache_hit for s in cached.steps)


def test_running_a_pipeline_starts_no_unrelated_service(tmp_path: Path) -> None:
    lazy = ("datasets", "features", "deployments", "monitors", "alerts")
    with pm.connect(tmp_path / "ws") as ws:
        assert ws.pipelines.run(two).state is RunState.SUCCEEDED
        assert not set(lazy) & set(vars(ws))
        built: Any = ws.deployments  # built on first use, then kept
        assert ws.deployments is built and "deployments" in vars(ws)
        assert ws.monitors is not None and ws.alerts is not None
        assert "features" not in vars(ws)
