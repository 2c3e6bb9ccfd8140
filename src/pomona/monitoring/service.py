"""The embedded monitoring services: ``MonitoringService`` (``ws.monitors``) and
``AlertService`` (``ws.alerts``), on the workspace's metadata and artifact stores."""

from __future__ import annotations

import builtins
import logging
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pomona._utils.clock import now_ms, to_ms
from pomona.artifacts.base import ArtifactStore
from pomona.errors import InvalidInputError, PomonaError
from pomona.metadata import MetadataStore
from pomona.monitoring._alert_store import AlertStore
from pomona.monitoring._alerting import Alerter
from pomona.monitoring._destinations import NotifyPolicy
from pomona.monitoring._engine import WindowEngine
from pomona.monitoring._logs import log_files
from pomona.monitoring._store import MonitorRow, MonitorStore
from pomona.monitoring.base import EventSink, ReferenceProvider
from pomona.monitoring.drift import DriftThresholds
from pomona.monitoring.notify import Channel, SmtpServer, channel_from_json
from pomona.monitoring.records import (
    ALERT_STATES,
    Alert,
    Monitor,
    RunResult,
    SeriesPoint,
    Silence,
    Window,
)
from pomona.monitoring.report import build_report
from pomona.monitoring.rules import AlertRule, default_rules, parse_duration
from pomona.types import Page

__all__ = ["AlertService", "MonitoringService"]

log = logging.getLogger("pomona.monitoring")

OnAlert = Callable[[Monitor, str], None]
"""Wires ``on_alert``: called with the monitor and the pipeline target to trigger."""


def _ms(at: datetime | None) -> int | None:
    return None if at is None else to_ms(at)


