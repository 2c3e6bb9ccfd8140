"""Coordinate grids and noise banks, computed once per image size and cropped per image.

Images are built channel-first (3 x H x W, float32, 0..1) because numpy broadcasts a
colour over a (3, 1, 1) axis far faster than over a trailing axis of length 3.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

__all__ = ["F32", "Grid", "clip01", "crop", "grid", "noise_bank", "rgb", "smooth_bank"]

F32 = NDArray[np.float32]

_BANK_SEED = 20_240_917  # fixed: the banks belong to the generator, not to the user's seed


class Grid:
    """Pixel-centre coordinates of a ``size`` x ``size`` image, in -1..1 (y points down)."""

    def __init__(self, size: int) -> None:
        axis = ((np.arange(size) + 0.5) / size * 2.0 - 1.0).astype(np.float32)
        self.size = size
        self.x: F32 = np.ascontiguousarray(np.broadcast_to(axis[None, :], (size, size)))
        self.y: F32 = np.ascontiguousarray(np.broadcast_to(axis[:, None], (size, size)))
        self.axis: F32 = axis
        self.pixel = 2.0 / size  # width of one pixel in grid units

    def index(self, coord: float) -> int:
        """The pixel index of a grid coordinate, clamped to the image."""
        return min(max(int((coord + 1.0) / self.pixel), 0), self.size)

    def box(self, cx: float, cy: float, half_w: float, half_h: float) -> tuple[slice, slice]:
        """Rows and columns of the pixels within ``half_w``, ``half_h`` of a centre."""
        rows = slice(self.index(cy - half_h), self.index(cy + half_h) + 1)
        return rows, slice(self.index(cx - half_w), self.index(cx + half_w) + 1)


@lru_cache(maxsize=8)
def grid(size: int) -> Grid:
    """The cached coordinate grid for ``size``."""
    return Grid(size)


def rgb(r: float, g: float, b: float) -> F32:
    """A colour shaped (3, 1, 1), ready to broadcast over a 3 x H x W image."""
    return np.asarray((r, g, b), dtype=np.float32).reshape(3, 1, 1)


def clip01(a: F32) -> F32:
    """``a`` clipped to 0..1 (the ndarray method: cheaper than ``np.clip``)."""
    return a.clip(0.0, 1.0)


def _upsample(small: F32, out: int) -> F32:
    """Smooth upsampling of a square array; cells wrap around, so the result tiles."""
    cells = small.shape[0]
    pos = (np.arange(out, dtype=np.float32) + 0.5) * cells / out - 0.5
    i0 = np.floor(pos).astype(np.int64)
    t = pos - i0
    t = t * t * (3.0 - 2.0 * t)  # smoothstep: no visible creases along the cells
    i0 %= cells
    i1 = (i0 + 1) % cells
    rows = small[i0] * (1 - t)[:, None] + small[i1] * t[:, None]
    out = rows[:, i0] * (1 - t)[None, :] + rows[:, i1] * t[None, :]
    return np.asarray(out, dtype=np.float32)


@lru_cache(maxsize=8)
def smooth_bank(size: int) -> tuple[F32, F32]:
    """Two value-noise fields of side ``3 * size``, zero mean and unit std.

    The first is coarse (blobs about a quarter of the image), the second fine (~1/16).
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
    """White Gaussian noise, 3 x (3 * size) x (3 * size), for camera noise."""
    rng = np.random.default_rng(_BANK_SEED + 1)
    return rng.standard_normal((3, 3 * size, 3 * size), dtype=np.float32)


def crop(bank: F32, shape: tuple[int, int], rng: np.random.Generator) -> F32:
    """A random window (a view) of ``shape`` from a bank's last two axes."""
    u = rng.random(3).tolist()
    oy = int(u[0] * (bank.shape[-2] - shape[0] + 1))
    ox = int(u[1] * (bank.shape[-1] - shape[1] + 1))
    window = bank[..., oy : oy + shape[0], ox : ox + shape[1]]
    return window[..., ::-1, :] if u[2] < 0.5 else window
