"""The rollout analysis: is the challenger worse than the champion, with what evidence?

Four checks, each an effect size against a tolerance plus a one-sided test at ``alpha``
(both must hold to fail the challenger), each only with enough samples:

- error rate: the rise, and a two-proportion z-test;
- p99 latency: the ratio of p99s, and a Mann-Whitney U test (challenger slower);
- prediction distributions: the Jensen-Shannon distance between predicted classes (or
  deciles of numeric predictions), and a chi-square test of homogeneity;
- accuracy on requests with feedback: the fall, and a two-proportion z-test.

When both sides have ``min_feedback`` labels, accuracy is the evidence about quality: the
divergence is still measured and recorded (``diverged``) but fails the challenger only
while labels are lacking, so a better model that predicts differently can win.

Numbers come from a ``CanaryMetrics`` (serving's own prediction logs by default;
monitoring may pass its own).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from pomona.serving.strategies import Criteria

__all__ = ["CanaryMetrics", "VariantWindow", "Verdict", "judge"]


@dataclass
class VariantWindow:
    """What one variant did in a window: requests, errors, latencies, predictions, labels."""

    n: int = 0
    errors: int = 0
    latencies_ms: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0))
    predictions: list[str] = field(default_factory=list)
    labelled: int = 0
    correct: int = 0


class CanaryMetrics(Protocol):
    """Where the analysis gets its numbers (monitoring may implement it)."""

    def window(
        self, deployment: str, variants: Sequence[str], start_ms: int, end_ms: int
    ) -> dict[str, VariantWindow]:
        """Each variant's requests with ``start_ms <= ts_ms < end_ms``."""
        ...


@dataclass
class Verdict:
    """``pass`` (no check failed, all had samples), ``fail`` (a check failed) or ``wait``."""

    outcome: str
    reasons: list[str]
    evidence: dict[str, Any]


def _z_greater(x1: int, n1: int, x2: int, n2: int) -> float:
    """One-sided p-value that proportion 1 exceeds proportion 2 (pooled z-test)."""
    from scipy.stats import norm

    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    return float(norm.sf((x1 / n1 - x2 / n2) / se))


def _error_rate(ch: VariantWindow, ref: VariantWindow, c: Criteria) -> dict[str, Any]:
    rise = ch.errors / ch.n - ref.errors / ref.n
    p = _z_greater(ch.errors, ch.n, ref.errors, ref.n)
    return {
        "champion": ref.errors / ref.n,
        "challenger": ch.errors / ch.n,
        "increase": rise,
        "p_value": p,
        "failed": bool(rise > c.max_error_rate_increase and p < c.alpha),
    }


def _latency(ch: VariantWindow, ref: VariantWindow, c: Criteria) -> dict[str, Any]:
    from scipy.stats import mannwhitneyu

    p99_ch = float(np.percentile(ch.latencies_ms, 99))
    p99_ref = float(np.percentile(ref.latencies_ms, 99))
    ratio = p99_ch / max(p99_ref, 1e-3)
    p = float(mannwhitneyu(ch.latencies_ms, ref.latencies_ms, alternative="greater").pvalue)
    return {
        "champion_p99_ms": p99_ref,
        "challenger_p99_ms": p99_ch,
        "ratio": ratio,
        "p_value": p,
        "failed": bool(ratio > c.max_p99_ratio and p < c.alpha),
    }


def _bins(ch: list[str], ref: list[str]) -> tuple[list[str], list[str]]:
    """Numeric predictions (regressors) as deciles of the champion's; labels as they are."""
    try:
        a, b = np.asarray(ch, dtype=float), np.asarray(ref, dtype=float)
    except ValueError:
        return ch, ref
    if len(set(ref)) <= 20:
        return ch, ref
    edges = np.unique(np.quantile(b, np.linspace(0.1, 0.9, 9)))
    return [str(i) for i in np.digitize(a, edges)], [str(i) for i in np.digitize(b, edges)]


def _divergence(
    ch: VariantWindow, ref: VariantWindow, c: Criteria, labelled: bool
) -> dict[str, Any]:
    """With enough labels on both sides accuracy judges quality: a challenger that predicts
    differently (as a model retrained after drift should) is then not failed for it."""
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chi2_contingency

    a, b = _bins(ch.predictions, ref.predictions)
    ca, cb = Counter(a), Counter(b)
    classes = sorted(set(ca) | set(cb))
    table = np.array([[ca[k] for k in classes], [cb[k] for k in classes]], dtype=float)
    js = float(jensenshannon(table[0] / table[0].sum(), table[1] / table[1].sum(), base=2))
    p = 1.0 if len(classes) < 2 else float(chi2_contingency(table + 0.5).pvalue)
    js = 0.0 if math.isnan(js) else js
    diverged = bool(js > c.max_divergence and p < c.alpha)
    return {
        "js_distance": js,
        "p_value": p,
        "classes": classes[:50],
        "diverged": diverged,
        "judged_by": "accuracy" if labelled else "divergence",
        "failed": diverged and not labelled,
    }


def _accuracy(ch: VariantWindow, ref: VariantWindow, c: Criteria) -> dict[str, Any]:
    acc_ch, acc_ref = ch.correct / ch.labelled, ref.correct / ref.labelled
    p = _z_greater(ref.correct, ref.labelled, ch.correct, ch.labelled)
    return {
        "champion": acc_ref,
        "challenger": acc_ch,
        "drop": acc_ref - acc_ch,
        "labelled": [ref.labelled, ch.labelled],
        "p_value": p,
        "failed": bool(acc_ref - acc_ch > c.max_accuracy_drop and p < c.alpha),
    }


def judge(champion: VariantWindow, challenger: VariantWindow, criteria: Criteria) -> Verdict:
    """Compare the challenger with the champion over one window."""
    evidence: dict[str, Any] = {
        "samples": {"champion": champion.n, "challenger": challenger.n},
        "criteria": criteria.to_json(),
    }
    short = min(champion.n, challenger.n) < criteria.min_samples
    if short:
        return Verdict(
            "wait",
            [
                f"not enough samples: champion {champion.n}, challenger {challenger.n}, "
                f"need {criteria.min_samples} each"
            ],
            evidence,
        )
    reasons = []
    evidence["error_rate"] = _error_rate(challenger, champion, criteria)
    ok_ch = challenger.latencies_ms.size > 0 and champion.latencies_ms.size > 0
    if ok_ch:
        evidence["latency"] = _latency(challenger, champion, criteria)
    labelled = min(champion.labelled, challenger.labelled) >= criteria.min_feedback
    if labelled:
        evidence["accuracy"] = _accuracy(challenger, champion, criteria)
    if challenger.predictions and champion.predictions:
        evidence["divergence"] = _divergence(challenger, champion, criteria, labelled)
    for key, label in (
        ("error_rate", "error rate rose"),
        ("latency", "p99 latency grew"),
        ("divergence", "predictions diverge"),
        ("accuracy", "accuracy fell"),
    ):
        if evidence.get(key, {}).get("failed"):
            reasons.append(label)
    if reasons:
        return Verdict("fail", reasons, evidence)
    return Verdict("pass", ["no check failed"], evidence)
