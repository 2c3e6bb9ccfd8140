"""Image features for the apple farm: colour histograms, texture and blemish statistics.

A declared transformation (numpy and Pillow). The subject is taken to fill the centre of
the photo: statistics are computed inside a centred disc, so backgrounds matter little.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.features.definitions import ValueType, feature_transformation

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    from pomona.features._ingest import TransformContext

__all__ = ["image_feature_schema", "image_features", "image_vector"]

F64 = NDArray[np.float64]
_CHANNELS = ("r", "g", "b")


def image_feature_schema(bins: int = 8) -> dict[str, ValueType]:
    """The features ``image_features(bins=…)`` computes, in order."""
    names = [f"hist_{c}_{i}" for c in _CHANNELS for i in range(bins)]
    names += [f"hue_{i}" for i in range(bins)]
    names += [f"{c}_mean" for c in _CHANNELS] + [f"{c}_std" for c in _CHANNELS]
    names += ["saturation_mean", "value_mean", "value_std"]
    names += ["gradient_mean", "laplacian_var"]
    names += ["dark_fraction", "brown_fraction", "blemish_fraction", "blemish_spots"]
    schema = {n: ValueType.FLOAT64 for n in names}
    schema["blemish_spots"] = ValueType.INT64
    return schema


def _hsv(rgb: F64) -> tuple[F64, F64, F64]:
    """Hue in [0, 1), saturation and value of an ``(…, 3)`` array in [0, 1]."""
    high = rgb.max(axis=-1)
    low = rgb.min(axis=-1)
    span = high - low
    safe = np.where(span > 0, span, 1.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    hue = np.where(
        high == r, (g - b) / safe, np.where(high == g, 2 + (b - r) / safe, 4 + (r - g) / safe)
    )
    hue = np.where(span > 0, (hue / 6.0) % 1.0, 0.0)
    sat = np.where(high > 0, span / np.where(high > 0, high, 1.0), 0.0)
    return hue, sat, high


def _spots(mask: NDArray[np.bool_]) -> int:
    """Connected groups (4-neighbour) of at least 3 pixels in ``mask``."""
    seen = np.zeros_like(mask)
    height, width = mask.shape
    count = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        stack, size = [(int(y), int(x))], 0
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            size += 1
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < height and 0 <= nx < width and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        count += size >= 3
    return count


def image_vector(image: NDArray[np.uint8], bins: int = 8) -> list[float]:
    """The features of one ``(h, w, 3)`` RGB image, in ``image_feature_schema`` order."""
    rgb = image[..., :3].astype(np.float64) / 255.0
    height, width = rgb.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width]
    disc = ((yy - (height - 1) / 2) ** 2 + (xx - (width - 1) / 2) ** 2) <= (
        0.36 * min(height, width)
    ) ** 2
    inside = rgb[disc]
    hue, sat, val = _hsv(inside)
    out: list[float] = []
    for c in range(3):
        hist, _ = np.histogram(inside[:, c], bins=bins, range=(0.0, 1.0))
        out += (hist / max(1, inside.shape[0])).tolist()
    coloured = sat > 0.25
    hue_hist, _ = np.histogram(hue[coloured], bins=bins, range=(0.0, 1.0))
    out += (hue_hist / max(1, int(coloured.sum()))).tolist()
    out += inside.mean(axis=0).tolist() + inside.std(axis=0).tolist()
    out += [float(sat.mean()), float(val.mean()), float(val.std())]
    grey = rgb.mean(axis=-1)
    gy, gx = np.gradient(grey)
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4 * grey[1:-1, 1:-1]
    out += [float(np.hypot(gx, gy)[disc].mean()), float(lap[disc[1:-1, 1:-1]].var())]
    full_hue, full_sat, full_val = _hsv(rgb)
    dark = disc & (full_val < 0.22)
    brown = disc & (full_hue > 0.03) & (full_hue < 0.13) & (full_sat > 0.3) & (full_val < 0.5)
    median = float(np.median(val)) if val.size else 0.0
    blemish = disc & (full_val < 0.6 * median)
    area = max(1, int(disc.sum()))
    out += [dark.sum() / area, brown.sum() / area, blemish.sum() / area, float(_spots(dark))]
    return [float(v) for v in out]


def _decoder(kind: str, context: TransformContext) -> Callable[[Any], bytes]:
    if kind == "path":
        from pathlib import Path

        return lambda value: Path(str(value)).read_bytes()
    if kind == "digest":
        return lambda value: context.read_blob(str(value))
    if kind == "bytes":
        return lambda value: bytes(value)
    raise InvalidInputError(
        f"image_features: kind={kind!r} is not path, digest or bytes.",
        details={"field": "transformation.params.kind"},
    )


@feature_transformation
def image_features(
    batch: pa.RecordBatch,
    context: TransformContext,
    *,
    column: str = "path",
    kind: str = "path",
    bins: int = 8,
    size: int = 64,
) -> dict[str, list[float]]:
    """Colour histograms, texture and blemish statistics of the images in ``column``.

    Args:
        column: the source column holding the images.
        kind: ``path`` (local files), ``digest`` (artifact store blobs) or ``bytes``.
        bins: histogram bins per channel and of hue.
        size: images are resized to ``size`` x ``size`` first.
    """
    from PIL import Image, UnidentifiedImageError

    if column not in batch.schema.names:
        raise InvalidInputError(
            f"image_features: the source has no image column '{column}'.",
            details={"field": "transformation.params.column"},
        )
    read = _decoder(kind, context)
    names = list(image_feature_schema(bins))
    rows = []
    for value in batch.column(column).to_pylist():
        try:
            with Image.open(io.BytesIO(read(value))) as img:
                pixels = np.asarray(img.convert("RGB").resize((size, size)), dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as exc:
            raise InvalidInputError(
                f"image_features: cannot read image {str(value)[:80]!r}: {exc}.",
                details={"field": column},
            ) from exc
        rows.append(image_vector(pixels, bins))
    matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(names))
    return {name: matrix[:, i].tolist() for i, name in enumerate(names)}
