"""Executors run picklable tasks: in process, in a pool of processes (in parallel, killed on
timeout), and report failures as Pomona errors."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

import pytest

from pomona.errors import ConfigError, InvalidInputError
from pomona.executors import (
    LocalExecutor,
    ProcessExecutor,
    Resources,
    Task,
    TaskFailedError,
    TaskTimeoutError,
    WorkerLostError,
    open_executor,
)

ENTRY = f"{__name__}:work"


def work(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A task: sleep, then report when and where it ran; or fail, or die."""
    start = time.time()
    if payload.get("die"):
        os.kill(os.getpid(), signal.SIGKILL)
    if payload.get("fail"):
        raise RuntimeError("task failed on purpose")
    time.sleep(payload.get("sleep", 0))
    return {"pid": os.getpid(), "start": start, "end": time.time(), "echo": payload.get("echo")}


def test_the_local_executor_runs_in_this_process() -> None:
    with LocalExecutor() as ex:
        result = ex.submit(Task("t", ENTRY, {"echo": 1})).result()
    assert result["pid"] == os.getpid() and result["echo"] == 1
    with pytest.raises(TaskFailedError, match="RuntimeError: task failed on purpose") as err:
        LocalExecutor().submit(Task("t", ENTRY, {"fail": True})).result()
    assert "raise RuntimeError" in err.value.details["traceback"]


def test_the_process_pool_runs_independent_tasks_in_parallel() -> None:
    with ProcessExecutor(max_workers=2) as ex:
        futures = [ex.submit(Task(f"t{i}", ENTRY, {"sleep": 1.0, "echo": i})) for i in range(2)]
        a, b = (f.result(timeout=60) for f in futures)
    assert {a["echo"], b["echo"]} == {0, 1}
    assert a["pid"] != b["pid"] and os.getpid() not in (a["pid"], b["pid"])
    assert a["start"] < b["end"] and b["start"] < a["end"]  # their run times overlap


def test_a_task_asking_for_every_cpu_runs_alone() -> None:
    with ProcessExecutor(max_workers=2) as ex:
        big = ex.submit(Task("big", ENTRY, {"sleep": 0.5}, Resources(cpus=2)))
        small = ex.submit(Task("small", ENTRY, {"sleep": 0.5}, Resources(cpus=1)))
        a, b = big.result(timeout=60), small.result(timeout=60)
    assert a["end"] <= b["start"] or b["end"] <= a["start"]  # never at the same time


def test_a_process_task_past_its_timeout_is_killed() -> None:
    with ProcessExecutor(max_workers=1) as ex:
        future = ex.submit(Task("slow", ENTRY, {"sleep": 30}, timeout_s=0.5))
        with pytest.raises(TaskTimeoutError, match="'slow' did not finish within"):
            future.result(timeout=60)
        assert ex.submit(Task("next", ENTRY, {"echo": 2})).result(timeout=60)["echo"] == 2


def test_a_dead_worker_and_a_failing_task_are_reported() -> None:
    with ProcessExecutor(max_workers=1) as ex:
        with pytest.raises(WorkerLostError, match="died"):
            ex.submit(Task("dies", ENTRY, {"die": True})).result(timeout=60)
        with pytest.raises(TaskFailedError, match="task failed on purpose") as err:
            ex.submit(Task("fails", ENTRY, {"fail": True})).result(timeout=60)
    assert "RuntimeError" in err.value.details["traceback"]


def test_executors_are_chosen_by_name() -> None:
    assert open_executor("local").name == "local"
    assert open_executor("process", max_workers=3).max_parallel == 3
    ray = open_executor("ray://127.0.0.1:10001")
    assert ray.name == "ray" and ray.address == "ray://127.0.0.1:10001"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="Unknown executors backend 'dask'"):
        open_executor("dask")
    with pytest.raises(InvalidInputError, match="Resources must be positive"):
        Resources(cpus=-1)
    with pytest.raises(TaskFailedError, match="'no-colon' is not a task entry"):
        LocalExecutor().submit(Task("t", "no-colon")).result()
