"""Alert rules over monitor results, the default rules, and durations like ``"1h"``.

A rule compares one metric series (``metric``, ``feature``) with a threshold. ``feature``
is ``""`` for the window as a whole, a feature's name, or ``"*"`` for every feature (one
alert lists the features that breach, or one alert per feature with ``per_feature``).
The condition must hold for ``for_s`` seconds of consecutive windows before the alert
fires; until then it is pending.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pomona.errors import InvalidInputError

__all__ = ["MAX_DURATION_S", "OPS", "SEVERITIES", "AlertRule", "default_rules", "parse_duration"]

MAX_DURATION_S = 366 * 86_400.0
"""The longest duration monitoring takes (windows, lags, cool-downs, silences …): a year,
leap day included. Beyond it, times computed from a duration leave what a datetime and a
64-bit millisecond column hold."""

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
SEVERITIES = ("info", "warning", "critical")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def parse_duration(value: object, field: str, *, max_s: float = MAX_DURATION_S) -> float:
    """Seconds from a number or a string like ``"90s"``, ``"15m"``, ``"1h"``, ``"7d"``, at
    most ``max_s``."""
    if isinstance(value, bool):
        raise InvalidInputError(f"{field} must be a duration.", details={"field": field})
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        found = _DURATION.match(str(value))
        if found is None:
            raise InvalidInputError(
                f"{field} must be a duration like '30s', '15m', '1h' or '7d', got {value!r}.",
                details={"field": field},
            )
        seconds = float(found.group(1)) * _UNITS[found.group(2) or "s"]
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputError(f"{field} must be ≥ 0 seconds.", details={"field": field})
    if seconds > max_s:
        raise InvalidInputError(
            f"{field} must be at most {max_s:g} seconds ({max_s / 86_400:g} days), got {value!r}.",
            details={"field": field},
        )
    return seconds


def check_name(name: object, field: str = "name") -> str:
    """A monitor or rule name: letters, digits and ``_ . : -``, at most 128 characters."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"{field} must be 1-128 letters, digits, '_', '.', ':' or '-', got {name!r}.",
            details={"field": field},
        )
    return name


@dataclass(frozen=True)
class AlertRule:
    """Fire when ``metric`` (of ``feature``) ``op`` ``threshold`` for ``for_s`` seconds.

    ``retrain``: a firing alert of this rule asks for a retraining (the ``alert.fired``
    event, behind the cooldown guard).
    """

    name: str
    metric: str
    op: str
    threshold: float
    feature: str = ""
    for_s: float = 0.0
    severity: str = "warning"
    retrain: bool = False
    per_feature: bool = False

    def __post_init__(self) -> None:
        check_name(self.name, "rule.name")
        if not self.metric or len(self.metric) > 64:
            raise InvalidInputError("rule.metric must name a metric.", details={"field": "metric"})
        if self.op not in OPS:
            raise InvalidInputError(
                f"rule.op must be one of {', '.join(OPS)}, got {self.op!r}.",
                details={"field": "op"},
            )
        if self.severity not in SEVERITIES:
            raise InvalidInputError(
                f"rule.severity must be one of {', '.join(SEVERITIES)}.",
                details={"field": "severity"},
            )
        if not math.isfinite(float(self.threshold)):
            raise InvalidInputError("rule.threshold must be a number.", details={"field": "rule"})
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "for_s", parse_duration(self.for_s, "rule.for_s"))

    def breached(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)

    def describe(self) -> str:
        what = self.metric if not self.feature else f"{self.metric}[{self.feature}]"
        held = f" for {self.for_s:g}s" if self.for_s else ""
        return f"{what} {self.op} {self.threshold:g}{held}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AlertRule:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        try:
            return cls(**known)
        except TypeError as exc:
            raise InvalidInputError(
                f"Invalid alert rule: {exc}.", details={"field": "rules"}
            ) from exc


def default_rules(
    *,
    drift: bool,
    quality: bool,
    performance: bool,
    min_accuracy: float | None,
    max_error_rate: float | None,
    latency_p99_ms: float | None,
) -> list[AlertRule]:
    """The rules a monitor gets unless it is given its own (see docs/monitoring.md)."""
    rules: list[AlertRule] = []
    if drift:
        rules.append(AlertRule("data_drift", "dataset_drift", ">=", 1.0, retrain=True))
    if quality:
        rules.append(AlertRule("missing_values", "missing", ">", 0.2, feature="*"))
        rules.append(AlertRule("out_of_schema", "out_of_schema", ">", 0.0))
    if performance and min_accuracy is not None:
        rules.append(
            AlertRule("accuracy", "accuracy", "<", min_accuracy, severity="critical", retrain=True)
        )
        rules.append(AlertRule("estimated_accuracy", "estimated_accuracy", "<", min_accuracy))
    if max_error_rate is not None:
        rules.append(
            AlertRule("error_rate", "error_rate", ">", max_error_rate, severity="critical")
        )
    if latency_p99_ms is not None:
        rules.append(AlertRule("latency_p99", "latency_p99_ms", ">", latency_p99_ms))
    return rules
