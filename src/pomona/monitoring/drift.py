"""Data drift: per-feature tests against a reference, decided by effect size and p-value.

On large windows every test is "significant", so a feature drifts only when its p-value
survives the multiple-testing correction (Holm) AND its effect size passes a threshold,
and only with enough samples. Defaults (``DriftThresholds``):

- numeric: Kolmogorov–Smirnov, PSI, Wasserstein (÷ reference std);
  drifts when KS p < α (Holm) and (KS D ≥ 0.1 or PSI ≥ 0.2).
- categorical: chi-square, Jensen–Shannon distance;
  drifts when chi² p < α (Holm) and JS ≥ 0.1.

α = 0.05; at least 100 current and 100 reference values per feature; the dataset drifts
when at least 30 % of the judged features drift.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.monitoring import _stats

__all__ = ["DriftDetector", "DriftReport", "DriftThresholds", "FeatureDrift", "holm"]

MAX_REFERENCE = 200_000
_WORKERS = min(4, os.cpu_count() or 1)
N_BINS = 20


@dataclass(frozen=True)
class DriftThresholds:
    alpha: float = 0.05
    ks: float = 0.1
    psi: float = 0.2
    js: float = 0.1
    min_samples: int = 100
    dataset_share: float = 0.3


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's verdict with the numbers behind it."""

    feature: str
    kind: str  # "numeric" | "categorical"
    n_reference: int
    n_current: int
    drifted: bool | None  # None: too few samples to judge
    p_value: float | None = None
    p_adjusted: float | None = None
    statistic: float | None = None  # KS D or chi-square
    psi: float | None = None
    wasserstein: float | None = None
    js: float | None = None


