"""Rollout strategies (canary, shadow, A/B) and the criteria the analysis loop judges by."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pomona.errors import InvalidInputError

__all__ = ["ABTest", "Canary", "Criteria", "Shadow", "Strategy", "strategy_from_json"]


def _number(value: object, name: str, low: float, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InvalidInputError(
            f"{name} must be a number in [{low:g}, {high:g}], got {value!r}.",
            details={"field": name},
        )
    return float(value)


@dataclass(frozen=True, slots=True)
class Criteria:
    """When a challenger is judged worse than the champion (any one rolls it back).

    Attributes:
        min_samples: requests each side needs in a step before anything is judged.
        alpha: significance level of each one-sided test.
        max_error_rate_increase: tolerated rise of the error rate (absolute).
        max_p99_ratio: tolerated challenger p99 latency / champion p99 latency.
        max_divergence: tolerated Jensen-Shannon distance (base 2, 0..1) between the
            distributions of predicted classes (or of binned numeric predictions).
        max_accuracy_drop: tolerated fall of accuracy on requests with feedback.
        min_feedback: labelled requests each side needs before accuracy is judged.
    """

    min_samples: int = 200
    alpha: float = 0.01
    max_error_rate_increase: float = 0.01
    max_p99_ratio: float = 1.5
    max_divergence: float = 0.2
    max_accuracy_drop: float = 0.02
    min_feedback: int = 50

    def __post_init__(self) -> None:
        _number(self.min_samples, "criteria.min_samples", 1)
        _number(self.alpha, "criteria.alpha", 1e-9, 0.5)
        _number(self.max_error_rate_increase, "criteria.max_error_rate_increase", 0, 1)
        _number(self.max_p99_ratio, "criteria.max_p99_ratio", 1)
        _number(self.max_divergence, "criteria.max_divergence", 0, 1)
        _number(self.max_accuracy_drop, "criteria.max_accuracy_drop", 0, 1)
        _number(self.min_feedback, "criteria.min_feedback", 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "min_samples": self.min_samples,
            "alpha": self.alpha,
            "max_error_rate_increase": self.max_error_rate_increase,
            "max_p99_ratio": self.max_p99_ratio,
            "max_divergence": self.max_divergence,
            "max_accuracy_drop": self.max_accuracy_drop,
            "min_feedback": self.min_feedback,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Criteria:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInputError(
                f"Unknown criteria: {', '.join(sorted(unknown))}.",
                hint=f"Use: {', '.join(cls.__dataclass_fields__)}.",
                details={"field": "criteria"},
            )
        for key in ("min_samples", "min_feedback"):
            if key in data and isinstance(data[key], float) and data[key].is_integer():
                data[key] = int(data[key])
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Canary:
    """Send ``steps[i]`` % of traffic to the challenger; advance after each ``interval_s``
    when the analysis passes, roll back when it fails, promote after the last step.

    ``auto=False`` records each analysis but leaves moves to ``promote``/``rollback``.
    """

    steps: tuple[int, ...] = (5, 25, 50, 100)
    interval_s: float = 60.0
    criteria: Criteria = field(default_factory=Criteria)
    auto: bool = True
    name = "canary"

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        if not steps or any(
            isinstance(s, bool) or not isinstance(s, int) or not 0 < s <= 100 for s in steps
        ):
            raise InvalidInputError(
                f"Canary steps must be percentages in 1..100, got {list(self.steps)!r}.",
                details={"field": "strategy.steps"},
            )
        if list(steps) != sorted(set(steps)):
            raise InvalidInputError(
                f"Canary steps must increase, got {list(steps)!r}.",
                details={"field": "strategy.steps"},
            )
        object.__setattr__(self, "steps", steps)
        _number(self.interval_s, "strategy.interval_s", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": "canary",
            "steps": list(self.steps),
            "interval_s": self.interval_s,
            "criteria": self.criteria.to_json(),
            "auto": self.auto,
        }


@dataclass(frozen=True, slots=True)
class Shadow:
    """Mirror ``percent`` % of requests to the challenger; answers come from the champion.

    The analysis compares the two on the mirrored requests; with ``auto`` a passing
    analysis after ``interval_s`` promotes the challenger, a failing one removes it.
    """

    percent: int = 100
    interval_s: float = 300.0
    criteria: Criteria = field(default_factory=Criteria)
    auto: bool = False
    name = "shadow"

    def __post_init__(self) -> None:
        _number(self.percent, "strategy.percent", 1, 100)
        _number(self.interval_s, "strategy.interval_s", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": "shadow",
            "percent": int(self.percent),
            "interval_s": self.interval_s,
            "criteria": self.criteria.to_json(),
            "auto": self.auto,
        }


@dataclass(frozen=True, slots=True)
class ABTest:
    """A fixed split: ``split`` % of request keys go to B (the challenger), for good.

    Requests are assigned by a hash of their key (``X-Request-Key`` header or the body's
    ``key``), so one key always meets the same variant; requests without a key are
    assigned by their request id. The analysis is recorded; nothing moves automatically.
    """

    split: int = 50
    interval_s: float = 300.0
    criteria: Criteria = field(default_factory=Criteria)
    auto: bool = False
    name = "ab"

    def __post_init__(self) -> None:
        _number(self.split, "strategy.split", 1, 99)
        _number(self.interval_s, "strategy.interval_s", 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "strategy": "ab",
            "split": int(self.split),
            "interval_s": self.interval_s,
            "criteria": self.criteria.to_json(),
            "auto": self.auto,
        }


Strategy = Canary | Shadow | ABTest


def strategy_from_json(data: Mapping[str, Any]) -> Strategy:
    """Read ``{"strategy": "canary" | "shadow" | "ab", ...}``."""
    if not isinstance(data, Mapping):
        raise InvalidInputError("A strategy is an object.", details={"field": "strategy"})
    body = dict(data)
    kind = body.pop("strategy", None)
    classes: dict[str, type[Canary] | type[Shadow] | type[ABTest]] = {
        "canary": Canary,
        "shadow": Shadow,
        "ab": ABTest,
    }
    cls = classes.get(str(kind))
    if cls is None:
        raise InvalidInputError(
            f"Unknown rollout strategy {kind!r}.",
            hint="Use 'canary', 'shadow' or 'ab'.",
            details={"field": "strategy.strategy"},
        )
    criteria = Criteria.from_json(body.pop("criteria", None))
    allowed = set(cls.__dataclass_fields__) - {"criteria"}
    unknown = set(body) - allowed
    if unknown:
        raise InvalidInputError(
            f"Unknown {kind} options: {', '.join(sorted(unknown))}.",
            hint=f"Use: {', '.join(sorted(allowed))}.",
            details={"field": "strategy"},
        )
    if "steps" in body:
        steps = body["steps"]
        if not isinstance(steps, Sequence) or isinstance(steps, str):
            raise InvalidInputError("steps must be a list.", details={"field": "strategy.steps"})
        body["steps"] = tuple(steps)
    return cls(criteria=criteria, **body)
