"""The monitor runner: a background loop running every due monitor (``pomona server`` starts
it when ``monitoring.runner_in_server`` is on, like the pipeline scheduler)."""

from __future__ import annotations

import logging
import threading

from pomona.monitoring.service import MonitoringService

__all__ = ["MonitorRunner"]

log = logging.getLogger("pomona.monitoring")


class MonitorRunner:
    """Calls ``service.run_due()`` every ``poll_s`` seconds in a daemon thread.

    Several runners on one database are safe: a window is stored once (the first insert
    wins), an alert opens once (a unique key), and a retraining is requested once per
    cooldown (a conditional update).
    """

    def __init__(self, service: MonitoringService, *, poll_s: float = 10.0) -> None:
        self.service = service
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    def run_once(self) -> int:
        """One pass; returns the number of monitors run."""
        try:
            results = self.service.run_due()
        except Exception:  # keep the loop alive; the log says why
            log.exception("monitor runner pass failed")
            return 0
        finally:
            self.passes += 1
        return len(results)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="pomona-monitors", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.poll_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
