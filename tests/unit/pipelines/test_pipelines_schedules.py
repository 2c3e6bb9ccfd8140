"""Schedules, missed ticks, two schedulers on one database, event triggers and the outbox."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import pomona as pm
from pomona._utils.clock import to_ms
from pomona.client import Workspace
from pomona.errors import AlreadyExistsError, ConfigError, InvalidInputError
from pomona.pipelines import Scheduler, SqlPipelineStore

FAST = {"pipelines.heartbeat_interval_s": 0.2}


@pm.step
def record(tag: str) -> str:
    return tag


@pm.pipeline
def counted(tag: str = "x", event: dict[str, Any] | None = None) -> None:
    record(tag if event is None else f"{tag}:{event['dataset']}:{event['id']}")


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with pm.connect(tmp_path / "ws", **FAST) as workspace:
        yield workspace


def _store(ws: Workspace) -> SqlPipelineStore:
    store = ws.pipelines.store
    assert isinstance(store, SqlPipelineStore)
    return store


def _runs(ws: Workspace) -> list[Any]:
    return list(ws.pipelines.list_runs(limit=1000))


def test_an_interval_schedule_runs_once_per_tick(ws: Workspace) -> None:
    s = ws.pipelines.create_schedule("every-minute", counted, interval_s=60, params={"tag": "t"})
    created = to_ms(s.created_at)
    scheduler = Scheduler(ws.pipelines, poll_s=5)
    assert scheduler.run_once(created + 30_000) == []
    [run_id] = scheduler.run_once(created + 61_000)
    assert scheduler.run_once(created + 62_000) == []
    run = ws.pipelines.get_run(run_id)
    assert run.state.value == "succeeded"
    assert run.trigger.startswith("schedule:every-minute@")
    assert run.params == {"tag": "t", "event": None}
    assert len(scheduler.run_once(created + 121_000)) == 1
    assert [t["outcome"] for t in _store(ws).list_ticks("every-minute")] == ["run", "run"]


def test_a_cron_schedule_runs_on_its_ticks_in_utc(ws: Workspace) -> None:
    s = ws.pipelines.create_schedule("five", counted, cron="*/5 * * * *")
    created = s.created_at
    scheduler = Scheduler(ws.pipelines)
    minute = (created.minute // 5 + 1) * 5
    base = created.replace(second=0, microsecond=0)
    tick = to_ms(base) + (minute - created.minute) * 60_000
    assert scheduler.run_once(tick - 1000) == []
    assert len(scheduler.run_once(tick + 2000)) == 1
    [claimed] = _store(ws).list_ticks("five")
    assert datetime.fromtimestamp(claimed["tick_ms"] / 1000, UTC).minute % 5 == 0


@pytest.mark.parametrize(("policy", "runs"), [("once", 1), ("skip", 0)])
def test_missed_ticks_follow_the_schedules_policy(ws: Workspace, policy: str, runs: int) -> None:
    s = ws.pipelines.create_schedule("nightly", counted, interval_s=10, missed=policy)
    created = to_ms(s.created_at)
    scheduler = Scheduler(ws.pipelines, poll_s=1)  # grace: 2 s
    started = scheduler.run_once(created + 105_000)  # down for ten ticks
    assert len(started) == runs
    ticks = _store(ws).list_ticks("nightly")
    assert [(t["tick_ms"] - created, t["outcome"]) for t in ticks] == [
        (100_000, "run" if policy == "once" else "skipped")
    ]
    assert len(scheduler.run_once(created + 110_500)) == 1  # the next tick is on time


def test_two_schedulers_start_exactly_one_run_per_tick(ws: Workspace, tmp_path: Path) -> None:
    s = ws.pipelines.create_schedule("tick", counted, interval_s=1)
    created = to_ms(s.created_at)
    with pm.connect(tmp_path / "ws", **FAST) as other:
        schedulers = [Scheduler(ws.pipelines), Scheduler(other.pipelines)]
        started: list[list[str]] = [[], []]
        barrier = threading.Barrier(2)

        def work(i: int) -> None:
            for k in range(1, 9):
                barrier.wait()
                started[i] += schedulers[i].run_once(created + k * 1000 + 100)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    ticks = _store(ws).list_ticks("tick")
    assert [t["tick_ms"] - created for t in ticks] == [k * 1000 for k in range(1, 9)]
    assert len(started[0]) + len(started[1]) == 8
    assert sorted(started[0] + started[1]) == sorted(t["run_id"] for t in ticks)
    assert len(_runs(ws)) == 8


def test_an_event_trigger_runs_its_pipeline_once_per_matching_event(ws: Workspace) -> None:
    ws.pipelines.create_schedule(
        "on-apples", counted, on_event="dataset.*", event_filter={"dataset": "apples"}
    )
    matching = ws.emit_event("dataset.version_created", {"dataset": "apples", "version": 2})
    ws.emit_event("dataset.version_created", {"dataset": "pears", "version": 1})
    ws.emit_event("alert.fired", {"dataset": "apples"})
    scheduler = Scheduler(ws.pipelines)
    [run_id] = scheduler.run_once()
    assert scheduler.run_once() == []
    run = ws.pipelines.get_run(run_id)
    assert run.trigger == f"event:dataset.version_created#{matching.event_id}"
    assert ws.pipelines.load_output(run_id, "record") == f"x:apples:{matching.event_id}"
    [delivery] = _store(ws).list_deliveries()
    assert (delivery["state"], delivery["attempts"], delivery["run_id"]) == (
        "delivered",
        1,
        run_id,
    )
    assert [e.type for e in ws.pipelines.list_events()] == [
        "alert.fired",
        "dataset.version_created",
        "dataset.version_created",
    ]


def test_undelivered_events_survive_a_scheduler_that_died(ws: Workspace, tmp_path: Path) -> None:
    ws.pipelines.create_schedule("retrain", counted, on_event="alert.fired")
    ws.emit_event("alert.fired", {"dataset": "apples"})
    # a scheduler claims the delivery, then dies before running it
    [claimed] = _store(ws).claim_deliveries("dead-scheduler", lease_s=0.05)
    assert claimed.attempts == 1
    with pm.connect(tmp_path / "ws", **FAST) as restarted:
        scheduler = Scheduler(restarted.pipelines)
        threading.Event().wait(0.1)  # the dead scheduler's lease runs out
        [run_id] = scheduler.run_once()
        assert scheduler.run_once() == []
    [delivery] = _store(ws).list_deliveries()
    assert (delivery["state"], delivery["attempts"], delivery["run_id"]) == (
        "delivered",
        2,
        run_id,
    )


def test_two_schedulers_deliver_each_event_once(ws: Workspace, tmp_path: Path) -> None:
    ws.pipelines.create_schedule("on-data", counted, on_event="dataset.version_created")
    for i in range(6):
        ws.emit_event("dataset.version_created", {"dataset": f"d{i}"})
    with pm.connect(tmp_path / "ws", **FAST) as other:
        schedulers = [Scheduler(ws.pipelines), Scheduler(other.pipelines)]
        started: list[list[str]] = [[], []]
        threads = [
            threading.Thread(target=lambda i=i: started[i].extend(schedulers[i].run_once()))
            for i in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(started[0]) + len(started[1]) == 6
    assert {d["state"] for d in _store(ws).list_deliveries()} == {"delivered"}
    assert len(_runs(ws)) == 6


def test_schedules_are_checked_when_created(ws: Workspace) -> None:
    with pytest.raises(InvalidInputError, match="not a cron expression"):
        ws.pipelines.create_schedule("bad", counted, cron="every day")
    with pytest.raises(InvalidInputError, match="exactly one of cron"):
        ws.pipelines.create_schedule("both", counted, cron="* * * * *", interval_s=5)
    with pytest.raises(InvalidInputError, match="missed must be 'once' or 'skip'"):
        ws.pipelines.create_schedule("m", counted, interval_s=5, missed="all")
    with pytest.raises(InvalidInputError, match="no parameter 'n'"):
        ws.pipelines.create_schedule("p", counted, interval_s=5, params={"n": 1})
    ws.pipelines.create_schedule("dup", counted, interval_s=5)
    with pytest.raises(AlreadyExistsError, match="'dup' already exists"):
        ws.pipelines.create_schedule("dup", counted, interval_s=5)
    assert [s.name for s in ws.pipelines.list_schedules()] == ["dup"]
    ws.pipelines.delete_schedule("dup")
    ws.pipelines.delete_schedule("dup")
    assert ws.pipelines.list_schedules() == []


def test_the_scheduler_needs_the_database(ws: Workspace, live_app: Any) -> None:
    remote = pm.connect(live_app(ws))
    try:
        with pytest.raises(ConfigError, match="next to the workspace's database"):
            Scheduler(remote.pipelines)
    finally:
        remote.close()
