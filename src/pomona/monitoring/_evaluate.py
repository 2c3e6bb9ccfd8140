"""Rule evaluation from stored points, without state of its own.

A rule is judged on the newest window that has its metric. The breach has held since the
earliest window of the unbroken run of breaching windows that ends there; it fires once it
has held for ``for_s`` (a breach seen in one window has held for one window's length).
Evaluating again without new windows gives the same answer: alerts cannot duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pomona.monitoring.rules import AlertRule

__all__ = ["Evaluation", "evaluate_rule"]


@dataclass(frozen=True)
class Evaluation:
    """A rule's verdict for one group on the newest window."""

    group: str
    breached: bool
    value: float | None
    window_start_ms: int
    since_ms: int
    held_s: float
    features: tuple[str, ...] = field(default=())

    def firing(self, rule: AlertRule) -> bool:
        return self.breached and self.held_s >= rule.for_s


def evaluate_rule(
    rule: AlertRule,
    series: Mapping[str, Sequence[tuple[int, float]]],
    window_ms: int,
) -> list[Evaluation]:
    """Verdicts of ``rule`` over ``series`` (feature -> (window start, value), oldest first).

    ``series`` holds the rule's metric for the features it selects.
    """
    if not series:
        return []
    latest = max(points[-1][0] for points in series.values() if points)
    per_feature = {
        feature: _one(rule, feature, points, latest, window_ms)
        for feature, points in sorted(series.items())
        if points and points[-1][0] == latest
    }
    if rule.feature != "*" or rule.per_feature:
        return list(per_feature.values())
    breaching = [e for e in per_feature.values() if e.breached]
    if not breaching:
        worst = _worst(rule, list(per_feature.values()))
        return [Evaluation("", False, worst.value if worst else None, latest, latest, 0.0)]
    worst = _worst(rule, breaching)
    since = min(e.since_ms for e in breaching)
    return [
        Evaluation(
            "",
            True,
            worst.value if worst else None,
            latest,
            since,
            max(e.held_s for e in breaching),
            tuple(e.group for e in breaching),
        )
    ]


def _one(
    rule: AlertRule, feature: str, points: Sequence[tuple[int, float]], latest: int, window_ms: int
) -> Evaluation:
    value = points[-1][1]
    if not rule.breached(value):
        return Evaluation(feature, False, value, latest, latest, 0.0)
    since = latest
    for start, v in reversed(points):
        if not rule.breached(v):
            break
        since = start
    held = (latest - since + window_ms) / 1000
    return Evaluation(feature, True, value, latest, since, held, (feature,) if feature else ())


def _worst(rule: AlertRule, evaluations: list[Evaluation]) -> Evaluation | None:
    scored = [e for e in evaluations if e.value is not None]
    if not scored:
        return None
    high = rule.op in (">", ">=")
    return (max if high else min)(scored, key=lambda e: e.value or 0.0)
