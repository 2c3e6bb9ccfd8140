"""The value objects of the monitoring API: monitors, windows, points, alerts, silences."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from pomona._utils.clock import MAX_MS, from_ms
from pomona.errors import InvalidInputError
from pomona.monitoring.drift import DriftThresholds
from pomona.monitoring.notify import Channel, channel_from_json
from pomona.monitoring.rules import AlertRule, check_name, parse_duration

__all__ = ["ALERT_STATES", "Alert", "Monitor", "RunResult", "SeriesPoint", "Silence", "Window"]

ALERT_STATES = ("pending", "firing", "resolved")


def _time(ms: int | None) -> datetime | None:
    return from_ms(ms)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Monitor:
    """What to watch on a deployment, over which windows, and what to do about it.

    ``reference`` is ``"training"`` (the model's training data, found through lineage) or
    ``"window:<start_ms>"`` (an earlier window of this monitor).
    """

    name: str
    deployment: str
    window_s: float = 3600.0
    every_s: float | None = None
    lag_s: float = 5.0
    drift: bool = True
    quality: bool = True
    performance: bool = True
    reference: str = "training"
    categorical: tuple[str, ...] = ()
    slices: tuple[str, ...] = ()
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)
    rules: tuple[AlertRule, ...] = ()
    notify: tuple[Channel, ...] = ()
    retrain: bool = True
    cooldown_s: float = 3600.0
    labels_within_s: float = 7 * 86400.0
    on_alert: str | None = None
    """A pipeline (``file.py:name``) triggered by this monitor's ``alert.fired``."""
    enabled: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run_at: datetime | None = None
    cursor_at: datetime | None = None

    def __post_init__(self) -> None:
        check_name(self.name, "name")
        check_name(self.deployment, "deployment")
        window = parse_duration(self.window_s, "window")
        if window < 1:
            raise InvalidInputError(
                "window must be at least 1 second.", details={"field": "window"}
            )
        object.__setattr__(self, "window_s", window)
        every = window if self.every_s is None else parse_duration(self.every_s, "every")
        object.__setattr__(self, "every_s", max(1.0, min(every, 86400.0)))
        for name in ("lag_s", "cooldown_s", "labels_within_s"):
            object.__setattr__(self, name, parse_duration(getattr(self, name), name[:-2]))
        if self.reference != "training" and not _window_reference(self.reference):
            raise InvalidInputError(
                f"reference must be 'training' or 'window:<start_ms>', got {self.reference!r}.",
                details={"field": "reference"},
            )
        if (self.reference_window_ms or 0) > MAX_MS:
            raise InvalidInputError(
                f"reference starts after the year 9999: {self.reference!r}.",
                details={"field": "reference"},
            )
        object.__setattr__(self, "categorical", tuple(self.categorical))
        object.__setattr__(self, "slices", tuple(self.slices))

    @property
    def window_ms(self) -> int:
        return int(self.window_s * 1000)

    @property
    def every_ms(self) -> int:
        return int((self.every_s or self.window_s) * 1000)

    @property
    def reference_window_ms(self) -> int | None:
        """The start of the reference window, when the reference is a window."""
        return int(self.reference.split(":", 1)[1]) if _window_reference(self.reference) else None

    def spec_json(self) -> dict[str, Any]:
        """What the ``spec`` column stores (everything but the name, times and cursors)."""
        return {
            "window_s": self.window_s,
            "every_s": self.every_s,
            "lag_s": self.lag_s,
            "drift": self.drift,
            "quality": self.quality,
            "performance": self.performance,
            "reference": self.reference,
            "categorical": list(self.categorical),
            "slices": list(self.slices),
            "thresholds": asdict(self.thresholds),
            "rules": [r.to_json() for r in self.rules],
            "notify": [c.to_json() for c in self.notify],
            "retrain": self.retrain,
            "cooldown_s": self.cooldown_s,
            "labels_within_s": self.labels_within_s,
            "on_alert": self.on_alert,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "deployment": self.deployment,
            **self.spec_json(),
            "enabled": self.enabled,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "last_run_at": _iso(self.last_run_at),
            "cursor_at": _iso(self.cursor_at),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Monitor:
        thresholds = DriftThresholds(**dict(data.get("thresholds") or {}))
        return cls(
            name=data["name"],
            deployment=data["deployment"],
            window_s=data.get("window_s", 3600.0),
            every_s=data.get("every_s"),
            lag_s=data.get("lag_s", 5.0),
            drift=bool(data.get("drift", True)),
            quality=bool(data.get("quality", True)),
            performance=bool(data.get("performance", True)),
            reference=data.get("reference", "training"),
            categorical=tuple(data.get("categorical") or ()),
            slices=tuple(data.get("slices") or ()),
            thresholds=thresholds,
            rules=tuple(AlertRule.from_json(r) for r in data.get("rules") or ()),
            notify=tuple(channel_from_json(c) for c in data.get("notify") or ()),
            retrain=bool(data.get("retrain", True)),
            cooldown_s=data.get("cooldown_s", 3600.0),
            labels_within_s=data.get("labels_within_s", 7 * 86400.0),
            on_alert=data.get("on_alert"),
            enabled=bool(data.get("enabled", True)),
            created_at=_parse_time(data.get("created_at")),
            updated_at=_parse_time(data.get("updated_at")),
            last_run_at=_parse_time(data.get("last_run_at")),
            cursor_at=_parse_time(data.get("cursor_at")),
        )

    def with_times(self, row: Any) -> Monitor:
        return replace(
            self,
            enabled=bool(row.enabled),
            created_at=_time(row.created_ms),
            updated_at=_time(row.updated_ms),
            last_run_at=_time(row.last_run_ms),
            cursor_at=_time(row.cursor_ms),
        )


def _window_reference(text: str) -> bool:
    head, _, tail = text.partition(":")
    return head == "window" and tail.isascii() and tail.isdigit()  # not '²': int() refuses it


@dataclass(frozen=True)
class Window:
    """One closed window of a monitor: its profile (small: counts and histograms)."""

    monitor: str
    start_at: datetime
    end_at: datetime
    rows: int
    labelled: int
    label_updates: int
    computed_at: datetime
    labels_at: datetime | None
    profile: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "start_at": self.start_at.isoformat(),
            "end_at": self.end_at.isoformat(),
            "rows": self.rows,
            "labelled": self.labelled,
            "label_updates": self.label_updates,
            "computed_at": self.computed_at.isoformat(),
            "labels_at": _iso(self.labels_at),
            "profile": self.profile,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Window:
        return cls(
            monitor=data["monitor"],
            start_at=datetime.fromisoformat(data["start_at"]),
            end_at=datetime.fromisoformat(data["end_at"]),
            rows=int(data["rows"]),
            labelled=int(data["labelled"]),
            label_updates=int(data["label_updates"]),
            computed_at=datetime.fromisoformat(data["computed_at"]),
            labels_at=_parse_time(data.get("labels_at")),
            profile=dict(data.get("profile") or {}),
        )


@dataclass(frozen=True)
class SeriesPoint:
    """One value of a monitor's time series: a metric of a window (and a feature)."""

    start_at: datetime
    metric: str
    feature: str
    value: float

    def to_json(self) -> dict[str, Any]:
        return {
            "start_at": self.start_at.isoformat(),
            "metric": self.metric,
            "feature": self.feature,
            "value": self.value,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SeriesPoint:
        return cls(
            datetime.fromisoformat(data["start_at"]),
            data["metric"],
            data["feature"],
            float(data["value"]),
        )


@dataclass(frozen=True)
class Alert:
    """An alert of a rule on a monitor (one per group while open): pending, firing, resolved."""

    alert_id: str
    monitor: str
    deployment: str
    rule: str
    group: str
    state: str
    severity: str
    value: float | None
    threshold: float
    window_start_at: datetime
    pending_at: datetime
    fired_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime
    silenced: bool
    acked_by: str | None
    acked_at: datetime | None
    ack_comment: str | None
    message: str
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alert:
        times = {k for k, f in cls.__dataclass_fields__.items() if "datetime" in str(f.type)}
        values: dict[str, Any] = {
            k: (_parse_time(data.get(k)) if k in times else data.get(k))
            for k in cls.__dataclass_fields__
        }
        values["details"] = dict(data.get("details") or {})
        return cls(**values)


@dataclass(frozen=True)
class Silence:
    """Notifications (and retraining) held back for matching alerts until ``ends_at``.

    A field left ``None`` matches every value.
    """

    silence_id: str
    monitor: str | None
    deployment: str | None
    rule: str | None
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def matches(self, monitor: str, deployment: str, rule: str, at: datetime) -> bool:
        return (
            self.starts_at <= at < self.ends_at
            and self.monitor in (None, monitor)
            and self.deployment in (None, deployment)
            and self.rule in (None, rule)
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Silence:
        return cls(
            silence_id=data["silence_id"],
            monitor=data.get("monitor"),
            deployment=data.get("deployment"),
            rule=data.get("rule"),
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            created_by=data.get("created_by") or "",
            comment=data.get("comment") or "",
        )


@dataclass(frozen=True)
class RunResult:
    """What one run of a monitor did."""

    monitor: str
    computed: tuple[datetime, ...] = ()
    """Start of each window computed (closed since the last run)."""
    relabelled: tuple[datetime, ...] = ()
    """Start of each older window whose performance late feedback changed."""
    alerts: tuple[Alert, ...] = ()
    """Alerts that changed state (pending, firing or resolved) in this run."""
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "computed": [t.isoformat() for t in self.computed],
            "relabelled": [t.isoformat() for t in self.relabelled],
            "alerts": [a.to_json() for a in self.alerts],
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        return cls(
            monitor=data["monitor"],
            computed=tuple(datetime.fromisoformat(t) for t in data.get("computed") or ()),
            relabelled=tuple(datetime.fromisoformat(t) for t in data.get("relabelled") or ()),
            alerts=tuple(Alert.from_json(a) for a in data.get("alerts") or ()),
            error=data.get("error"),
        )