@dataclass(frozen=True)
class DriftReport:
    features: list[FeatureDrift]
    drifted: bool
    share: float
    thresholds: DriftThresholds = field(default_factory=DriftThresholds)

    @property
    def drifted_features(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given)."""
    m = len(p_values)
    order = np.argsort(p_values)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[idx]))
        adjusted[idx] = running
    return [float(x) for x in adjusted]


def _column(data: Any, name: str) -> NDArray[Any]:
    values = np.asarray(data[name])
    if values.ndim != 1:
        raise InvalidInputError(f"Feature '{name}' must be one-dimensional.")
    return values


class DriftDetector:
    """Fit on a reference sample, then judge current samples against it.

    Args:
        categorical: names of categorical features; others with a numeric dtype are numeric,
            the rest categorical.
        thresholds: the decision thresholds.
    """

    def __init__(
        self, *, categorical: Sequence[str] = (), thresholds: DriftThresholds | None = None
    ) -> None:
        self.categorical = tuple(categorical)
        self.thresholds = thresholds or DriftThresholds()

    def fit(self, reference: Mapping[str, Any]) -> Self:
        """Learn the reference profile of every feature (``reference``: DataFrame or dict)."""
        names = list(reference.keys())
        if not names:
            raise InvalidInputError("The drift reference has no features.")
        self.numeric_: dict[str, NDArray[np.float64]] = {}
        self.edges_: dict[str, NDArray[np.float64]] = {}
        self.counts_: dict[str, NDArray[np.float64]] = {}
        self.categories_: dict[str, dict[str, float]] = {}
        self.scales_: dict[str, float] = {}
        with ThreadPoolExecutor(_WORKERS) as pool:  # numpy sorts release the GIL
            list(pool.map(lambda name: self._fit_one(name, _column(reference, name)), names))
        return self

    def _fit_one(self, name: str, values: NDArray[Any]) -> None:
        if name in self.categorical or not np.issubdtype(values.dtype, np.number):
            self.categories_[name] = _counts(values)
        else:
            floats = values.astype(np.float64)
            clean = np.sort(floats[~np.isnan(floats)])
            if len(clean) > MAX_REFERENCE:  # keep evenly spaced order statistics
                clean = clean[np.linspace(0, len(clean) - 1, MAX_REFERENCE).astype(int)]
            quantiles = np.linspace(0, 1, N_BINS + 1)
            edges = np.unique(np.quantile(clean, quantiles)) if len(clean) else np.zeros(1)
            self.numeric_[name] = clean
            self.edges_[name] = edges
            self.counts_[name] = _bin(clean, edges)
            self.scales_[name] = float(np.std(clean)) if len(clean) else 0.0

    def detect(self, current: Mapping[str, Any]) -> DriftReport:
        """Judge every reference feature present in ``current``."""
        if not hasattr(self, "numeric_"):
            raise InvalidInputError("Call fit(reference) before detect().")
        t = self.thresholds
        names = [n for n in (*self.numeric_, *self.categories_) if n in current]

        def judge(name: str) -> FeatureDrift:
            values = _column(current, name)
            if name in self.numeric_:
                return self._numeric(name, values)
            return self._categorical(name, values)

        with ThreadPoolExecutor(_WORKERS) as pool:
            raw = list(pool.map(judge, names))
        judged = [f for f in raw if f.p_value is not None]
        adjusted = dict(
            zip(
                [f.feature for f in judged],
                holm([1.0 if f.p_value is None else f.p_value for f in judged]),
                strict=True,
            )
        )
        features = [self._decide(f, adjusted.get(f.feature)) for f in raw]
        decided = [f for f in features if f.drifted is not None]
        share = sum(bool(f.drifted) for f in decided) / len(decided) if decided else 0.0
        return DriftReport(features, bool(decided) and share >= t.dataset_share, share, t)

    def _numeric(self, name: str, values: NDArray[Any]) -> FeatureDrift:
        ref = self.numeric_[name]
        cur = values.astype(np.float64)
        cur = cur[~np.isnan(cur)]
        if min(len(cur), len(ref)) < self.thresholds.min_samples:
            return FeatureDrift(name, "numeric", len(ref), len(cur), None)
        stat, p, distance = _stats.ks_wasserstein(ref, cur)
        scale = self.scales_[name]
        return FeatureDrift(
            name,
            "numeric",
            len(ref),
            len(cur),
            None,
            p_value=p,
            statistic=stat,
            psi=_stats.psi(self.counts_[name], _bin(cur, self.edges_[name])),
            wasserstein=distance / scale if scale > 0 else distance,
        )

    def _categorical(self, name: str, values: NDArray[Any]) -> FeatureDrift:
        ref = self.categories_[name]
        cur = _counts(values)
        cats = sorted(set(ref) | set(cur))
        r = np.array([ref.get(c, 0.0) for c in cats])
        c = np.array([cur.get(k, 0.0) for k in cats])
        n_ref, n_cur = int(r.sum()), int(c.sum())
        if min(n_ref, n_cur) < self.thresholds.min_samples:
            return FeatureDrift(name, "categorical", n_ref, n_cur, None)
        stat, p = _stats.chi2_test(r, c)
        return FeatureDrift(
            name,
            "categorical",
            n_ref,
            n_cur,
            None,
            p_value=p,
            statistic=stat,
            js=_stats.jensen_shannon(r, c),
        )

    def _decide(self, f: FeatureDrift, p_adj: float | None) -> FeatureDrift:
        if p_adj is None:
            return f
        t = self.thresholds
        if f.kind == "numeric":
            big = (f.statistic or 0.0) >= t.ks or (f.psi or 0.0) >= t.psi
        else:
            big = (f.js or 0.0) >= t.js
        return FeatureDrift(
            **{**asdict(f), "p_adjusted": p_adj, "drifted": p_adj < t.alpha and big}
        )


def _counts(values: NDArray[Any]) -> dict[str, float]:
    keys, counts = np.unique(values.astype(str), return_counts=True)
    return dict(zip(keys.tolist(), counts.astype(float).tolist(), strict=True))


def _bin(values: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """Counts per reference quantile bin; values outside the reference range go to the ends."""
    idx = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, max(len(edges) - 2, 0))
    return np.bincount(idx, minlength=max(len(edges) - 1, 1)).astype(np.float64)
