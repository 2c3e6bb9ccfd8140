"""Image profiles: sizes, formats, brightness, contrast, blur and colour, class counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.datasets.checks import ImageProperties, ImagePropertyTable
from pomona.datasets.profiling._columns import ColumnProfile
from pomona.errors import InvalidInputError

__all__ = ["IMAGE_MEASURES", "ImageProfile", "profile_images"]

IMAGE_MEASURES = (
    "width",
    "height",
    "brightness",
    "contrast",
    "blur",
    "mean_red",
    "mean_green",
    "mean_blue",
)
"""The per-image measurements profiled as numeric columns (colour: mean of each channel)."""


@dataclass(frozen=True)
class ImageProfile:
    """The distribution of image measurements; ``columns`` holds their histograms."""

    images: int
    sizes: dict[str, int]
    """"<width>x<height>" -> number of images."""
    formats: dict[str, int]
    columns: dict[str, ColumnProfile]
    class_counts: dict[str, int] | None = None
    unlabelled: int = 0

    def merge(self, other: ImageProfile) -> ImageProfile:
        """The profile of both sets of images."""
        classes = None
        if self.class_counts is not None or other.class_counts is not None:
            classes = dict(Counter(self.class_counts or {}) + Counter(other.class_counts or {}))
        return ImageProfile(
            images=self.images + other.images,
            sizes=dict(Counter(self.sizes) + Counter(other.sizes)),
            formats=dict(Counter(self.formats) + Counter(other.formats)),
            columns={k: c.merge(other.columns[k], column=k) for k, c in self.columns.items()},
            class_counts=classes,
            unlabelled=self.unlabelled + other.unlabelled,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; ``from_dict`` reads it back."""
        return {
            "kind": "images",
            "images": self.images,
            "sizes": _ranked(self.sizes),
            "formats": _ranked(self.formats),
            "class_counts": _ranked(self.class_counts) if self.class_counts is not None else None,
            "unlabelled": self.unlabelled,
            "columns": {k: c.to_dict() for k, c in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageProfile:
        """Rebuilds a profile written by ``to_dict``."""
        try:
            if data["kind"] != "images":
                raise ValueError(f"kind is {data['kind']!r}, not 'images'")
            classes = data.get("class_counts")
            return cls(
                images=int(data["images"]),
                sizes={str(k): int(v) for k, v in data["sizes"].items()},
                formats={str(k): int(v) for k, v in data["formats"].items()},
                columns={k: ColumnProfile.from_dict(v) for k, v in data["columns"].items()},
                class_counts=None
                if classes is None
                else {str(k): int(v) for k, v in classes.items()},
                unlabelled=int(data.get("unlabelled", 0)),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(
                f"Not an image profile: {exc!s}.",
                hint="Pass a dict written by ImageProfile.to_dict().",
            ) from exc


def _ranked(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _columns(properties: Mapping[str, ImageProperties]) -> dict[str, NDArray[np.float64]]:
    if isinstance(properties, ImagePropertyTable):
        rgb = properties.column("mean_rgb").astype(np.float64).reshape(-1, 3)
        base = {k: properties.column(k).astype(np.float64) for k in IMAGE_MEASURES[:5]}
    else:
        items = list(properties.values())
        rgb = np.array([p.mean_rgb for p in items], dtype=np.float64).reshape(-1, 3)
        base = {k: np.array([getattr(p, k) for p in items], np.float64) for k in IMAGE_MEASURES[:5]}
    return {**base, "mean_red": rgb[:, 0], "mean_green": rgb[:, 1], "mean_blue": rgb[:, 2]}


def profile_images(
    properties: Mapping[str, ImageProperties], labels: Mapping[str, str | None] | None = None
) -> ImageProfile:
    """The profile of measured images (``ImageValidation.properties``, or a subset of it).

    ``labels`` (record id -> class) gives ``class_counts``; images without one are counted
    in ``unlabelled``. Merge the profiles of batches with ``ImageProfile.merge``.
    """
    columns = _columns(properties)
    width, height = columns["width"].astype(np.int64), columns["height"].astype(np.int64)
    if isinstance(properties, ImagePropertyTable):
        formats: Counter[str] = Counter(properties.formats)
    else:
        formats = Counter(p.format for p in properties.values())
    classes: Counter[str] | None = None
    unlabelled = 0
    if labels is not None:
        found = [labels.get(record) for record in properties]
        classes = Counter(str(c) for c in found if c is not None)
        unlabelled = sum(c is None for c in found)
    return ImageProfile(
        images=len(properties),
        sizes=dict(
            Counter(f"{w}x{h}" for w, h in zip(width.tolist(), height.tolist(), strict=True))
        ),
        formats=dict(formats),
        columns={
            name: ColumnProfile.numeric(values, 0, integer=name in ("width", "height"))
            for name, values in columns.items()
        },
        class_counts=None if classes is None else dict(classes),
        unlabelled=unlabelled,
    )
