"""The HTTP server: REST API, health, metrics and the dashboard, over one workspace."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.concurrency import run_in_threadpool

from pomona import __version__
from pomona.client.workspace import Workspace
from pomona.errors import ConfigError, PomonaError
from pomona.server._auth import install_auth
from pomona.server._errors import install_error_handlers
from pomona.server._heap import settle_heap
from pomona.server._limits import install_body_limits
from pomona.server._login import login_router
from pomona.server._observability import ServerMetrics, install_middleware
from pomona.server.routes.datasets import datasets_router
from pomona.server.routes.features import features_router
from pomona.server.routes.health import health_router
from pomona.server.routes.models import models_router
from pomona.server.routes.monitoring import monitoring_router
from pomona.server.routes.pipelines import pipelines_router
from pomona.server.routes.runs import experiments_router, runs_router
from pomona.server.routes.serving import serving_router
from pomona.server.routes.training import training_router
from pomona.tracking.service import TrackingService

__all__ = ["create_app"]

log = logging.getLogger("pomona.server")
_UNSET_PROVIDERS = {
    "ProxyTracerProvider",
    "NoOpTracerProvider",
    "_ProxyMeterProvider",
    "NoOpMeterProvider",
}


def create_app(
    ws: Workspace, *, token: str | None = None, dashboard: bool = True, settle_gc: bool = False
) -> FastAPI:
    """Build the app over an embedded workspace.

    Args:
        ws: the workspace whose stores the server serves (embedded, not remote).
        token: when set, every route but the health probes (and ``/metrics`` with
            ``server.metrics_public``) needs ``Authorization: Bearer <token>`` or the
            dashboard's session cookie (``/login``); at least 32 characters.
        dashboard: mount the dashboard pages at ``/``.
        settle_gc: tune this process's garbage collector for serving after start-up and
            model loads (``pomona server`` does; see ``pomona.server._heap``).

    Raises:
        ConfigError: a token shorter than 32 characters, or a remote workspace.

    The Host allow-list (``server.allowed_hosts``), the cross-site check of browser writes
    and the security headers apply with or without a token (see ``pomona.server._auth``).
    """
    service = ws.runs
    if ws.remote or not isinstance(service, TrackingService):
        raise ConfigError("A server serves a local workspace; it cannot proxy another server.")
    assert ws.metadata_store is not None and ws.artifact_store is not None
    timeout_s = ws.settings.tracking.heartbeat_timeout_s

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep_dead_runs(service, timeout_s))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="Pomona",
        version=__version__,
        summary="Tracking, data, models, serving and monitoring of one Pomona workspace.",
        lifespan=lifespan,
        telemetry=_telemetry(),
    )
    metrics = ServerMetrics()
    install_error_handlers(app)
    install_body_limits(app, ws.settings.server)  # inside the token check: 401 comes first
    install_auth(app, token, ws.settings.server)  # Host, credentials, cross-site, headers
    install_middleware(app, metrics)
    # serving first: prediction routes are the ones matched most often
    app.include_router(serving_router(ws, settle_heap if settle_gc else None))
    app.include_router(runs_router(service))
    app.include_router(experiments_router(service))
    app.include_router(datasets_router(ws))
    app.include_router(features_router(ws))
    app.include_router(models_router(ws))
    app.include_router(pipelines_router(ws))
    app.include_router(training_router(ws))
    app.include_router(monitoring_router(ws))
    app.include_router(health_router(ws.metadata_store, ws.artifact_store, metrics))
    if dashboard:
        from pomona.dashboard import mount_dashboard

        app.include_router(login_router(token, ws.settings.server.session_hours))
        mount_dashboard(app, ws)
    app.state.workspace = ws
    app.state.token = token
    app.state.metrics = metrics
    return app


def _telemetry() -> TelemetryConfig | None:
    """FastAPI's OpenTelemetry hooks when OpenTelemetry is set up as the app is made (an
    ``OTEL_*`` variable or a global provider); otherwise off, since checking for a provider
    on every request costs the event loop a few percent."""
    if any(name.startswith("OTEL_") for name in os.environ):
        return None
    from opentelemetry import metrics, trace

    providers = (trace.get_tracer_provider(), metrics.get_meter_provider())
    if any(type(p).__name__ not in _UNSET_PROVIDERS for p in providers):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


async def _sweep_dead_runs(service: TrackingService, timeout_s: float) -> None:
    """Mark runs whose process stopped sending heartbeats as dead, every few seconds."""
    period = max(1.0, min(30.0, timeout_s / 3))
    while True:
        try:
            marked = await run_in_threadpool(service.mark_dead_runs, timeout_s)
            if marked:
                log.info("marked %d silent run(s) dead", marked)
        except PomonaError as exc:
            log.warning("dead-run sweep failed: %s", exc.message)
        await asyncio.sleep(period)
