"""Pipelines through the public SDK, on every backend pair and both transports."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

import pomona as pm
from pomona.client import Workspace
from pomona.errors import ConflictError, InvalidInputError, NotFoundError
from pomona.pipelines import RunState, StepState

FLAKY = {"fail": True}


@pm.step
def measure(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=n)


@pm.step
def describe(values: np.ndarray) -> dict[str, Any]:
    print(f"describing {values.size} values")
    return {"n": int(values.size), "max": float(values.max())}


@pm.step
def report(stats: dict[str, Any], title: str = "report") -> str:
    if FLAKY["fail"] and title == "flaky":
        raise RuntimeError("the report server is down")
    return f"{title}: {stats['n']} values"


@pm.pipeline
def measured(n: int = 20, title: str = "report") -> None:
    report(describe(measure(n)), title=title)


def test_a_pipeline_runs_and_a_second_run_is_cached(ws: Workspace) -> None:
    first = ws.pipelines.run(measured, {"n": 20})
    assert first.state is RunState.SUCCEEDED
    assert ws.pipelines.load_output(first.run_id, "report") == "report: 20 values"
    assert "describing 20 values" in ws.pipelines.read_logs(first.run_id, "describe")
    second = ws.pipelines.run(measured, {"n": "20"})
    assert [s.cache_hit for s in second.steps] == [True, True, True]
    assert second.step("report").output().digest == first.step("report").output().digest
    assert ws.pipelines.get_run(first.run_id).params == {"n": 20, "title": "report"}
    page = ws.pipelines.list_runs("measured")
    assert [r.run_id for r in page] == [second.run_id, first.run_id]
    assert page.total == 2
    [summary] = ws.pipelines.list_pipelines()
    assert (summary.name, summary.runs, summary.last_run_id) == ("measured", 2, second.run_id)


def test_lineage_answers_both_ways(ws: Workspace) -> None:
    run = ws.pipelines.run(measured, {"n": 5, "title": "lineage"})
    final = run.step("report").output()
    up = ws.pipelines.upstream(final)
    steps = {n.attrs["name"]: n.attrs for n in up.steps()}
    assert set(steps) == {"measure", "describe", "report"}
    assert steps["measure"]["params"] == {"n": 5, "seed": 0}
    assert steps["report"]["params"] == {"title": "lineage"}
    assert steps["describe"]["code_hash"] == run.step("describe").code_hash
    assert steps["measure"]["step"].endswith(":measure")
    data = run.step("measure").output().digest
    down = ws.pipelines.downstream(data)
    assert {n.attrs["name"] for n in down.steps()} == {"describe", "report"}
    assert f"artifact:{final.digest}" in {n.id for n in down.artifacts()}
    with pytest.raises(NotFoundError, match="No pipeline step"):
        ws.pipelines.upstream("sha256:" + "0" * 64)


def test_a_failed_step_is_reported_and_the_run_can_be_retried(ws: Workspace) -> None:
    FLAKY["fail"] = True
    failed = ws.pipelines.run(measured, {"n": 7, "title": "flaky"})
    assert failed.state is RunState.FAILED
    step = failed.step("report")
    assert step.state is StepState.FAILED
    assert step.error == "RuntimeError: the report server is down"
    assert step.traceback and "raise RuntimeError" in step.traceback
    stored = ws.pipelines.get_run(failed.run_id)
    assert stored.step("report").traceback == step.traceback
    FLAKY["fail"] = False
    retried = ws.pipelines.retry(failed.run_id)
    assert retried.state is RunState.SUCCEEDED
    assert retried.retry_of == failed.run_id
    assert [s.cache_hit for s in retried.steps] == [True, True, False]
    assert ws.pipelines.load_output(retried.run_id, "report") == "flaky: 7 values"


def test_the_process_executor_makes_the_same_artifacts(ws: Workspace) -> None:
    local = ws.pipelines.run(measured, {"n": 11, "title": "same"}, executor="local")
    other = ws.pipelines.run(
        measured, {"n": 11, "title": "same"}, executor="process", no_cache=True
    )
    assert other.state is RunState.SUCCEEDED, other.error
    assert not any(s.cache_hit for s in other.steps)
    assert [s.output().digest for s in other.steps] == [s.output().digest for s in local.steps]
    assert other.executor == "process"


def test_events_and_schedules(ws: Workspace) -> None:
    schedule = ws.pipelines.create_schedule(
        "on-new-data", measured, on_event="dataset.version_created", params={"n": 3}
    )
    assert schedule.kind == "event"
    assert ws.pipelines.get_schedule("on-new-data").params == {"n": 3}
    event = ws.emit_event("dataset.version_created", {"dataset": "apples", "version": 4})
    assert event.payload == {"dataset": "apples", "version": 4}
    [listed] = ws.pipelines.list_events("dataset.version_created")
    assert listed.event_id == event.event_id
    with pytest.raises(InvalidInputError, match="not an event type"):
        ws.emit_event("has spaces")
    ws.pipelines.delete_schedule("on-new-data")
    with pytest.raises(NotFoundError, match="Schedule 'on-new-data' does not exist"):
        ws.pipelines.get_schedule("on-new-data")


def test_unknown_runs_and_running_retries_are_refused(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="Pipeline run 'nope' does not exist"):
        ws.pipelines.get_run("nope")
    run = ws.pipelines.run(measured, {"n": 2})
    with pytest.raises(NotFoundError, match="has no step 'train'"):
        run.step("train")
    running = dataclasses.replace(run, run_id="f" * 32, state=RunState.RUNNING, steps=())
    ws.pipelines.store.create_run(running, {})
    with pytest.raises(ConflictError, match="is still running"):
        ws.pipelines.retry(running.run_id)
