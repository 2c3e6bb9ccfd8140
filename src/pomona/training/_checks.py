"""The promotion gates, one function each: signature, primary metric against the champion
(McNemar or a paired bootstrap), baselines, latency, slices. Each returns a ``GateResult``."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.training._metrics import Predictions, compute, higher_is_better

__all__ = [
    "GateResult",
    "baselines_gate",
    "bootstrap_diff",
    "latency_gate",
    "mcnemar_p",
    "metric_gate",
    "signature_gate",
    "slices_gate",
]


TRIVIAL = frozenset({"majority", "mean"})


@dataclass
class GateResult:
    """One gate's verdict, why, and the numbers behind it."""

    name: str
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def _better(metric: str, a: float, b: float) -> float:
    """How much better ``a`` is than ``b`` (positive = better, in either direction)."""
    return (a - b) if higher_is_better(metric) else (b - a)


def signature_gate(candidate: Any, champion: Any | None) -> GateResult:
    from pomona.registry.signature import first_mismatch

    if champion is None:
        return GateResult("signature", True, "No champion: nothing to stay compatible with.")
    found = first_mismatch(candidate, champion)
    if found is None:
        return GateResult("signature", True, "Same inputs and outputs as the champion.")
    where, what = found
    return GateResult(
        "signature", False, f"Signature differs from the champion's: {what}.", {"field": where}
    )


def mcnemar_p(candidate_right: NDArray[np.bool_], champion_right: NDArray[np.bool_]) -> float:
    """One-sided exact McNemar p-value that the candidate is worse than the champion."""
    from scipy.stats import binom

    b = int(np.sum(candidate_right & ~champion_right))  # only the candidate is right
    c = int(np.sum(~candidate_right & champion_right))  # only the champion is right
    if b + c == 0:
        return 1.0
    return float(binom.cdf(b, b + c, 0.5))


def bootstrap_diff(
    cand: Predictions, champ: Predictions, metric: str, *, n: int = 500, seed: int = 0
) -> tuple[float, float]:
    """95% paired-bootstrap interval of how much better the candidate is on ``metric``."""
    rng = np.random.default_rng(seed)
    size = len(cand.y_true)
    diffs = []
    for _ in range(n):
        idx = rng.integers(0, size, size)
        a = compute(_take(cand, idx), (metric,))[metric]
        b = compute(_take(champ, idx), (metric,))[metric]
        if math.isfinite(a) and math.isfinite(b):
            diffs.append(_better(metric, a, b))
    if not diffs:
        return float("nan"), float("nan")
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def _take(p: Predictions, idx: NDArray[np.intp]) -> Predictions:
    proba = None if p.proba is None else p.proba[idx]
    return Predictions(p.y_true[idx], p.y_pred[idx], proba, p.labels)


def metric_gate(
    metric: str,
    cand: Predictions,
    champ: Predictions | None,
    *,
    threshold: float | None,
    alpha: float,
) -> GateResult:
    """The primary metric reaches the target and is not significantly worse than the champion's."""
    value = compute(cand, (metric,))[metric]
    details: dict[str, Any] = {"metric": metric, "candidate": value, "threshold": threshold}
    if threshold is not None and not _better(metric, value, threshold) >= 0:
        return GateResult(
            "primary_metric", False, f"{metric} {value:.4f} misses the target {threshold}.", details
        )
    if champ is None:
        return GateResult(
            "primary_metric", True, f"{metric} {value:.4f}; no champion yet.", details
        )
    old = compute(champ, (metric,))[metric]
    details["champion"] = old
    if metric == "accuracy" and cand.labels is not None:
        p = mcnemar_p(cand.y_pred == cand.y_true, champ.y_pred == champ.y_true)
        details.update(test="mcnemar", p_value=p, alpha=alpha)
        worse = value < old and p < alpha
        how = f"McNemar p={p:.3g}"
    else:
        low, high = bootstrap_diff(cand, champ, metric)
        details.update(test="bootstrap", diff_low=low, diff_high=high, alpha=0.05)
        worse = high < 0
        how = f"95% bootstrap interval of the gain [{low:.4f}, {high:.4f}]"
    verdict = "significantly worse than" if worse else "not worse than"
    return GateResult(
        "primary_metric",
        not worse,
        f"{metric} {value:.4f} vs champion {old:.4f}: {verdict} the champion ({how}).",
        details,
    )


