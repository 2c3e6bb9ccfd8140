"""The background writer: metrics are enqueued by training code and written in batches.

One thread per client writes every run's metrics and sends heartbeats, so logging
never waits on the database or the network. Failed writes to an unreachable backend are
retried with backoff under the same idempotency key, so each batch is applied once.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass

from pomona._utils.retry import retrying
from pomona.errors import PomonaError
from pomona.tracking.base import TrackingAPI
from pomona.types import Metric

__all__ = ["LoggerSettings", "RunLogger"]


@dataclass(frozen=True)
class LoggerSettings:
    flush_interval_s: float = 0.5
    batch_size: int = 5000
    heartbeat_interval_s: float = 10.0
    retry_max_s: float = 300.0
    idempotency_keys: bool = True
    """Tag each batch with a key so a retried write is applied once (remote mode)."""


_Item = tuple[str, str, float, int, int]


class RunLogger:
    """Buffers metric values and writes them from a background thread."""

    def __init__(self, api: TrackingAPI, settings: LoggerSettings) -> None:
        self._api = api
        self._settings = settings
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = False
        self._errors: dict[str, PomonaError] = {}
        self._live: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_beat = time.monotonic()

    def enqueue(self, run_id: str, key: str, value: float, step: int, ts_ms: int) -> None:
        """Queue one value; returns at once."""
        if self._thread is None:
            self._start()
        self._queue.put((run_id, key, value, step, ts_ms))

    def track(self, run_id: str) -> None:
        """Send heartbeats for this run until ``untrack``."""
        with self._lock:
            self._live.add(run_id)
        if self._thread is None:
            self._start()

    def untrack(self, run_id: str) -> None:
        with self._lock:
            self._live.discard(run_id)

    def flush(self) -> None:
        """Write everything queued before this call, in the calling thread.

        The write lock makes a flush wait for a batch the background thread is writing,
        so when it returns every value queued before the call is stored (or its error is
        kept for ``pop_error``).
        """
        with self._write_lock:
            self._drain()

    def pop_error(self, run_id: str) -> PomonaError | None:
        """The error that stopped writes for this run, if any."""
        with self._lock:
            return self._errors.pop(run_id, None)

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self.flush()
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="pomona-run-logger", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop:
            self._wake.wait(self._settings.flush_interval_s)
            self._wake.clear()
            with self._write_lock:
                self._drain()
            if time.monotonic() - self._last_beat >= self._settings.heartbeat_interval_s:
                self._beat()
        with self._write_lock:
            self._drain()

    def _drain(self) -> None:
        pending: dict[str, list[Metric]] = defaultdict(list)
        count = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            run_id, key, value, step, ts = item
            pending[run_id].append(Metric(key, value, step, ts))
            count += 1
            if count >= self._settings.batch_size:
                self._write(pending)
                pending.clear()
                count = 0
        self._write(pending)

    def _write(self, pending: dict[str, list[Metric]]) -> None:
        size = self._settings.batch_size
        for run_id, items in pending.items():
            for start in range(0, len(items), size):
                chunk = items[start : start + size]
                key = uuid.uuid4().hex if self._settings.idempotency_keys else None
                try:
                    retrying(
                        functools.partial(
                            self._api.log_batch, run_id, metrics=chunk, idempotency_key=key
                        ),
                        self._settings.retry_max_s,
                    )
                except PomonaError as exc:
                    with self._lock:
                        self._errors.setdefault(run_id, exc)

    def _beat(self) -> None:
        self._last_beat = time.monotonic()
        with self._lock:
            live = sorted(self._live)
        if live:
            try:
                self._api.heartbeat(live)
            except PomonaError:
                pass  # the next beat retries; a long silence marks the run dead
