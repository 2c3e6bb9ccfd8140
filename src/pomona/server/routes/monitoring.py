"""``/api/v1/monitors`` and ``/api/v1/alerts``; the monitor runner and the deployment
metrics collector in the lifespan."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from pomona._utils.principal import IGNORED_ACTOR, acting_user
from pomona.client._pipelines import pipeline_sources
from pomona.client.workspace import Workspace
from pomona.dashboard._monitoring import REPORT_CSP
from pomona.errors import ConfigError, InvalidInputError
from pomona.monitoring import AlertRule, AlertService, DriftThresholds, MonitoringService
from pomona.monitoring._destinations import MAX_CHANNELS, NotifyPolicy
from pomona.pipelines._loader import PipelineSources
from pomona.server._responses import json_response
from pomona.types import INT64_MAX

__all__ = ["monitoring_router"]

log = logging.getLogger("pomona.server")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Thresholds(_Body):
    """``DriftThresholds``: a field left out keeps its default."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the tests.")
    ks: float = Field(0.1, ge=0, le=1, description="Kolmogorov-Smirnov distance that drifts.")
    psi: float = Field(0.2, ge=0, description="Population stability index that drifts.")
    js: float = Field(0.1, ge=0, le=1, description="Jensen-Shannon distance that drifts.")
    min_samples: int = Field(100, ge=1, le=INT64_MAX, description="Fewer: not judged.")
    dataset_share: float = Field(0.3, ge=0, le=1, description="Share of drifted features.")


class CreateMonitor(_Body):
    deployment: str
    name: str | None = None
    window: str | float = "1h"
    every: str | float | None = None
    lag: str | float = "5s"
    drift: bool = True
    quality: bool = True
    performance: bool = True
    reference: str = "training"
    categorical: list[str] = Field(default_factory=list)
    slices: list[str] = Field(default_factory=list)
    thresholds: Thresholds | None = None
    min_accuracy: float | None = None
    max_error_rate: float | None = 0.05
    latency_p99_ms: float | None = None
    rules: list[dict[str, Any]] | None = None
    notify: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=MAX_CHANNELS,
        description="Channels: {type: log}; {type: webhook, url} with url under a prefix of "
        "the server's monitoring.webhook_urls; {type: email, to} with recipients in "
        "monitoring.email_domains (the SMTP server and login are the server's).",
    )
    retrain: bool = True
    cooldown: str | float = "1h"
    labels_within: str | float = "7d"
    on_alert: str | None = None
    replace: bool = False


class RunMonitors(_Body):
    name: str | None = None
    now: datetime | None = None


class Ack(_Body):
    by: str | None = Field(None, description=IGNORED_ACTOR)
    comment: str = ""


class CreateSilence(_Body):
    monitor: str | None = Field(None, max_length=250)
    deployment: str | None = Field(None, max_length=250)
    rule: str | None = Field(None, max_length=250)
    duration: str | float = Field(
        "1h", description="Seconds, or '30m', '12h', '7d'; more than 0 s, at most 366 days."
    )
    by: str | None = Field(None, description=IGNORED_ACTOR)
    comment: str = Field("", max_length=2000)


def _time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError(
            f"{field} must be an ISO 8601 time, got {value!r}.", details={"field": field}
        ) from exc


def _services(ws: Workspace) -> tuple[MonitoringService, AlertService]:
    monitors, alerts = getattr(ws, "monitors", None), getattr(ws, "alerts", None)
    if not isinstance(monitors, MonitoringService) or not isinstance(alerts, AlertService):
        raise ConfigError("A server serves a local workspace; it cannot proxy another server.")
    return monitors, alerts


def monitoring_router(ws: Workspace) -> APIRouter:
    monitors, alerts = _services(ws)
    router = APIRouter(prefix="/api/v1", tags=["monitoring"], lifespan=_lifespan(ws, monitors))
    policy = monitors.enforce_notify_policy()  # sending checks every channel, too
    _monitor_routes(router, monitors, pipeline_sources(ws.settings), policy)
    _alert_routes(router, alerts)
    return router


