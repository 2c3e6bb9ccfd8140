"""Per-feature profiles of a window: quality fractions and small histograms (no raw rows).

Numeric features get 20 equal-width bins over the central range of window and reference
together, with the reference counted on the same bins; categorical features keep their
20 most frequent values. Both stay a few hundred bytes however many rows the window has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BINS",
    "TOP",
    "as_float",
    "as_text",
    "categorical_profile",
    "is_numeric",
    "numeric_profile",
]

BINS = 20
TOP = 20


def is_numeric(values: NDArray[Any]) -> bool:
    return bool(np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_)


def as_float(values: Any) -> NDArray[np.float64]:
    """Floats with NaN for nulls (masked arrays from DuckDB included)."""
    if isinstance(values, np.ma.MaskedArray):
        return np.ma.filled(values.astype(np.float64), np.nan)
    return np.asarray(values, dtype=np.float64)


def as_text(values: Any) -> NDArray[Any]:
    """Objects with ``None`` for nulls, everything else as ``str``."""
    if isinstance(values, np.ma.MaskedArray):
        out = np.ma.filled(values.astype(object), None)
    else:
        out = np.asarray(values, dtype=object)
    return np.array([None if v is None else str(v) for v in out], dtype=object)


def _cast_errors(values: NDArray[Any]) -> tuple[NDArray[np.float64], int]:
    """Text values read as floats; how many non-null ones were not numbers."""
    out = np.full(len(values), np.nan)
    errors = 0
    for i, v in enumerate(values):
        if v is None:
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            errors += 1
    return out, errors


def numeric_profile(
    values: NDArray[Any], reference: NDArray[np.float64] | None
) -> tuple[dict[str, Any], NDArray[np.float64]]:
    """Quality and a histogram of a numeric feature; returns the clean floats too.

    Text values (a client sending ``"big"`` for a number) count as type errors.
    """
    n = len(values)
    errors = 0
    if values.dtype == object:
        floats, errors = _cast_errors(values)
    else:
        floats = as_float(values)
    finite = floats[np.isfinite(floats)]
    out: dict[str, Any] = {
        "kind": "numeric",
        "count": n,
        "missing": _frac(n - len(finite) - errors, n),
        "type_errors": _frac(errors, n),
    }
    if len(finite):
        out.update(
            mean=float(finite.mean()),
            std=float(finite.std()),
            min=float(finite.min()),
            max=float(finite.max()),
        )
    ref = None if reference is None else reference[np.isfinite(reference)]
    if ref is not None and len(ref):
        lo, hi = float(ref.min()), float(ref.max())
        outside = np.count_nonzero((finite < lo) | (finite > hi))
        out["out_of_range"] = _frac(int(outside), n)
        out["reference_range"] = [lo, hi]
    out["hist"] = _histogram(finite, ref)
    return out, finite


def _histogram(cur: NDArray[np.float64], ref: NDArray[np.float64] | None) -> dict[str, Any]:
    both = cur if ref is None or not len(ref) else np.concatenate([cur[:200_000], ref[:200_000]])
    if not len(both):
        return {"edges": [], "counts": [], "reference": []}
    lo, hi = (float(x) for x in np.quantile(both, [0.001, 0.999]))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, BINS + 1)

    def count(x: NDArray[np.float64]) -> list[int]:
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, BINS - 1)
        return [int(c) for c in np.bincount(idx, minlength=BINS)]

    return {
        "edges": [float(e) for e in edges],
        "counts": count(cur),
        "reference": [] if ref is None else count(ref),
    }


def categorical_profile(
    values: NDArray[Any], reference: NDArray[Any] | None
) -> tuple[dict[str, Any], NDArray[Any]]:
    """Quality and the most frequent values of a categorical feature; returns the non-null
    values as text too."""
    text = as_text(values)
    present = text[np.array([v is not None for v in text], dtype=bool)] if len(text) else text
    n = len(text)
    counts = _counts(present)
    out: dict[str, Any] = {
        "kind": "categorical",
        "count": n,
        "missing": _frac(n - len(present), n),
        "type_errors": 0.0,
        "distinct": len(counts),
    }
    ref_counts: Mapping[str, int] = {}
    if reference is not None:
        ref_text = as_text(reference)
        ref_counts = _counts(ref_text[np.array([v is not None for v in ref_text], dtype=bool)])
        unseen = sum(c for k, c in counts.items() if k not in ref_counts)
        out["out_of_range"] = _frac(unseen, n)
    top = sorted(counts, key=lambda k: (-counts[k], k))[:TOP]
    for key in sorted(ref_counts, key=lambda k: (-ref_counts[k], k))[:TOP]:
        if key not in top and len(top) < 2 * TOP:
            top.append(key)
    out["top"] = {
        "values": top,
        "counts": [counts.get(k, 0) for k in top],
        "reference": [int(ref_counts.get(k, 0)) for k in top] if reference is not None else [],
    }
    return out, present


def _counts(values: NDArray[Any]) -> dict[str, int]:
    if not len(values):
        return {}
    keys, counts = np.unique(values.astype(str), return_counts=True)
    return {str(k): int(c) for k, c in zip(keys, counts, strict=True)}


def _frac(part: int, whole: int) -> float:
    return float(part) / whole if whole else 0.0
