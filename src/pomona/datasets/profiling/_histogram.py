"""A mergeable histogram with exact counts on a power-of-two grid.

Bin edges are multiples of ``2**exponent``; ``exponent`` is the smallest that fits the data
in ``max_bins`` bins (never below ``min_exponent``: 0 for integers). Merging coarsens the
finer histogram by whole powers of two, so every count stays exact and the result is the
same however the data was split into batches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError

__all__ = ["Histogram"]

_MAX_BINS = 64
_PRECISION_BITS = 40
_LOWEST = -1074


def _floor_index(values: NDArray[np.float64], exponent: int) -> NDArray[np.int64]:
    return np.floor(np.ldexp(values, -exponent)).astype(np.int64)


def _fits(low: float, high: float, exponent: int, bins: int) -> bool:
    return math.floor(math.ldexp(high, -exponent)) - math.floor(math.ldexp(low, -exponent)) < bins


def _exponent(low: float, high: float, floor: int, bins: int) -> int:
    span = high - low
    guess = math.frexp(span / bins)[1] - 1 if span > 0 else floor
    exponent = max(floor, guess)
    while not _fits(low, high, exponent, bins):
        exponent += 1
    while exponent > floor and _fits(low, high, exponent - 1, bins):
        exponent -= 1
    return exponent


@dataclass(frozen=True)
class Histogram:
    """Counts of finite values in bins ``[edges[i], edges[i + 1])``."""

    exponent: int
    start: int
    """The first bin starts at ``start * 2**exponent``."""
    counts: tuple[int, ...]
    min_exponent: int = _LOWEST
    max_bins: int = _MAX_BINS

    @property
    def edges(self) -> list[float]:
        """``len(counts) + 1`` bin edges."""
        return [math.ldexp(self.start + i, self.exponent) for i in range(len(self.counts) + 1)]

    @property
    def total(self) -> int:
        return sum(self.counts)

    @classmethod
    def of(
        cls, values: NDArray[np.float64], *, integer: bool = False, max_bins: int = _MAX_BINS
    ) -> Histogram:
        """The histogram of finite ``values``."""
        values = values[np.isfinite(values)]
        if integer:
            floor = 0
        elif len(values):
            biggest = float(np.abs(values).max())
            floor = math.frexp(biggest)[1] - _PRECISION_BITS if biggest > 0 else _LOWEST
        else:
            floor = _LOWEST
        if not len(values):
            return cls(floor, 0, (), floor, max_bins)
        low, high = float(values.min()), float(values.max())
        exponent = _exponent(low, high, floor, max_bins)
        index = _floor_index(values, exponent)
        start = int(index.min())
        counts = np.bincount(index - start)
        return cls(exponent, start, tuple(int(c) for c in counts), floor, max_bins)

    def merge(self, other: Histogram) -> Histogram:
        """The histogram of both sets of values (exact)."""
        if not other.counts:
            return self if self.min_exponent >= other.min_exponent else other.merge(self)
        if not self.counts:
            floor = max(self.min_exponent, other.min_exponent)
            return other if other.min_exponent == floor else other._regrid(floor)
        floor = max(self.min_exponent, other.min_exponent)
        low = min(self.edges[0], other.edges[0])
        high = max(self._last_value(), other._last_value())
        exponent = max(_exponent(low, high, floor, self.max_bins), self.exponent, other.exponent)
        a, b = self._coarsen(exponent), other._coarsen(exponent)
        start = min(a[0], b[0])
        size = max(a[0] + len(a[1]), b[0] + len(b[1])) - start
        counts = np.zeros(size, np.int64)
        counts[a[0] - start : a[0] - start + len(a[1])] += a[1]
        counts[b[0] - start : b[0] - start + len(b[1])] += b[1]
        return Histogram(exponent, start, tuple(int(c) for c in counts), floor, self.max_bins)

    def _last_value(self) -> float:
        last = max(i for i, c in enumerate(self.counts) if c) if any(self.counts) else 0
        return math.ldexp(self.start + last, self.exponent)

    def _coarsen(self, exponent: int) -> tuple[int, NDArray[np.int64]]:
        shift = exponent - self.exponent
        index = np.arange(len(self.counts), dtype=np.int64) + self.start
        index = index >> shift if shift < 63 else np.where(index < 0, -1, 0).astype(np.int64)
        start = int(index[0])
        counts = np.bincount(index - start, weights=np.asarray(self.counts, np.float64))
        return start, counts.astype(np.int64)

    def _regrid(self, floor: int) -> Histogram:
        exponent = max(self.exponent, floor)
        start, counts = self._coarsen(exponent)
        return Histogram(exponent, start, tuple(int(c) for c in counts), floor, self.max_bins)

    def quantiles(self, qs: tuple[float, ...], low: float, high: float) -> list[float]:
        """Quantiles interpolated inside bins, clipped to ``[low, high]`` (the exact min, max)."""
        counts = np.asarray(self.counts, np.float64)
        total = counts.sum()
        if total == 0:
            return [math.nan for _ in qs]
        cumulative = np.concatenate([[0.0], np.cumsum(counts)])
        edges = np.asarray(self.edges)
        values = np.interp(np.asarray(qs) * total, cumulative, edges)
        return [float(v) for v in np.clip(values, low, high)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the grid, the counts and (for convenience) the edges."""
        return {
            "exponent": self.exponent,
            "start": self.start,
            "counts": list(self.counts),
            "edges": self.edges,
            "min_exponent": self.min_exponent,
            "max_bins": self.max_bins,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Histogram:
        """Rebuilds a histogram written by ``to_dict``."""
        try:
            return cls(
                exponent=int(data["exponent"]),
                start=int(data["start"]),
                counts=tuple(int(c) for c in data["counts"]),
                min_exponent=int(data.get("min_exponent", _LOWEST)),
                max_bins=int(data.get("max_bins", _MAX_BINS)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"Not a histogram: {exc!s}.") from exc
