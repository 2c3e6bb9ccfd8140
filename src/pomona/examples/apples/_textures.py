"""Precomputed coordinate grids and noise banks, cropped per image (cheap and deterministic)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["Grid", "crop", "grid", "noise_bank", "smooth_bank"]

F32 = NDArray[np.float32]

_BANK_SEED = 20_240_917  # fixed: banks are part of the generator, not of the user's seed


class Grid:
    """Pixel-centre coordinates of a ``size`` x ``size`` image, in -1..1 (y points down)."""

    def __init__(self, size: int) -> None:
        axis = (np.arange(size, dtype=np.float32) + 0.5) / size * 2.0 - 1.0
        self.size = size
        self.x: F32 = np.broadcast_to(axis[None, :], (size, size))
        self.y: F32 = np.broadcast_to(axis[:, None], (size, size))
        self.pixel = np.float32(2.0 / size)  # width of one pixel in grid units


@lru_cache(maxsize=8)
def grid(size: int) -> Grid:
    """The cached coordinate grid for ``size``."""
    return Grid(size)


def _upsample(small: F32, out: int) -> F32:
    """Bilinear upsampling of a square array (cells wrap around, so the result tiles)."""
    cells = small.shape[0]
    pos = (np.arange(out, dtype=np.float32) + 0.5) * cells / out - 0.5
    i0 = np.floor(pos).astype(np.int64)
    t = pos - i0
    t = t * t * (3.0 - 2.0 * t)  # smoothstep: no visible grid creases
    i0 %= cells
    i1 = (i0 + 1) % cells
    rows = small[i0] * (1 - t)[:, None] + small[i1] * t[:, None]
    return (rows[:, i0] * (1 - t)[None, :] + rows[:, i1] * t[None, :]).astype(np.float32)


@lru_cache(maxsize=8)
def smooth_bank(size: int) -> tuple[F32, F32]:
    """Two tileable value-noise fields of side ``3 * size`` with zero mean, unit-ish std.

    The first is coarse (features ~ a quarter of the image), the second fine (~ 1/16).
    """
    rng = np.random.default_rng(_BANK_SEED)
    side = 3 * size
    fields = []
    for octaves in ((12, 24), (48, 96)):
        total = np.zeros((side, side), dtype=np.float32)
        for weight, cells in zip((1.0, 0.5), octaves, strict=True):
            small = rng.standard_normal((cells, cells)).astype(np.float32)
            total += weight * _upsample(small, side)
        total -= total.mean()
        total /= total.std()
        fields.append(total)
    return fields[0], fields[1]


@lru_cache(maxsize=8)
def noise_bank(size: int) -> F32:
    """White Gaussian noise of side ``3 * size`` with 3 channels, for camera noise."""
    rng = np.random.default_rng(_BANK_SEED + 1)
    return rng.standard_normal((3 * size, 3 * size, 3), dtype=np.float32)


def crop(bank: F32, size: int, rng: np.random.Generator) -> F32:
    """A random ``size`` x ``size`` window of a bank, randomly flipped."""
    limit = bank.shape[0] - size
    oy, ox = rng.integers(0, limit + 1, size=2)
    window = bank[oy : oy + size, ox : ox + size]
    flip = rng.integers(0, 4)
    if flip & 1:
        window = window[::-1]
    if flip & 2:
        window = window[:, ::-1]
    return window
