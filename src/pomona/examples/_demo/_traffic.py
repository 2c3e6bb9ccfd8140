"""The customers of a demo: requests sent to a deployment over HTTP, and the true labels
fed back (at once, or later)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Customers", "TrafficResult"]


@dataclass
class TrafficResult:
    """What a stretch of traffic got: answers (request id, true label, predicted label)."""

    answers: list[tuple[str, str, str]] = field(default_factory=list)
    models: dict[str, int] = field(default_factory=dict)
    """Answers per model version (``apples:2``)."""
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    """The first few failures' status and message."""
    feedback: int = 0

    @property
    def accuracy(self) -> float:
        if not self.answers:
            return float("nan")
        return float(np.mean([truth == predicted for _, truth, predicted in self.answers]))


class Customers:
    """Sends one body per request to ``/v1/deployments/{name}/predict`` from a few
    concurrent connections; 127.0.0.1 only, bounded in count and time."""

    def __init__(self, base_url: str, deployment: str, *, connections: int = 4) -> None:
        if not base_url.startswith(("http://127.0.0.1", "http://localhost")):
            raise ValueError("the demo's traffic targets this machine only")
        import httpx

        self.deployment = deployment
        self.connections = connections
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.Client(base_url=base_url.rstrip("/"), limits=limits, timeout=30.0)
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def send(
        self,
        bodies: Sequence[dict[str, Any]],
        truths: Sequence[str],
        *,
        feedback: bool = False,
        until: Callable[[], bool] | None = None,
        max_s: float = 120.0,
    ) -> TrafficResult:
        """Send each body (stopping early when ``until()`` says so or after ``max_s``); with
        ``feedback`` the true label of each answer is sent back at once."""
        result = TrafficResult()
        deadline = time.monotonic() + max_s

        def one(i: int) -> None:
            if time.monotonic() > deadline or (until is not None and until()):
                return
            answer = self._predict(bodies[i])
            with self._lock:
                if isinstance(answer, str):
                    result.failures += 1
                    if len(result.errors) < 3:
                        result.errors.append(answer)
                    return
                rid, predicted, model = answer
                result.answers.append((rid, str(truths[i]), predicted))
                result.models[model] = result.models.get(model, 0) + 1
            if feedback and self.feedback(rid, str(truths[i])):
                with self._lock:
                    result.feedback += 1

        with ThreadPoolExecutor(self.connections, thread_name_prefix="customers") as pool:
            list(pool.map(one, range(len(bodies))))
        return result

    def feedback(self, request_id: str, label: str) -> bool:
        """The true label of an answered request."""
        r = self.http.post(
            f"/v1/deployments/{self.deployment}/feedback",
            json={"request_id": request_id, "label": label, "source": "demo"},
        )
        return r.status_code == 200

    def feed_back(self, answers: list[tuple[str, str, str]]) -> int:
        """Send the true labels of earlier answers (labels that arrive late)."""
        with ThreadPoolExecutor(self.connections, thread_name_prefix="labels") as pool:
            return sum(pool.map(lambda a: self.feedback(a[0], a[1]), answers))

    def _predict(self, body: dict[str, Any]) -> tuple[str, str, str] | str:
        """The answer, or what went wrong."""
        import httpx

        try:
            r = self.http.post(f"/v1/deployments/{self.deployment}/predict", json=body)
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if r.status_code != 200:
            return f"HTTP {r.status_code}: {r.text[:300]}"
        data: dict[str, Any] = r.json()
        return str(data["request_id"]), str(data["predictions"][0]), str(data["model"])
