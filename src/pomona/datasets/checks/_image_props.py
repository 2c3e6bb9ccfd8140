"""What validation measured on each decodable image, stored as columns."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.datasets.checks._image_stats import ChunkStats, empty_stats
from pomona.errors import InvalidInputError

__all__ = ["ImageProperties", "ImagePropertyTable"]

_NUMERIC = ("width", "height", "n_bytes", "brightness", "contrast", "blur")


@dataclass(frozen=True)
class ImageProperties:
    """Measurements of one decodable image (see ``pomona.datasets.checks``)."""

    width: int
    height: int
    format: str
    """Pillow's format name: PNG, JPEG, BMP..."""
    mode: str
    """Pillow's mode before conversion to RGB: RGB, RGBA, L, P..."""
    n_bytes: int
    sha256: str
    brightness: float
    """Mean grey level / 255."""
    contrast: float
    """Standard deviation of the grey level / 255."""
    blur: float
    """Variance of the Laplacian of the grey image (0..255); lower is blurrier."""
    mean_rgb: tuple[float, float, float]
    phash: str
    """Perceptual hash: 256-bit dHash as 64 hex digits (compare with ``hamming_distance``)."""

    @property
    def aspect_ratio(self) -> float:
        """Longer side / shorter side."""
        return max(self.width, self.height) / max(1, min(self.width, self.height))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``from_dict`` reads it back)."""
        data = asdict(self)
        data["mean_rgb"] = list(self.mean_rgb)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageProperties:
        """Rebuilds properties written by ``to_dict``."""
        try:
            red, green, blue = (float(v) for v in data["mean_rgb"])
            return cls(
                width=int(data["width"]),
                height=int(data["height"]),
                format=str(data["format"]),
                mode=str(data["mode"]),
                n_bytes=int(data["n_bytes"]),
                sha256=str(data["sha256"]),
                brightness=float(data["brightness"]),
                contrast=float(data["contrast"]),
                blur=float(data["blur"]),
                mean_rgb=(red, green, blue),
                phash=str(data["phash"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"Not image properties: {exc!s}.",
                hint="Pass a dict written by ImageProperties.to_dict().",
            ) from exc


class ImagePropertyTable(Mapping[str, ImageProperties]):
    """Record id -> ``ImageProperties``, kept as numpy columns (about 140 bytes a record).

    ``column(name)`` gives a whole column as an array (width, height, n_bytes, brightness,
    contrast, blur, mean_rgb) for vectorised use such as profiling.
    """

    def __init__(self, chunks: Sequence[ChunkStats]) -> None:
        chunks = list(chunks) or [empty_stats(0)]
        masks = [c.decoded for c in chunks]
        self._ids = [
            i
            for c, m in zip(chunks, masks, strict=True)
            for i, ok in zip(c.ids, m, strict=True)
            if ok
        ]
        self._text = {
            name: [
                v
                for c, m in zip(chunks, masks, strict=True)
                for v, ok in zip(getattr(c, name), m, strict=True)
                if ok
            ]
            for name in ("formats", "modes")
        }
        self._columns: dict[str, NDArray[Any]] = {
            name: np.concatenate([getattr(c, name)[m] for c, m in zip(chunks, masks, strict=True)])
            for name in (*_NUMERIC, "mean_rgb", "dhash", "sha256")
        }
        self._index: dict[str, int] | None = None

    def column(self, name: str) -> NDArray[Any]:
        """One measurement for every image, in record order."""
        if name not in self._columns or name in ("dhash", "sha256"):
            raise InvalidInputError(
                f"No image property column '{name}'.",
                hint=f"Pick one of: {', '.join((*_NUMERIC, 'mean_rgb'))}.",
                details={"field": "name"},
            )
        return self._columns[name]

    @property
    def formats(self) -> list[str]:
        """The format of every image, in record order."""
        return list(self._text["formats"])

    @property
    def hashes(self) -> NDArray[np.uint8]:
        """(n, 32) dHash bytes, in record order."""
        return self._columns["dhash"]

    def __getitem__(self, record_id: str) -> ImageProperties:
        if self._index is None:
            self._index = {r: i for i, r in enumerate(self._ids)}
        i = self._index[record_id]
        col = self._columns
        red, green, blue = (float(v) for v in col["mean_rgb"][i])
        return ImageProperties(
            width=int(col["width"][i]),
            height=int(col["height"][i]),
            format=self._text["formats"][i],
            mode=self._text["modes"][i],
            n_bytes=int(col["n_bytes"][i]),
            sha256=col["sha256"][i].tobytes().hex(),
            brightness=float(col["brightness"][i]),
            contrast=float(col["contrast"][i]),
            blur=float(col["blur"][i]),
            mean_rgb=(red, green, blue),
            phash=col["dhash"][i].tobytes().hex(),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)