def baselines_gate(
    metric: str, value: float, baselines: Mapping[str, Mapping[str, float]], source: str
) -> GateResult:
    """The candidate beats the trivial baseline and is not worse than the others (linear)."""
    scores = {n: b[metric] for n, b in baselines.items() if math.isfinite(b.get(metric, math.nan))}
    if not scores:
        return GateResult("baselines", False, f"No baseline has a {metric} to compare with.")
    losing = [
        n
        for n, s in scores.items()
        if not (_better(metric, value, s) > 0 if n in TRIVIAL else _better(metric, value, s) >= 0)
    ]
    details = {"metric": metric, "candidate": value, "baselines": scores, "source": source}
    if losing:
        worst = ", ".join(f"{n} {scores[n]:.4f}" for n in losing)
        return GateResult(
            "baselines", False, f"{metric} {value:.4f} does not beat: {worst}.", details
        )
    lifts = ", ".join(f"{n} {_better(metric, value, s):+.4f}" for n, s in scores.items())
    return GateResult("baselines", True, f"Beats the baselines (lift: {lifts}).", details)


def latency_gate(
    predict: Any, example: Any, *, budget_ms: float | None, calls: int, load_ms: float
) -> GateResult:
    """p99 of predicting the example input, after a warm-up, against the budget."""
    for _ in range(3):
        predict(example)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        predict(example)
        times.append((time.perf_counter() - start) * 1000)
    p50, p99 = (float(v) for v in np.percentile(times, [50, 99]))
    details = {
        "p50_ms": p50,
        "p99_ms": p99,
        "calls": calls,
        "load_ms": load_ms,
        "budget_ms": budget_ms,
    }
    if budget_ms is None:
        return GateResult("latency", True, f"p99 {p99:.2f} ms (no budget set).", details)
    ok = p99 <= budget_ms
    verb = "within" if ok else "over"
    return GateResult(
        "latency", ok, f"p99 {p99:.2f} ms is {verb} the {budget_ms} ms budget.", details
    )


def _slice_rows(
    p: Predictions, values: NDArray[Any], metric: str, min_n: int
) -> dict[str, tuple[int, float]]:
    out = {}
    for value in sorted(set(values.tolist()), key=str):
        mask = values == value
        if int(mask.sum()) >= min_n:
            out[str(value)] = (int(mask.sum()), compute(p.subset(mask), (metric,))[metric])
    return out


def slices_gate(
    metric: str,
    cand: Predictions,
    champ: Predictions | None,
    columns: Mapping[str, NDArray[Any]],
    *,
    threshold: float | None,
    tolerance: float,
    min_n: int = 20,
) -> GateResult:
    """No slice loses more than ``tolerance`` against the champion's same slice, and every
    slice reaches the target (less the tolerance) when the project sets one — unless the
    champion misses it there too and the candidate does better: refusing would leave the
    worse model serving that slice."""
    if not columns:
        return GateResult("slices", True, "No slice columns recorded or requested.")
    problems, table = [], []
    for column, values in columns.items():
        new = _slice_rows(cand, values, metric, min_n)
        old = _slice_rows(champ, values, metric, min_n) if champ is not None else {}
        for value, (n, score) in new.items():
            before = old.get(value, (n, math.nan))[1]
            table.append(
                {
                    "column": column,
                    "value": value,
                    "n": n,
                    "candidate": score,
                    "champion": None if math.isnan(before) else before,
                }
            )
            if math.isfinite(before) and _better(metric, score, before) < -tolerance:
                problems.append(f"{column}={value}: {score:.4f} vs champion {before:.4f}")
            elif (
                threshold is not None
                and _better(metric, score, threshold) < -tolerance
                and not (math.isfinite(before) and _better(metric, score, before) > 0)
            ):
                problems.append(f"{column}={value}: {score:.4f} misses the target {threshold}")
    details = {"metric": metric, "tolerance": tolerance, "min_n": min_n, "rows": table}
    if problems:
        return GateResult(
            "slices", False, "Slices out of tolerance: " + "; ".join(problems) + ".", details
        )
    return GateResult("slices", True, f"All {len(table)} slices within tolerance.", details)
