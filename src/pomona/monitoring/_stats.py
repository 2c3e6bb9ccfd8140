"""Two-sample statistics on numpy arrays: the numbers drift decisions are made from."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["chi2_test", "jensen_shannon", "ks_wasserstein", "psi"]

_EPS = 1e-6


def ks_wasserstein(
    ref_sorted: NDArray[np.float64], cur: NDArray[np.float64]
) -> tuple[float, float, float]:
    """Kolmogorov–Smirnov D with its asymptotic p-value (as scipy's ``method="asymp"``)
    and the Wasserstein-1 distance, from one merge of the two samples.

    ``ref_sorted`` must be sorted; NaNs must be removed by the caller.
    """
    from scipy.stats import distributions

    n, m = len(ref_sorted), len(cur)
    merged = np.concatenate([ref_sorted, np.sort(cur)])
    order = np.argsort(merged, kind="stable")  # merges two sorted runs
    values = merged[order]
    from_ref = order < n
    cdf_ref = np.cumsum(from_ref) / n
    cdf_cur = np.cumsum(~from_ref) / m
    gap = np.abs(cdf_ref - cdf_cur)
    last_of_ties = np.append(values[1:] != values[:-1], True)
    stat = float(gap[last_of_ties].max())
    distance = float(np.sum(gap[:-1] * np.diff(values)))
    en = n * m / (n + m)
    if en < 10_000:
        p = float(distributions.kstwo.sf(stat, np.round(en)))
    else:
        p = float(distributions.kstwobign.sf(np.sqrt(en) * stat))
    return stat, min(max(p, 0.0), 1.0), distance


def psi(ref_counts: NDArray[np.float64], cur_counts: NDArray[np.float64]) -> float:
    """Population stability index over the same bins (empty bins smoothed)."""
    p = ref_counts / max(ref_counts.sum(), 1)
    q = cur_counts / max(cur_counts.sum(), 1)
    p = np.clip(p, _EPS, None)
    q = np.clip(q, _EPS, None)
    return float(np.sum((q - p) * np.log(q / p)))


def chi2_test(
    ref_counts: NDArray[np.float64], cur_counts: NDArray[np.float64]
) -> tuple[float, float]:
    """Chi-square test of homogeneity of two count vectors over the same categories."""
    from scipy.stats import chi2_contingency

    table = np.vstack([ref_counts, cur_counts])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    stat, p, _, _ = chi2_contingency(table, correction=False)
    return float(stat), float(p)


def jensen_shannon(ref_counts: NDArray[np.float64], cur_counts: NDArray[np.float64]) -> float:
    """Jensen–Shannon distance (base 2, in [0, 1]) between two count vectors."""
    from scipy.spatial.distance import jensenshannon

    if ref_counts.sum() == 0 or cur_counts.sum() == 0:
        return 0.0
    return float(jensenshannon(ref_counts, cur_counts, base=2))
