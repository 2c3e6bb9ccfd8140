"""Requests and failed requests per (deployment, model version, variant) in one process."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["RequestCounts"]


class RequestCounts:
    """Thread-safe counters the batchers add to; kept when a route is swapped, so a
    rolled-back challenger's errors stay visible (status, Prometheus)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str], list[int]] = {}

    def add(self, deployment: str, model: str, variant: str, *, failed: bool) -> None:
        with self._lock:
            row = self._counts.setdefault((deployment, model, variant), [0, 0])
            row[0] += 1
            row[1] += int(failed)

    def snapshot(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(deployment, model, variant) -> (requests, errors)."""
        with self._lock:
            return {key: (row[0], row[1]) for key, row in self._counts.items()}

    def of(self, deployment: str) -> list[dict[str, Any]]:
        """A deployment's counts, one entry per model version and variant."""
        return [
            {"model": model, "variant": variant, "requests": n, "errors": errors}
            for (dep, model, variant), (n, errors) in sorted(self.snapshot().items())
            if dep == deployment
        ]

    def errors(self, deployment: str, model: str) -> int:
        """Failed requests of one model version in a deployment (every variant)."""
        return sum(
            e for (d, m, _), (_, e) in self.snapshot().items() if (d, m) == (deployment, model)
        )
