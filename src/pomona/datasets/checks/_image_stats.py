"""Reading and measuring images: Pillow decodes, numpy measures a whole chunk at once.

Statistics are computed on the grey image (ITU-R 601 luma, 0..255) of the picture shrunk
to at most ``analysis_size`` pixels per side: brightness (mean / 255), contrast
(standard deviation / 255), blur (variance of the 4-neighbour Laplacian), the mean
colour and a 256-bit difference hash (dHash: the grey image averaged over a 16 x 17
grid, one bit per horizontal neighbour pair). Same-sized images are measured together,
``_BATCH`` at a time (small enough to stay in the CPU cache).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "HASH_BYTES",
    "ChunkStats",
    "ImageSource",
    "analyse_chunk",
    "empty_stats",
    "measure_decoded",
]

ImageSource = str | Path | bytes
HASH_BYTES = 32
_BATCH = 64
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_GRID_ROWS, _GRID_COLS = 16, 17
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


@dataclass
class ChunkStats:
    """Measurements of a chunk of records, one row per record (zeros where not decoded)."""

    ids: list[str]
    sha256: NDArray[np.uint8]
    """(n, 32): the sha256 digest of each file's bytes (zeros when it could not be read)."""
    readable: NDArray[np.bool_]
    error: list[str]
    """Why the image could not be read or decoded; empty when it decoded."""
    formats: list[str]
    modes: list[str]
    n_bytes: NDArray[np.int64]
    width: NDArray[np.int32]
    height: NDArray[np.int32]
    brightness: NDArray[np.float32]
    contrast: NDArray[np.float32]
    blur: NDArray[np.float32]
    mean_rgb: NDArray[np.float32]
    """(n, 3), 0..255."""
    dhash: NDArray[np.uint8]
    """(n, 32): the 256 bits of the dHash."""

    @property
    def decoded(self) -> NDArray[np.bool_]:
        return np.array([not e for e in self.error], dtype=bool)


