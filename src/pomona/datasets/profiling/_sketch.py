"""Quantiles with a bounded relative error, mergeable, with exact counts on fixed log bins.

A value ``x`` with ``|x| >= 1e-12`` falls in bin ``floor(16 * log2(|x|))`` of its sign, so a
bin spans a factor ``2**(1/16)`` and a quantile read from the bins is within about 2.2 %
of a value of that rank. The bins never move: merging adds counts, and the result does
not depend on how the data was split into batches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError

__all__ = ["QuantileSketch"]

_RESOLUTION = 16
_ZERO = 1e-12
_GROWTH = math.pow(2.0, 1 / _RESOLUTION)


def _bins(magnitudes: NDArray[np.float64]) -> dict[int, int]:
    if not len(magnitudes):
        return {}
    index = np.floor(np.log2(magnitudes) * _RESOLUTION).astype(np.int64)
    low = int(index.min())
    counts = np.bincount(index - low)
    (nonzero,) = np.nonzero(counts)
    return {int(i) + low: int(counts[i]) for i in nonzero}


def _add(a: Mapping[int, int], b: Mapping[int, int]) -> dict[int, int]:
    out = dict(a)
    for key, count in b.items():
        out[key] = out.get(key, 0) + count
    return out


@dataclass(frozen=True)
class QuantileSketch:
    """Counts of finite values in logarithmic bins, by sign."""

    positive: dict[int, int] = field(default_factory=dict)
    negative: dict[int, int] = field(default_factory=dict)
    zero: int = 0
    """Values with ``|x| < 1e-12``."""

    @classmethod
    def of(cls, values: NDArray[np.float64]) -> QuantileSketch:
        values = values[np.isfinite(values)]
        small = np.abs(values) < _ZERO
        return cls(
            positive=_bins(values[(values > 0) & ~small]),
            negative=_bins(-values[(values < 0) & ~small]),
            zero=int(small.sum()),
        )

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        return QuantileSketch(
            _add(self.positive, other.positive),
            _add(self.negative, other.negative),
            self.zero + other.zero,
        )

    def _ladder(self) -> tuple[list[float], list[float]]:
        """Bin boundaries in increasing order and the count of each bin between them."""
        lows: list[float] = []
        counts: list[float] = []
        for key in sorted(self.negative, reverse=True):
            lows.append(-math.pow(2.0, (key + 1) / _RESOLUTION))
            counts.append(self.negative[key])
        if self.zero:
            lows.append(-_ZERO)
            counts.append(self.zero)
        for key in sorted(self.positive):
            lows.append(math.pow(2.0, key / _RESOLUTION))
            counts.append(self.positive[key])
        return lows, counts

    def quantiles(self, qs: tuple[float, ...], low: float, high: float) -> list[float]:
        """Quantiles interpolated inside bins, clipped to ``[low, high]`` (the exact min, max)."""
        lows, counts = self._ladder()
        total = float(sum(counts))
        if total == 0:
            return [math.nan for _ in qs]
        starts = np.asarray(lows)
        ends = np.append(starts[1:], high)
        ends = np.maximum(ends, starts)
        widths = [_width(float(s), float(e)) for s, e in zip(starts, ends, strict=True)]
        cumulative = np.concatenate([[0.0], np.cumsum(counts)])
        out = []
        for q in qs:
            rank = q * total
            i = int(
                np.clip(np.searchsorted(cumulative, rank, side="right") - 1, 0, len(counts) - 1)
            )
            inside = (rank - cumulative[i]) / counts[i] if counts[i] else 0.0
            value = starts[i] + min(max(inside, 0.0), 1.0) * widths[i]
            out.append(float(min(max(value, low), high)))
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; each sign's bins as a dense run ``{"start": key, "counts": [...]}``."""
        return {
            "resolution": _RESOLUTION,
            "positive": _dense(self.positive),
            "negative": _dense(self.negative),
            "zero": self.zero,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantileSketch:
        try:
            if int(data.get("resolution", _RESOLUTION)) != _RESOLUTION:
                raise ValueError(f"resolution {data['resolution']} is not {_RESOLUTION}")
            return cls(
                positive=_sparse(data["positive"]),
                negative=_sparse(data["negative"]),
                zero=int(data["zero"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(f"Not a quantile sketch: {exc!s}.") from exc


def _width(start: float, end: float) -> float:
    """The width of a bin starting at ``start``: one log step, or up to the next bin."""
    if start > 0:
        return min(start * (_GROWTH - 1), end - start)
    if start < -_ZERO:
        return min(-start * (1 - 1 / _GROWTH), end - start)
    return min(2 * _ZERO, end - start)


def _dense(bins: Mapping[int, int]) -> dict[str, Any]:
    if not bins:
        return {"start": 0, "counts": []}
    start = min(bins)
    return {"start": start, "counts": [bins.get(k, 0) for k in range(start, max(bins) + 1)]}


def _sparse(run: Mapping[str, Any]) -> dict[int, int]:
    start = int(run["start"])
    return {start + i: int(c) for i, c in enumerate(run["counts"]) if int(c)}