def _monitor_routes(
    router: APIRouter, service: MonitoringService, sources: PipelineSources, policy: NotifyPolicy
) -> None:
    @router.post("/monitors", status_code=201)
    def create(body: CreateMonitor) -> Response:
        args = body.model_dump(exclude={"deployment", "thresholds", "rules"})
        args["notify"] = policy.from_api(body.notify)  # only what the settings allow
        if body.on_alert is not None:  # its schedule loads the pipeline in this process
            args["on_alert"] = sources.check(body.on_alert, field="on_alert")
        given = None if body.thresholds is None else body.thresholds.model_dump(exclude_unset=True)
        thresholds = None if given is None else DriftThresholds(**given)
        rules = None if body.rules is None else [AlertRule.from_json(r) for r in body.rules]
        monitor = service.create(body.deployment, thresholds=thresholds, rules=rules, **args)
        return json_response(monitor.to_json(), 201)

    @router.get("/monitors")
    def list_monitors(
        deployment: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list(deployment=deployment, limit=limit, page_token=page_token)
        items = [m.to_json() for m in page]
        return json_response({"items": items, "next_page_token": page.next_page_token})

    @router.post("/monitors/run")
    def run(body: RunMonitors) -> Response:
        results = service.run(body.name, now=body.now)
        return json_response({"items": [r.to_json() for r in results]})

    @router.get("/monitors/retrains")
    def retrains(
        model: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> Response:
        items = service.retrains(model, limit)
        out = [{**d, "at": d["at"].isoformat()} for d in items]
        return json_response({"items": out})

    @router.get("/monitors/{name}")
    def get(name: str) -> Response:
        return json_response(service.get(name).to_json())

    @router.delete("/monitors/{name}", status_code=204)
    def delete(name: str) -> Response:
        service.delete(name)
        return Response(status_code=204)

    @router.get("/monitors/{name}/windows")
    def windows(
        name: str,
        start: str | None = None,
        end: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.windows(
            name,
            start=_time(start, "start"),
            end=_time(end, "end"),
            limit=limit,
            page_token=page_token,
        )
        items = [w.to_json() for w in page]
        return json_response({"items": items, "next_page_token": page.next_page_token})

    @router.get("/monitors/{name}/results")
    def results(
        name: str,
        metric: str | None = None,
        feature: str | None = None,
        start: str | None = None,
        end: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    ) -> Response:
        points = service.results(
            name,
            metric=metric,
            feature=feature,
            start=_time(start, "start"),
            end=_time(end, "end"),
            limit=limit,
        )
        return json_response({"items": [p.to_json() for p in points]})

    @router.get("/monitors/{name}/report")
    def report(name: str, start: str | None = None, end: str | None = None) -> Response:
        html = service.report(name, start=_time(start, "start"), end=_time(end, "end"))
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


def _alert_routes(router: APIRouter, service: AlertService) -> None:
    @router.get("/alerts")
    def list_alerts(
        state: str | None = None,
        monitor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list(state=state, monitor=monitor, limit=limit, page_token=page_token)
        items = [a.to_json() for a in page]
        return json_response({"items": items, "next_page_token": page.next_page_token})

    @router.get("/alerts/silences")
    def silences(active: bool = True) -> Response:
        return json_response({"items": [s.to_json() for s in service.silences(active=active)]})

    @router.post("/alerts/silences", status_code=201)
    def silence(body: CreateSilence, request: Request) -> Response:
        args = body.model_dump(exclude={"by"})
        return json_response(service.silence(**args, by=acting_user(request)).to_json(), 201)

    @router.delete("/alerts/silences/{silence_id}", status_code=204)
    def expire(silence_id: str) -> Response:
        service.expire_silence(silence_id)
        return Response(status_code=204)

    @router.get("/alerts/{alert_id}")
    def get_alert(alert_id: str) -> Response:
        return json_response(service.get(alert_id).to_json())

    @router.post("/alerts/{alert_id}/ack")
    def ack(alert_id: str, body: Ack, request: Request) -> Response:
        alert = service.ack(alert_id, by=acting_user(request), comment=body.comment)
        return json_response(alert.to_json())


def _lifespan(
    ws: Workspace, service: MonitoringService
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from pomona.monitoring import MonitorRunner
        from pomona.server._deployment_metrics import DeploymentCollector

        metrics = getattr(app.state, "metrics", None)
        if metrics is not None and not getattr(app.state, "deployment_metrics", False):
            metrics.registry.register(DeploymentCollector(app.state))
            app.state.deployment_metrics = True
        settings = ws.settings.monitoring
        runner: MonitorRunner | None = None
        if settings.runner_in_server:
            runner = MonitorRunner(service, poll_s=settings.poll_s)
            runner.start()
            log.info("monitor runner started (every %.0f s)", settings.poll_s)
        try:
            yield
        finally:
            if runner is not None:
                await run_in_threadpool(runner.stop)

    return lifespan