class MonitoringService:
    """Monitors of deployments: windows of the prediction logs, results, reports, alerts.

    Args:
        metadata, artifacts: the workspace's stores (logs, feedback, results).
        references: finds a model's training data (the default drift reference).
        events: records ``alert.fired`` for pipeline triggers (the retraining loop).
        cache_dir: where log files are copied for DuckDB (a temporary folder if omitted).
        notify_policy: where notifications may go (``monitoring.webhook_urls``,
            ``email_domains``, ``smtp_*``); by default any webhook, email through
            ``SmtpServer()`` (127.0.0.1:25).
        smtp_password: the password of the default policy's SMTP login (ignored with
            ``notify_policy``).
        dashboard_url: linked from notifications.
        on_alert: creates the pipeline trigger of a monitor's ``on_alert``.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        artifacts: ArtifactStore,
        *,
        references: ReferenceProvider | None = None,
        events: EventSink | None = None,
        cache_dir: Path | None = None,
        notify_policy: NotifyPolicy | None = None,
        smtp_password: str | None = None,
        dashboard_url: str | None = None,
        memory_limit_mb: int = 1024,
        on_alert: OnAlert | None = None,
    ) -> None:
        self._tmp = None if cache_dir is not None else tempfile.TemporaryDirectory()
        folder = Path(cache_dir) if cache_dir is not None else Path(self._tmp.name)  # type: ignore[union-attr]
        self.store = MonitorStore(metadata)
        self.alert_store = AlertStore(metadata)
        self.engine = WindowEngine(
            metadata,
            artifacts,
            self.store,
            references=references,
            cache_dir=folder,
            memory_limit_mb=memory_limit_mb,
        )
        self.alerter = Alerter(
            self.store,
            self.alert_store,
            events=events,
            policy=notify_policy or NotifyPolicy(SmtpServer(password=smtp_password)),
            dashboard_url=dashboard_url,
        )
        self._db = metadata
        self._on_alert = on_alert

    # --- monitors ---------------------------------------------------------------------

    def create(
        self,
        deployment: str,
        *,
        name: str | None = None,
        window: str | float = "1h",
        every: str | float | None = None,
        lag: str | float = "5s",
        drift: bool = True,
        quality: bool = True,
        performance: bool = True,
        reference: str = "training",
        categorical: Sequence[str] = (),
        slices: Sequence[str] = (),
        thresholds: DriftThresholds | None = None,
        min_accuracy: float | None = None,
        max_error_rate: float | None = 0.05,
        latency_p99_ms: float | None = None,
        rules: Sequence[AlertRule] | None = None,
        notify: Sequence[Channel] = (),
        retrain: bool = True,
        cooldown: str | float = "1h",
        labels_within: str | float = "7d",
        on_alert: str | None = None,
        replace: bool = False,
    ) -> Monitor:
        if rules is None:
            rules = default_rules(
                drift=drift,
                quality=quality,
                performance=performance,
                min_accuracy=min_accuracy,
                max_error_rate=max_error_rate,
                latency_p99_ms=latency_p99_ms,
            )
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise InvalidInputError(
                "Two alert rules have the same name.", details={"field": "rules"}
            )
        monitor = Monitor(
            name=name or deployment,
            deployment=deployment,
            window_s=parse_duration(window, "window"),
            every_s=None if every is None else parse_duration(every, "every"),
            lag_s=parse_duration(lag, "lag"),
            drift=drift,
            quality=quality,
            performance=performance,
            reference=reference,
            categorical=tuple(categorical),
            slices=tuple(slices),
            thresholds=thresholds or DriftThresholds(),
            rules=tuple(r if isinstance(r, AlertRule) else AlertRule.from_json(r) for r in rules),
            notify=tuple(channel_from_json(c) for c in notify),
            retrain=retrain,
            cooldown_s=parse_duration(cooldown, "cooldown"),
            labels_within_s=parse_duration(labels_within, "labels_within"),
            on_alert=on_alert,
        )
        existing = self.store.find(monitor.name)
        same = existing is not None and (
            existing.monitor.deployment,
            existing.monitor.spec_json(),
        ) == (monitor.deployment, monitor.spec_json())
        if on_alert is not None and not same and (existing is None or replace):
            if self._on_alert is None:
                raise InvalidInputError(
                    "on_alert needs the workspace's pipelines service.",
                    hint="Create the monitor through a workspace: ws.monitors.create(...).",
                    details={"field": "on_alert"},
                )
            self._on_alert(monitor, on_alert)  # its trigger first: a bad target stores nothing
        return self.store.create(monitor, replace=replace)[0].monitor

    def enforce_notify_policy(self) -> NotifyPolicy:
        """Check every notification against the policy when it is sent, whatever stored
        its monitor (a server calls this: monitors stored over its API, or before its
        allow-lists existed, reach allowed destinations only); returns that policy, which
        the server also applies to the channels API clients send."""
        self.alerter.policy = self.alerter.policy.for_server()
        return self.alerter.policy

    def get(self, name: str) -> Monitor:
        return self.store.get(name).monitor

    def list(
        self, *, deployment: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[Monitor]:
        page = self.store.list_monitors(deployment, limit=limit, page_token=page_token)
        return Page([r.monitor for r in page], page.next_page_token)

    def delete(self, name: str) -> None:
        self.store.delete(name)

    # --- running ----------------------------------------------------------------------

    def run(
        self, name: str | None = None, *, now: datetime | None = None
    ) -> builtins.list[RunResult]:
        """Compute the closed windows not computed yet, late labels, and the alerts."""
        at = now_ms() if now is None else to_ms(now)
        rows = [self.store.get(name)] if name is not None else self._all()
        results = [self._run_one(row, at, raise_errors=name is not None) for row in rows]
        self._prune(rows, at)
        return results

    def run_due(self, now: datetime | None = None) -> builtins.list[RunResult]:
        """Run the enabled monitors whose schedule (``every``) is due (the runner's pass)."""
        at = now_ms() if now is None else to_ms(now)
        due = [
            r
            for r in self._all()
            if r.monitor.enabled
            and (r.last_run_ms is None or r.last_run_ms + r.monitor.every_ms <= at)
        ]
        results = [self._run_one(row, at, raise_errors=False) for row in due]
        if due:
            self._prune(due, at)
        return results

    def _all(self) -> builtins.list[MonitorRow]:
        rows: builtins.list[MonitorRow] = []
        token: str | None = None
        while True:
            page = self.store.list_monitors(limit=500, page_token=token)
            rows.extend(page)
            token = page.next_page_token
            if token is None:
                return rows

    def _run_one(self, row: MonitorRow, at: int, *, raise_errors: bool) -> RunResult:
        try:
            computed = self.engine.compute_due(row, at)
            row = self.store.get(row.monitor.name)
            model = self.engine.latest_model(row.pk)
            changed: dict[str, Alert] = {}
            for start in computed[:-1]:  # each window in turn, so none goes unjudged
                changed.update(
                    (a.alert_id, a) for a in self.alerter.evaluate(row, at, model, start)
                )
            relabelled = self.engine.relabel(row, at)
            changed.update((a.alert_id, a) for a in self.alerter.evaluate(row, at, model))
            self.store.advance(row.pk, last_run_ms=at)
        except PomonaError as exc:
            if raise_errors:
                raise
            log.warning("monitor %s failed: %s", row.monitor.name, exc.message)
            return RunResult(row.monitor.name, error=exc.message)
        return RunResult(
            row.monitor.name,
            computed=tuple(_at(s) for s in computed),
            relabelled=tuple(_at(s) for s in relabelled),
            alerts=tuple(changed.values()),
        )

    def _prune(self, rows: Sequence[MonitorRow], at: int) -> None:
        keep: builtins.list[str] = []
        for row in rows:
            horizon = at - int(row.monitor.labels_within_s * 1000)
            keep += [f.digest for f in log_files(self._db, row.monitor.deployment, horizon, None)]
        self.engine.prune_cache(keep)

    # --- results ----------------------------------------------------------------------

    def windows(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Window]:
        return self.store.windows(name, _ms(start), _ms(end), limit=limit, page_token=page_token)

    def results(
        self,
        name: str,
        *,
        metric: str | None = None,
        feature: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> builtins.list[SeriesPoint]:
        pk = self.store.get(name).pk
        return self.store.series(
            pk, metric=metric, feature=feature, start_ms=_ms(start), end_ms=_ms(end), limit=limit
        )

    def report(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        path: str | Path | None = None,
    ) -> str:
        monitor = self.store.get(name).monitor
        windows = builtins.list(
            self.store.windows(name, _ms(start), _ms(end), limit=2000, newest_first=False)
        )
        alerts = builtins.list(self.alert_store.list_alerts(monitor=name, limit=200))
        html = build_report(monitor, windows, alerts)
        if path is not None:
            target = Path(path)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(html, encoding="utf-8")
            tmp.replace(target)
        return html

    def retrains(self, model: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """The retraining decisions (taken and refused), newest first."""
        return self.alert_store.retrains(model, limit)

    def close(self) -> None:
        self.engine.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _at(ms: int) -> datetime:
    from pomona._utils.clock import from_ms

    moment = from_ms(ms)
    assert moment is not None
    return moment


class AlertService:
    """Alerts of every monitor: list, acknowledge, silence."""

    def __init__(self, metadata: MetadataStore, *, default_actor: str = "unknown") -> None:
        self.store = AlertStore(metadata)
        self.default_actor = default_actor

    def list(
        self,
        *,
        state: str | None = None,
        monitor: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Alert]:
        if state is not None and state not in (*ALERT_STATES, "open"):
            raise InvalidInputError(
                f"state must be one of {', '.join(ALERT_STATES)} or open, got {state!r}.",
                details={"field": "state"},
            )
        return self.store.list_alerts(
            state=state, monitor=monitor, limit=limit, page_token=page_token
        )

    def get(self, alert_id: str) -> Alert:
        return self.store.get(alert_id)

    def ack(self, alert_id: str, *, by: str | None = None, comment: str = "") -> Alert:
        return self.store.ack(alert_id, (by or self.default_actor)[:250], comment[:2000])

    def silence(
        self,
        *,
        monitor: str | None = None,
        deployment: str | None = None,
        rule: str | None = None,
        duration: str | float = "1h",
        by: str | None = None,
        comment: str = "",
    ) -> Silence:
        seconds = parse_duration(duration, "duration")  # at most MAX_DURATION_S: a year
        if seconds <= 0:
            raise InvalidInputError(
                "A silence must last longer than 0 s.", details={"field": "duration"}
            )
        start = now_ms()
        return self.store.add_silence(
            {
                "monitor": monitor,
                "deployment": deployment,
                "rule": rule,
                "starts_ms": start,
                "ends_ms": start + int(seconds * 1000),
                "created_by": (by or self.default_actor)[:250],
                "comment": comment[:2000],
            }
        )

    def silences(self, *, active: bool = True) -> builtins.list[Silence]:
        return self.store.silences(active_at=now_ms() if active else None)

    def expire_silence(self, silence_id: str) -> None:
        self.store.expire_silence(silence_id)
