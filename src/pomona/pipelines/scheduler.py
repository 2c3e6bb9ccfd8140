"""The scheduler loop: start pipelines on their ticks and on events, exactly once each.

Several schedulers may run against one database: a tick is run by the scheduler whose
insert of the (schedule, tick) row lands, and an event delivery by the one holding its
lease. Missed ticks (the scheduler was down) follow the schedule's ``missed`` policy:
``once`` runs the latest missed tick once at start-up, ``skip`` records it as skipped.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from pomona._utils.clock import now_ms, to_ms
from pomona.errors import ConfigError, PomonaError
from pomona.pipelines._loader import PipelineSources, load_pipeline
from pomona.pipelines._schedules import latest_tick
from pomona.pipelines._sql_store import Delivery, SqlPipelineStore
from pomona.pipelines.records import Schedule
from pomona.pipelines.service import PipelineService

__all__ = ["Scheduler"]

log = logging.getLogger("pomona.scheduler")


class Scheduler:
    """Starts scheduled and triggered pipeline runs of one workspace.

    Args:
        service: the workspace's pipeline service (embedded: the scheduler needs the database).
        poll_s: how often to look for due ticks and new events.
        grace_s: a tick older than this when first seen counts as missed (default 2 polls).
        lease_s: how long an event delivery stays claimed without renewal.
        max_concurrent: runs in flight at once in ``start()`` mode.
        sources: where stored targets may load pipelines from (a server's and ``pomona
            scheduler``'s: schedules may come from API clients); ``None`` loads any.
    """

    def __init__(
        self,
        service: PipelineService,
        *,
        poll_s: float = 5.0,
        grace_s: float | None = None,
        lease_s: float = 120.0,
        max_concurrent: int = 4,
        owner: str | None = None,
        sources: PipelineSources | None = None,
    ) -> None:
        if not isinstance(service.store, SqlPipelineStore):
            raise ConfigError(
                "The scheduler runs next to the workspace's database, not through a server.",
                hint="Run 'pomona scheduler' where the workspace lives, or start it inside "
                "'pomona server' (pipelines.scheduler_in_server = true).",
            )
        self.service = service
        self.store: SqlPipelineStore = service.store
        self.poll_s = poll_s
        self.grace_ms = int((grace_s if grace_s is not None else 2 * poll_s) * 1000)
        self.lease_s = lease_s
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._max = max_concurrent
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: set[Future[Any]] = set()
        self.sources = sources

    def _pipeline(self, schedule: Schedule) -> Any:
        """The schedule's pipeline, checked against ``sources`` when set."""
        if self.sources is None:
            return load_pipeline(schedule.target)
        self.sources.check_executor(schedule.executor)
        return self.sources.load(schedule.target)

    # --- one pass -----------------------------------------------------------------------

    def run_once(self, at_ms: int | None = None) -> list[str]:
        """Run every due tick and claimed event delivery; returns the runs started (they
        have finished when this returns, unless the scheduler was started with ``start``)."""
        at = now_ms() if at_ms is None else at_ms
        started: list[str] = []
        for schedule in self.store.list_schedules():
            if schedule.enabled and schedule.event_type is None:
                with _logged(f"schedule '{schedule.name}'"):
                    run_id = self._tick(schedule, at)
                    if run_id:
                        started.append(run_id)
        for delivery in self.store.claim_deliveries(self.owner, self.lease_s):
            run_id = uuid.uuid4().hex
            started.append(run_id)
            self._dispatch(self._deliver, delivery, run_id)
        return started

    def _tick(self, schedule: Schedule, at: int) -> str | None:
        due = latest_tick(schedule, at)
        if due is None or due <= to_ms(schedule.last_tick_at):
            return None
        on_time = at - due <= self.grace_ms
        outcome = "run" if on_time or schedule.missed == "once" else "skipped"
        if not self.store.claim_tick(schedule.schedule_id, due, self.owner, outcome):
            return None  # another scheduler has this tick
        if outcome == "skipped":
            log.info("schedule '%s': skipped the missed tick at %s", schedule.name, _iso(due))
            return None
        run_id = uuid.uuid4().hex
        self.store.set_tick_run(schedule.schedule_id, due, run_id)
        self._dispatch(self._run_tick, schedule, due, run_id)
        return run_id

    def _run_tick(self, schedule: Schedule, due: int, run_id: str) -> None:
        self.service.run(
            self._pipeline(schedule),
            schedule.params,
            executor=schedule.executor,
            trigger=f"schedule:{schedule.name}@{_iso(due)}",
            run_id=run_id,
        )

    def _deliver(self, delivery: Delivery, run_id: str) -> None:
        schedule, event = delivery.schedule, delivery.event
        ran: str | None = None
        try:
            with self._lease(delivery):
                params = dict(schedule.params)
                pipe = self._pipeline(schedule)
                if "event" in inspect.signature(pipe.fn).parameters:
                    params["event"] = {"id": event.event_id, "type": event.type, **event.payload}
                self.service.run(
                    pipe,
                    params,
                    executor=schedule.executor,
                    trigger=f"event:{event.type}#{event.event_id}",
                    run_id=run_id,
                )
                ran = run_id
        finally:
            self.store.finish_delivery(event.event_id, schedule.schedule_id, ran)

    @contextlib.contextmanager
    def _lease(self, delivery: Delivery) -> Iterator[None]:
        """Renew the delivery's lease while its run goes on."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease_s / 3):
                with _logged("lease renewal"):
                    self.store.extend_lease(
                        delivery.event.event_id,
                        delivery.schedule.schedule_id,
                        self.owner,
                        self.lease_s,
                    )

        thread = threading.Thread(target=renew, name="pomona-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(5)

    def _dispatch(self, fn: Any, *args: Any) -> None:
        if self._pool is None:
            with _logged(f"run {args[-1]}"):
                fn(*args)
            return
        future = self._pool.submit(_guarded, fn, *args)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)

    # --- the loop -----------------------------------------------------------------------

    def start(self) -> None:
        """Poll in a background thread; runs go to a small thread pool."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._pool = ThreadPoolExecutor(self._max, "pomona-scheduled")
        self._thread = threading.Thread(target=self._loop, name="pomona-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with _logged("scheduler pass"):
                self.service.mark_dead_runs()
                if len(self._inflight) < self._max:
                    self.run_once()
            self._stop.wait(self.poll_s)

    def stop(self, wait: bool = True) -> None:
        """Stop polling; with ``wait`` let runs in flight finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
            self._pool = None

    def serve_forever(self) -> None:
        """Run until interrupted (``pomona scheduler``)."""
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            self.stop()


def _guarded(fn: Any, *args: Any) -> None:
    with _logged(f"run {args[-1]}"):
        fn(*args)


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    try:
        yield
    except PomonaError as exc:
        log.warning("%s failed: %s", what, exc.message)
    except Exception:
        log.exception("%s failed", what)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
