"""The profile of one column: mergeable statistics, exact counts, JSON round trip."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from pomona.datasets.profiling._histogram import Histogram
from pomona.datasets.profiling._sketch import QuantileSketch
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["MAX_CATEGORIES", "QUANTILES", "ColumnProfile"]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
MAX_CATEGORIES = 1000
"""Distinct values counted one by one per column; the rest add up in ``other``."""
_TOP = 20

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column. Numeric: count, mean, spread, extremes, histogram and
    quantiles; categorical: the count of each value (top ones first)."""

    kind: Kind
    count: int
    """Values present (not missing)."""
    missing: int
    mean: float = math.nan
    m2: float = 0.0
    """Sum of squared deviations from the mean (for merging)."""
    min: float = math.nan
    max: float = math.nan
    infinite: int = 0
    histogram: Histogram | None = None
    sketch: QuantileSketch | None = None
    categories: dict[str, int] = field(default_factory=dict)
    other: int = 0
    """Values beyond the ``MAX_CATEGORIES`` most frequent distinct ones."""

    @property
    def std(self) -> float:
        """Sample standard deviation of the finite values."""
        finite = self.count - self.infinite
        return math.sqrt(self.m2 / (finite - 1)) if finite > 1 else math.nan

    @property
    def quantiles(self) -> dict[float, float]:
        """``QUANTILES`` -> value (within about 2 % of a value of that rank)."""
        if self.sketch is None:
            return {}
        return dict(
            zip(QUANTILES, self.sketch.quantiles(QUANTILES, self.min, self.max), strict=True)
        )

    def top(self, n: int = _TOP) -> list[tuple[str, int]]:
        """The ``n`` most frequent values and their counts."""
        return sorted(self.categories.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    @classmethod
    def numeric(cls, values: NDArray[np.float64], missing: int, *, integer: bool) -> ColumnProfile:
        """The profile of numeric ``values`` (missing ones already removed)."""
        finite = values[np.isfinite(values)]
        mean = float(finite.mean()) if len(finite) else math.nan
        return cls(
            kind="numeric",
            count=len(values),
            missing=missing,
            mean=mean,
            m2=float(((finite - mean) ** 2).sum()) if len(finite) else 0.0,
            min=float(finite.min()) if len(finite) else math.nan,
            max=float(finite.max()) if len(finite) else math.nan,
            infinite=len(values) - len(finite),
            histogram=Histogram.of(finite, integer=integer),
            sketch=QuantileSketch.of(finite),
        )

    @classmethod
    def categorical(cls, counts: Mapping[str, int], missing: int) -> ColumnProfile:
        """The profile of a column whose values occur ``counts`` times."""
        kept, other = _cap(Counter(counts))
        return cls(
            kind="categorical",
            count=sum(counts.values()),
            missing=missing,
            categories=kept,
            other=other,
        )

    @classmethod
    def of(cls, series: pd.Series, *, categorical: bool = False) -> ColumnProfile:
        """The profile of a pandas column (numbers unless ``categorical`` or not numeric)."""
        missing = int(series.isna().sum())
        kind = getattr(series.dtype, "kind", "O")
        if categorical or kind not in "iufM" or str(series.dtype) == "category":
            counts = series.value_counts(dropna=True)
            return cls.categorical({str(k): int(v) for k, v in counts.items()}, missing)
        present = series.dropna()
        if kind == "M":
            if getattr(present.dt, "tz", None) is not None:
                present = present.dt.tz_convert(None)
            stamps = present.to_numpy(dtype="datetime64[ns]").astype(np.int64)
            values = stamps / 1e9
        else:
            values = present.to_numpy(dtype=np.float64)
        return cls.numeric(values, missing, integer=kind in "iu")

    def merge(self, other: ColumnProfile, *, column: str = "") -> ColumnProfile:
        """The profile of both columns' values together."""
        if self.kind != other.kind:
            raise InvalidInputError(
                f"Column '{column}' is {self.kind} in one batch and {other.kind} in another.",
                hint="Give the column one type in every batch.",
                details={"field": column},
            )
        if self.kind == "categorical":
            kept, dropped = _cap(Counter(self.categories) + Counter(other.categories))
            return ColumnProfile(
                "categorical",
                self.count + other.count,
                self.missing + other.missing,
                categories=kept,
                other=self.other + other.other + dropped,
            )
        return _merge_numeric(self, other)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN as None); ``from_dict`` reads it back."""
        data: dict[str, Any] = {"kind": self.kind, "count": self.count, "missing": self.missing}
        if self.kind == "categorical":
            data.update(distinct=len(self.categories), top=[list(kv) for kv in self.top()])
            data.update(counts=dict(self.top(len(self.categories))), other=self.other)
            return data
        data.update(
            mean=_num(self.mean),
            std=_num(self.std),
            m2=self.m2,
            min=_num(self.min),
            max=_num(self.max),
            infinite=self.infinite,
            quantiles={str(q): _num(v) for q, v in self.quantiles.items()},
            histogram=self.histogram.to_dict() if self.histogram else None,
            sketch=self.sketch.to_dict() if self.sketch else None,
        )
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        """Rebuilds a profile written by ``to_dict``."""
        try:
            if data["kind"] == "categorical":
                counts = {str(k): int(v) for k, v in data["counts"].items()}
                return cls("categorical", int(data["count"]), int(data["missing"]),
                           categories=counts, other=int(data["other"]))  # fmt: skip
            return cls(
                "numeric",
                int(data["count"]),
                int(data["missing"]),
                mean=_float(data["mean"]),
                m2=float(data["m2"]),
                min=_float(data["min"]),
                max=_float(data["max"]),
                infinite=int(data["infinite"]),
                histogram=Histogram.from_dict(data["histogram"]) if data["histogram"] else None,
                sketch=QuantileSketch.from_dict(data["sketch"]) if data["sketch"] else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"Not a column profile: {exc!s}.") from exc


def _cap(counts: Counter[str]) -> tuple[dict[str, int], int]:
    if len(counts) <= MAX_CATEGORIES:
        return dict(counts), 0
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ranked[:MAX_CATEGORIES]), sum(c for _, c in ranked[MAX_CATEGORIES:])


def _merge_numeric(a: ColumnProfile, b: ColumnProfile) -> ColumnProfile:
    """Chan et al.'s parallel update of mean and squared deviations; exact counts."""
    na, nb = a.count - a.infinite, b.count - b.infinite
    n = na + nb
    if na == 0 or nb == 0:
        mean, m2 = (b.mean, b.m2) if na == 0 else (a.mean, a.m2)
    else:
        delta = b.mean - a.mean
        mean = a.mean + delta * nb / n
        m2 = a.m2 + b.m2 + delta * delta * na * nb / n
    hist = a.histogram.merge(b.histogram) if a.histogram and b.histogram else None
    sketch = a.sketch.merge(b.sketch) if a.sketch and b.sketch else None
    return ColumnProfile(
        "numeric",
        a.count + b.count,
        a.missing + b.missing,
        mean=mean,
        m2=m2,
        min=float(np.fmin(a.min, b.min)),
        max=float(np.fmax(a.max, b.max)),
        infinite=a.infinite + b.infinite,
        histogram=hist,
        sketch=sketch,
    )


def _num(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)