def _read(source: ImageSource) -> bytes:
    if isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def _decode(data: bytes, analysis_size: int) -> tuple[str, str, int, int, NDArray[np.uint8]]:
    """(format, mode, width, height, RGB pixels shrunk to ``analysis_size``)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        fmt, mode, (width, height) = image.format or "", image.mode, image.size
        if max(width, height) > analysis_size:
            image.draft("RGB", (analysis_size, analysis_size))
        image.load()
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        if max(rgb.size) > analysis_size:
            rgb.thumbnail((analysis_size, analysis_size), Image.Resampling.BOX)
        return fmt, mode, width, height, np.asarray(rgb)


def _describe(exc: BaseException) -> str:
    from PIL import UnidentifiedImageError

    if isinstance(exc, UnidentifiedImageError):
        return "not an image Pillow can read"
    text = _ADDRESS.sub("", str(exc)) or type(exc).__name__
    return text


def analyse_chunk(records: Sequence[tuple[str, ImageSource]], analysis_size: int) -> ChunkStats:
    """Reads, decodes and measures ``records`` ((id, path or bytes) pairs)."""
    from PIL import Image

    n = len(records)
    stats = empty_stats(n)
    groups: dict[tuple[int, ...], list[tuple[int, NDArray[np.uint8]]]] = {}
    for i, (record_id, source) in enumerate(records):
        stats.ids.append(str(record_id))
        try:
            data = _read(source)
        except OSError as exc:
            stats.error.append(f"cannot read the file: {exc.strerror or exc}")
            stats.formats.append("")
            stats.modes.append("")
            continue
        stats.sha256[i] = np.frombuffer(hashlib.sha256(data).digest(), np.uint8)
        stats.readable[i] = True
        stats.n_bytes[i] = len(data)
        try:
            fmt, mode, width, height, pixels = _decode(data, analysis_size)
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
            stats.error.append(_describe(exc))
            stats.formats.append("")
            stats.modes.append("")
            continue
        stats.error.append("")
        stats.formats.append(fmt)
        stats.modes.append(mode)
        stats.width[i], stats.height[i] = width, height
        groups.setdefault(pixels.shape, []).append((i, pixels))
    for members in groups.values():
        for start in range(0, len(members), _BATCH):
            batch = members[start : start + _BATCH]
            index = np.array([i for i, _ in batch], dtype=np.intp)
            _measure(np.stack([p for _, p in batch]), index, stats)
    return stats


def measure_decoded(images: Sequence[NDArray[np.uint8]], *, dhash: bool = True) -> ChunkStats:
    """Measures images already decoded to RGB (h, w, 3) and no larger than the analysis
    size: what ``analyse_chunk`` measures after its own decode, without reading, hashing
    or decoding again (the digests stay zero, and the dHash too when ``dhash`` is off)."""
    n = len(images)
    stats = empty_stats(n)
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, pixels in enumerate(images):
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"image {i} has shape {pixels.shape}, not (h, w, 3)")
        stats.ids.append(str(i))
        stats.error.append("")
        stats.formats.append("")
        stats.modes.append("RGB")
        stats.height[i], stats.width[i] = pixels.shape[:2]
        groups.setdefault(pixels.shape, []).append(i)
    stats.readable[:] = True
    for members in groups.values():
        for start in range(0, len(members), _BATCH):
            index = np.array(members[start : start + _BATCH], dtype=np.intp)
            _measure(np.stack([images[i] for i in index]), index, stats, dhash=dhash)
    return stats


def empty_stats(n: int) -> ChunkStats:
    """Stats of ``n`` records, all zero."""
    return ChunkStats(
        ids=[],
        sha256=np.zeros((n, 32), np.uint8),
        readable=np.zeros(n, bool),
        error=[],
        formats=[],
        modes=[],
        n_bytes=np.zeros(n, np.int64),
        width=np.zeros(n, np.int32),
        height=np.zeros(n, np.int32),
        brightness=np.zeros(n, np.float32),
        contrast=np.zeros(n, np.float32),
        blur=np.zeros(n, np.float32),
        mean_rgb=np.zeros((n, 3), np.float32),
        dhash=np.zeros((n, HASH_BYTES), np.uint8),
    )


def _measure(
    pixels: NDArray[np.uint8], index: NDArray[np.intp], stats: ChunkStats, dhash: bool = True
) -> None:
    """Statistics of same-shaped images ``pixels`` (g, h, w, 3), written at ``index``."""
    g, h, w, _ = pixels.shape
    flat = pixels.reshape(g, h * w, 3).astype(np.float32)
    stats.mean_rgb[index] = (np.ones((1, h * w), np.float32) @ flat)[:, 0, :] / (h * w)
    grey = (flat @ _LUMA).reshape(g, h, w)
    stats.brightness[index] = grey.mean(axis=(1, 2)) / 255.0
    stats.contrast[index] = grey.std(axis=(1, 2)) / 255.0
    if h >= 3 and w >= 3:
        laplacian = (
            grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1] + grey[:, 1:-1, :-2] + grey[:, 1:-1, 2:]
        ) - 4.0 * grey[:, 1:-1, 1:-1]
        stats.blur[index] = laplacian.reshape(g, -1).var(axis=1)
    if dhash:
        stats.dhash[index] = _dhash(grey)


def _dhash(grey: NDArray[np.float32]) -> NDArray[np.uint8]:
    """256-bit difference hashes of grey images (g, h, w) -> (g, 32) bytes."""
    _, h, w = grey.shape
    if h >= _GRID_ROWS and w >= _GRID_COLS:
        rows = (np.arange(_GRID_ROWS) * h) // _GRID_ROWS
        cols = (np.arange(_GRID_COLS) * w) // _GRID_COLS
        sums = np.add.reduceat(np.add.reduceat(grey, rows, axis=1), cols, axis=2)
        sizes = np.diff(np.append(rows, h))[:, None] * np.diff(np.append(cols, w))[None, :]
        grid = sums / sizes
    else:
        rows = (np.arange(_GRID_ROWS) * h) // _GRID_ROWS
        cols = (np.arange(_GRID_COLS) * w) // _GRID_COLS
        grid = grey[:, rows][:, :, cols]
    bits = grid[:, :, 1:] > grid[:, :, :-1]
    return np.packbits(bits.reshape(len(grey), -1), axis=1)
