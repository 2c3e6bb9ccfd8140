"""Drift of embeddings: maximum mean discrepancy (MMD) with a permutation test.

Both samples are subsampled to at most ``max_rows`` rows (1,000 by default), the RBF
kernel's bandwidth is the median pairwise distance, and the p-value is the share of
random relabellings whose MMD is at least the observed one. Every permutation is one
matrix-vector product with the kernel matrix, so 200 permutations of 2 × 1,000 rows take
well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError

__all__ = ["MmdResult", "mmd_test"]


@dataclass(frozen=True)
class MmdResult:
    mmd2: float
    p_value: float
    n_reference: int
    n_current: int
    drifted: bool


def mmd_test(
    reference: NDArray[np.float64],
    current: NDArray[np.float64],
    *,
    max_rows: int = 1000,
    permutations: int = 200,
    alpha: float = 0.05,
    min_samples: int = 30,
    seed: int = 0,
) -> MmdResult | None:
    """Two-sample MMD test of ``(n, d)`` arrays; ``None`` with fewer than ``min_samples``."""
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.ndim != 2 or cur.ndim != 2 or ref.shape[1] != cur.shape[1]:
        raise InvalidInputError("Embeddings must be two 2-D arrays with the same width.")
    ref = ref[np.isfinite(ref).all(axis=1)]
    cur = cur[np.isfinite(cur).all(axis=1)]
    if min(len(ref), len(cur)) < min_samples:
        return None
    rng = np.random.default_rng(seed)
    ref = _subsample(ref, max_rows, rng)
    cur = _subsample(cur, max_rows, rng)
    both = np.vstack([ref, cur])
    sq = np.sum(both**2, axis=1)
    dist2 = np.maximum(sq[:, None] + sq[None, :] - 2 * both @ both.T, 0.0)
    upper = dist2[np.triu_indices(len(both), k=1)]
    bandwidth = float(np.median(upper)) or 1.0
    kernel = np.exp(-dist2 / bandwidth)
    n, m = len(ref), len(cur)
    signs = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    observed = float(signs @ kernel @ signs)
    shuffled = np.stack([rng.permutation(signs) for _ in range(permutations)], axis=1)
    null = np.einsum("ij,ij->j", shuffled, kernel @ shuffled)
    p = float((1 + np.count_nonzero(null >= observed)) / (1 + permutations))
    return MmdResult(observed, p, n, m, p < alpha)


def _subsample(x: NDArray[np.float64], limit: int, rng: np.random.Generator) -> NDArray[np.float64]:
    if len(x) <= limit:
        return x
    return x[rng.choice(len(x), limit, replace=False)]
