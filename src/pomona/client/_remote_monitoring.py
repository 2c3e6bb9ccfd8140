"""Monitors and alerts over the REST API (remote mode); runs compute on the server."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pomona.client._remote import RemoteTracking
from pomona.errors import PomonaError
from pomona.monitoring.drift import DriftThresholds
from pomona.monitoring.errors import from_remote
from pomona.monitoring.notify import Channel, channel_from_json
from pomona.monitoring.records import Alert, Monitor, RunResult, SeriesPoint, Silence, Window
from pomona.monitoring.rules import AlertRule
from pomona.types import Page

__all__ = ["RemoteAlerts", "RemoteMonitors"]


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except PomonaError as exc:
        rebuilt = from_remote(exc)
        if rebuilt is exc:
            raise
        raise rebuilt from None


def _q(name: str) -> str:
    return quote(name, safe="")


def _params(**values: Any) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if value is not None:
            out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


class _Client:
    def __init__(self, http: RemoteTracking) -> None:
        self._http = http

    def _call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        with _errors():
            if body is not None:
                return self._http._json(method, path, body)
            return self._http._request(method, path, **kwargs)


class RemoteMonitors(_Client):
    """Implements ``MonitorsAPI`` by calling a Pomona server."""

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
        body = {
            "deployment": deployment,
            "name": name,
            "window": window,
            "every": every,
            "lag": lag,
            "drift": drift,
            "quality": quality,
            "performance": performance,
            "reference": reference,
            "categorical": list(categorical),
            "slices": list(slices),
            "thresholds": None if thresholds is None else asdict(thresholds),
            "min_accuracy": min_accuracy,
            "max_error_rate": max_error_rate,
            "latency_p99_ms": latency_p99_ms,
            "rules": None if rules is None else [r.to_json() for r in rules],
            "notify": [channel_from_json(c).to_json() for c in notify],
            "retrain": retrain,
            "cooldown": cooldown,
            "labels_within": labels_within,
            "on_alert": on_alert,
            "replace": replace,
        }
        return Monitor.from_json(self._call("POST", "/monitors", body))

    def get(self, name: str) -> Monitor:
        return Monitor.from_json(self._call("GET", f"/monitors/{_q(name)}"))

    def list(
        self, *, deployment: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[Monitor]:
        params = _params(deployment=deployment, limit=limit, page_token=page_token)
        data = self._call("GET", "/monitors", params=params)
        return Page([Monitor.from_json(m) for m in data["items"]], data.get("next_page_token"))

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/monitors/{_q(name)}")

    def run(
        self, name: str | None = None, *, now: datetime | None = None
    ) -> builtins.list[RunResult]:
        body = {"name": name, "now": None if now is None else now.isoformat()}
        data = self._call("POST", "/monitors/run", body)
        return [RunResult.from_json(r) for r in data["items"]]

    def windows(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Window]:
        params = _params(start=start, end=end, limit=limit, page_token=page_token)
        data = self._call("GET", f"/monitors/{_q(name)}/windows", params=params)
        return Page([Window.from_json(w) for w in data["items"]], data.get("next_page_token"))

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
        params = _params(metric=metric, feature=feature, start=start, end=end, limit=limit)
        data = self._call("GET", f"/monitors/{_q(name)}/results", params=params)
        return [SeriesPoint.from_json(p) for p in data["items"]]

    def retrains(self, model: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        data = self._call("GET", "/monitors/retrains", params=_params(model=model, limit=limit))
        return [{**d, "at": datetime.fromisoformat(d["at"])} for d in data["items"]]

    def report(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        path: str | Path | None = None,
    ) -> str:
        params = _params(start=start, end=end)
        with _errors(), self._http._translated():
            response = self._http._http.get(f"/api/v1/monitors/{_q(name)}/report", params=params)
        if response.status_code >= 400:
            with _errors():
                self._http._decode(response)
        html = response.text
        if path is not None:
            Path(path).write_text(html, encoding="utf-8")
        return html

    def close(self) -> None:
        """Nothing to release: the HTTP client belongs to the workspace."""


class RemoteAlerts(_Client):
    """Implements ``AlertsAPI`` by calling a Pomona server."""

    def list(
        self,
        *,
        state: str | None = None,
        monitor: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Alert]:
        params = _params(state=state, monitor=monitor, limit=limit, page_token=page_token)
        data = self._call("GET", "/alerts", params=params)
        return Page([Alert.from_json(a) for a in data["items"]], data.get("next_page_token"))

    def get(self, alert_id: str) -> Alert:
        return Alert.from_json(self._call("GET", f"/alerts/{_q(alert_id)}"))

    def ack(self, alert_id: str, *, by: str | None = None, comment: str = "") -> Alert:
        body = {"by": by, "comment": comment}
        return Alert.from_json(self._call("POST", f"/alerts/{_q(alert_id)}/ack", body))

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
        body = {
            "monitor": monitor,
            "deployment": deployment,
            "rule": rule,
            "duration": duration,
            "by": by,
            "comment": comment,
        }
        return Silence.from_json(self._call("POST", "/alerts/silences", body))

    def silences(self, *, active: bool = True) -> builtins.list[Silence]:
        data = self._call("GET", "/alerts/silences", params={"active": active})
        return [Silence.from_json(s) for s in data["items"]]

    def expire_silence(self, silence_id: str) -> None:
        self._call("DELETE", f"/alerts/silences/{_q(silence_id)}")
