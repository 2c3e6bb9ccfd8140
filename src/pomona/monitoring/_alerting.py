"""Alert state changes, notifications, and the retraining request behind the guard.

One open alert per (monitor, rule, group): it goes pending → firing → resolved, and
notifies once when it fires and once when it resolves (never while silenced). A firing
alert of a ``retrain`` rule emits ``alert.fired`` for pipeline triggers, unless the model
was retrained less than the monitor's cooldown ago or its last retraining is in flight.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pomona._utils.clock import from_ms, now_ms
from pomona.errors import PomonaError
from pomona.monitoring._alert_store import AlertStore
from pomona.monitoring._destinations import NotifyPolicy
from pomona.monitoring._evaluate import Evaluation, evaluate_rule
from pomona.monitoring._store import MonitorRow, MonitorStore
from pomona.monitoring.base import EventSink
from pomona.monitoring.notify import Notification, send
from pomona.monitoring.records import Alert, Monitor
from pomona.monitoring.rules import AlertRule

__all__ = ["RETRAIN_EVENT", "Alerter"]

log = logging.getLogger("pomona.alerts")

RETRAIN_EVENT = "alert.fired"
_HISTORY = 50


class Alerter:
    """Evaluates a monitor's rules on its stored points and acts on the verdicts."""

    def __init__(
        self,
        monitors: MonitorStore,
        alerts: AlertStore,
        *,
        events: EventSink | None = None,
        policy: NotifyPolicy | None = None,
        dashboard_url: str | None = None,
    ) -> None:
        self.monitors = monitors
        self.alerts = alerts
        self.events = events
        self.policy = policy or NotifyPolicy()
        self.dashboard_url = dashboard_url

    def evaluate(
        self, row: MonitorRow, at_ms: int, model: str | None, as_of: int | None = None
    ) -> list[Alert]:
        """Apply every rule to the newest window (or the newest up to the window starting
        at ``as_of``); returns the alerts whose state changed."""
        monitor = row.monitor
        changed: list[Alert] = []
        seen: set[tuple[str, str]] = set()
        for rule in monitor.rules:
            for verdict in evaluate_rule(rule, self._series(row, rule, as_of), monitor.window_ms):
                seen.add((rule.name, verdict.group))
                alert = self._apply(row, rule, verdict, at_ms, model)
                if alert is not None:
                    changed.append(alert)
        rules = {r.name for r in monitor.rules}
        for stale in self.alerts.open_alerts(row.pk):
            if (stale.rule, stale.group) in seen:
                continue
            why = "the rule was removed" if stale.rule not in rules else "no newer data for it"
            changed.append(self._resolve(monitor, stale, at_ms, why))
        return changed

    def _series(
        self, row: MonitorRow, rule: AlertRule, as_of: int | None
    ) -> dict[str, list[tuple[int, float]]]:
        until = None if as_of is None else as_of + 1
        latest = self.monitors.latest_start(row.pk, rule.metric, until)
        if latest is None:
            return {}
        windows = int(rule.for_s * 1000 // row.monitor.window_ms) + 2
        since = latest - windows * row.monitor.window_ms
        feature = None if rule.feature == "*" else rule.feature
        points = self.monitors.series(
            row.pk, metric=rule.metric, feature=feature, start_ms=since, end_ms=until
        )
        out: dict[str, list[tuple[int, float]]] = {}
        for p in points:
            if rule.feature == "*" and p.feature == "":
                continue
            start = int(p.start_at.timestamp() * 1000)
            out.setdefault(p.feature, []).append((start, p.value))
        return out

    def _apply(
        self, row: MonitorRow, rule: AlertRule, verdict: Evaluation, at: int, model: str | None
    ) -> Alert | None:
        monitor = row.monitor
        current = self.alerts.find_open(row.pk, rule.name, verdict.group)
        if not verdict.breached:
            if current is None:
                return None
            return self._resolve(monitor, current, at, "back within the threshold")
        state = "firing" if verdict.firing(rule) else "pending"
        message = _message(monitor, rule, verdict)
        values: dict[str, Any] = {
            "value": verdict.value,
            "window_start_ms": verdict.window_start_ms,
            "updated_ms": at,
            "message": message,
        }
        if current is None:
            silenced = self._silenced(monitor, rule.name, at)
            created = self.alerts.insert(
                row.pk,
                {
                    **values,
                    "deployment": monitor.deployment,
                    "rule": rule.name,
                    "group_key": verdict.group,
                    "state": state,
                    "severity": rule.severity,
                    "threshold": rule.threshold,
                    "pending_ms": verdict.since_ms,
                    "fired_ms": at if state == "firing" else None,
                    "silenced": silenced,
                    "details": {"features": list(verdict.features), "model": model},
                },
            )
            if created is None:  # another process opened it meanwhile
                return None
            return self._fired(monitor, rule, created, at) if state == "firing" else created
        if current.state == "pending" and state == "firing":
            silenced = self._silenced(monitor, rule.name, at)
            details = {**current.details, "features": list(verdict.features), "model": model}
            fired = self.alerts.transition(
                current.alert_id,
                "pending",
                {
                    **values,
                    "state": "firing",
                    "fired_ms": at,
                    "silenced": silenced,
                    "details": details,
                },
            )
            return None if fired is None else self._fired(monitor, rule, fired, at)
        details = {**current.details, "features": list(verdict.features)}
        self.alerts.update(current.alert_id, {**values, "details": details})
        return None

    def _silenced(self, monitor: Monitor, rule: str, at: int) -> bool:
        moment = from_ms(at)
        assert moment is not None
        return any(
            s.matches(monitor.name, monitor.deployment, rule, moment)
            for s in self.alerts.silences(active_at=at)
        )

    def _fired(self, monitor: Monitor, rule: AlertRule, alert: Alert, at: int) -> Alert:
        details = dict(alert.details)
        if alert.silenced:
            details["notifications"] = [{"channel": "all", "skipped": "silenced"}]
            return self.alerts.update(alert.alert_id, {"details": details})
        details["notifications"] = self._notify(monitor, alert, "firing")
        if rule.retrain and monitor.retrain:
            details["retrain"] = self._retrain(monitor, alert, at)
        return self.alerts.update(alert.alert_id, {"details": details})

    def _resolve(self, monitor: Monitor, alert: Alert, at: int, why: str) -> Alert:
        details = dict(alert.details)
        values: dict[str, Any] = {
            "state": "resolved",
            "open_key": None,
            "resolved_ms": at,
            "updated_ms": at,
        }
        if alert.state == "firing" and not alert.silenced:
            resolved = replace(alert, state="resolved", message=f"{alert.message} — resolved")
            sent = self._notify(monitor, resolved, "resolved")
            details["notifications"] = [*details.get("notifications", []), *sent][-_HISTORY:]
        details["resolution"] = why
        return self.alerts.update(alert.alert_id, {**values, "details": details})

    def _notify(self, monitor: Monitor, alert: Alert, state: str) -> list[dict[str, Any]]:
        note = _notification(alert, state, self.dashboard_url)
        sent: list[dict[str, Any]] = []
        for channel in monitor.notify:
            entry: dict[str, Any] = {"channel": channel.type, "state": state, "at_ms": now_ms()}
            try:  # the destination is checked again now: the settings may have changed
                send(channel, note, smtp=self.policy.check(channel))
                entry["ok"] = True
            except PomonaError as exc:
                log.warning(
                    "alert %s: %s notification failed: %s",
                    alert.alert_id,
                    channel.type,
                    exc.message,
                )
                entry.update(ok=False, error=exc.message)
            sent.append(entry)
        return sent

    def _retrain(self, monitor: Monitor, alert: Alert, at: int) -> dict[str, Any]:
        model = alert.details.get("model")
        if not model or self.events is None:
            return {"requested": False, "reason": "no model or no pipelines service to trigger"}
        name = str(model).split(":", 1)[0]
        decision = self.alerts.decide_retrain(
            name, monitor.name, alert.alert_id, at, int(monitor.cooldown_s * 1000)
        )
        if not decision.emit:
            log.info("alert %s: no retraining of %s: %s", alert.alert_id, name, decision.reason)
            return {"requested": False, "model": name, "reason": decision.reason}
        payload = {
            "alert_id": alert.alert_id,
            "monitor": monitor.name,
            "deployment": monitor.deployment,
            "rule": alert.rule,
            "severity": alert.severity,
            "model": name,
            "model_version": model,
            "value": alert.value,
            "threshold": alert.threshold,
            "message": alert.message,
        }
        try:
            event = self.events.emit_event(RETRAIN_EVENT, payload)
        except PomonaError as exc:
            self.alerts.retrain_failed(name, monitor.name, alert.alert_id, decision.previous_ms)
            return {"requested": False, "model": name, "reason": f"event failed: {exc.message}"}
        event_id = int(event.event_id)
        self.alerts.retrain_started(name, alert.alert_id, event_id)
        return {"requested": True, "model": name, "event_id": event_id}


def _message(monitor: Monitor, rule: AlertRule, verdict: Evaluation) -> str:
    value = "?" if verdict.value is None else f"{verdict.value:.4g}"
    which = f" ({', '.join(verdict.features[:8])})" if verdict.features else ""
    return (
        f"{monitor.deployment}: {rule.name} — {rule.metric} = {value}{which}, "
        f"rule {rule.describe()}"
    )


def _notification(alert: Alert, state: str, dashboard: str | None) -> Notification:
    icon = {"firing": "FIRING", "resolved": "RESOLVED"}.get(state, state.upper())
    url = f"{dashboard.rstrip('/')}/alerts/{alert.alert_id}" if dashboard else None
    fields = {
        "monitor": alert.monitor,
        "deployment": alert.deployment,
        "rule": alert.rule,
        "severity": alert.severity,
        "value": "?" if alert.value is None else f"{alert.value:.4g}",
        "threshold": f"{alert.threshold:g}",
    }
    return Notification(
        state=state,
        title=f"[{icon}] {alert.rule} on {alert.deployment}",
        text=alert.message,
        fields=fields,
        alert=alert.to_json(),
        url=url,
    )
