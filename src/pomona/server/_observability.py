"""Request ids and Prometheus metrics for every request (credentials: ``_auth``)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pomona.server._responses import new_request_id

__all__ = ["ServerMetrics", "install_middleware"]


class ServerMetrics:
    """The server's Prometheus collectors, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pomona_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pomona_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route", "method"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "pomona_http_requests_in_flight", "Requests being served.", registry=self.registry
        )
        self.cpu = Gauge("pomona_cpu_percent", "Host CPU use.", registry=self.registry)
        self.memory = Gauge(
            "pomona_process_resident_bytes", "Server resident memory.", registry=self.registry
        )
        self.db_bytes = Gauge(
            "pomona_metadata_db_bytes", "Size of the SQLite database file.", registry=self.registry
        )
        self.disk_free = Gauge(
            "pomona_disk_free_bytes", "Free disk where the stores live.", registry=self.registry
        )


class _Observe:
    """Pure ASGI middleware: the request id and the request metrics.

    Pure ASGI rather than ``BaseHTTPMiddleware``: no task group and no wrapped body stream
    per request, which on a busy prediction endpoint is a large share of the event loop.
    """

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given_id = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = given_id.decode("latin-1") if given_id else new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        id_header = (b"x-request-id", request_id.encode("latin-1"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        metrics, method = self.metrics, scope["method"]
        metrics.in_flight.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            metrics.in_flight.dec()
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics.latency.labels(route, method).observe(time.perf_counter() - start)
            metrics.requests.labels(route, method, str(status)).inc()


def install_middleware(app: FastAPI, metrics: ServerMetrics) -> None:
    """Add the request-id and metrics middleware to ``app`` (outermost: it sees every
    answer, the auth middleware's refusals included)."""
    app.add_middleware(_Observe, metrics=metrics)
