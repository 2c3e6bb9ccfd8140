"""Request ids, the write token, and Prometheus metrics for every request."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.responses import Response

from pomona.server._errors import error_response

__all__ = ["ServerMetrics", "install_middleware"]

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


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


def _route_of(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def install_middleware(app: FastAPI, metrics: ServerMetrics, token: str | None) -> None:
    @app.middleware("http")
    async def _observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        request.state.request_id = request_id
        if token is not None and request.method not in _SAFE_METHODS:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return error_response(
                    401,
                    "unauthorized",
                    "This server requires a token for writes.",
                    hint="Send 'Authorization: Bearer <token>' (set POMONA_TOKEN for the SDK).",
                    headers={"WWW-Authenticate": "Bearer"},
                )
        metrics.in_flight.inc()
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            metrics.in_flight.dec()
            route = _route_of(request)
            metrics.latency.labels(route, request.method).observe(time.perf_counter() - start)
            metrics.requests.labels(route, request.method, str(status)).inc()
        response.headers["X-Request-ID"] = request_id
        return response
