"""Image transforms on uint8 RGB arrays: one image (h, w, 3), a batch (n, h, w, 3) or a list.

Pillow resizes, crops and stretches contrast; numpy does the arithmetic. A single image
and a batch go through the same per-image code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

from pomona.datasets.transforms._base import Transform
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "AutoContrast",
    "CenterCrop",
    "ImageStandardize",
    "ImageTransform",
    "NormalizeBrightness",
    "Resize",
]

D = TypeVar("D")
Pixels = NDArray[np.uint8]
Resample = Literal["nearest", "bilinear", "bicubic", "lanczos", "box"]
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _rgb(image: Any) -> Pixels:
    from PIL import Image

    if isinstance(image, Image.Image):
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise InvalidInputError(
            f"Images must be uint8 arrays (0..255), got {array.dtype}.",
            hint="Convert with np.clip(x, 0, 255).astype(np.uint8).",
            details={"field": "data"},
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise InvalidInputError(
            f"An image must be (height, width) or (height, width, 1|3|4), got {array.shape}.",
            details={"field": "data"},
        )
    if array.shape[2] == 1:
        return np.repeat(array, 3, axis=2)
    return array[:, :, :3]


def _split(data: object) -> tuple[list[Pixels], Literal["single", "array", "list"]]:
    from PIL import Image

    if isinstance(data, Image.Image):
        return [_rgb(data)], "single"
    if isinstance(data, np.ndarray):
        if data.ndim == 4:
            return [_rgb(image) for image in data], "array"
        return [_rgb(data)], "single"
    if isinstance(data, list | tuple):
        return [_rgb(image) for image in data], "list"
    raise InvalidInputError(
        f"An image transform takes an array, a PIL image or a list of them, "
        f"got {type(data).__name__}.",
        details={"field": "data"},
    )


def _resample(name: str) -> Image.Resampling:
    from PIL import Image

    try:
        return Image.Resampling[name.upper()]
    except KeyError:
        raise InvalidInputError(
            f"Unknown resampling '{name}'.",
            hint="Use nearest, bilinear, bicubic, lanczos or box.",
            details={"field": "resample"},
        ) from None


def _size(width: int, height: int | None) -> tuple[int, int]:
    size = (int(width), int(width if height is None else height))
    if min(size) < 1:
        raise InvalidInputError(
            f"Image sizes must be positive, got {size}.", details={"field": "size"}
        )
    return size


class ImageTransform(Transform):
    """Base of image transforms: ``_apply`` maps one RGB image to another."""

    def fit(self, data: object) -> Self:
        images, _ = _split(data)
        self._fit(images)
        return self

    def transform(self, data: D) -> D:
        self._require_fitted()
        images, kind = _split(data)
        out = [self._apply(image) for image in images]
        if kind == "single":
            return cast(D, out[0])
        if kind == "array":
            return cast(D, np.stack(out) if out else np.empty((0, 0, 0, 3), np.uint8))
        return cast(D, out)

    def _fit(self, images: list[Pixels]) -> None:
        """Learns the state (stateless transforms: nothing)."""

    def _apply(self, image: Pixels) -> Pixels:
        raise NotImplementedError


class Resize(ImageTransform):
    """Resizes to ``width`` x ``height`` (square when no height), ignoring the aspect ratio."""

    name = "Resize"
    params = ("width", "height", "resample")

    def __init__(
        self, width: int, height: int | None = None, resample: Resample = "bilinear"
    ) -> None:
        self.width, self.height = _size(width, height)
        self.resample = resample
        _resample(resample)

    def _apply(self, image: Pixels) -> Pixels:
        from PIL import Image

        resized = Image.fromarray(image).resize((self.width, self.height), _resample(self.resample))
        return np.asarray(resized)


class CenterCrop(ImageTransform):
    """Keeps the central ``width`` x ``height`` pixels (all of a side that is shorter)."""

    name = "CenterCrop"
    params = ("width", "height")

    def __init__(self, width: int, height: int | None = None) -> None:
        self.width, self.height = _size(width, height)

    def _apply(self, image: Pixels) -> Pixels:
        h, w = image.shape[:2]
        top, left = max(0, (h - self.height) // 2), max(0, (w - self.width) // 2)
        return np.ascontiguousarray(image[top : top + self.height, left : left + self.width])


class ImageStandardize(ImageTransform):
    """The standard resolution: ``size`` x ``size`` RGB; with ``keep_aspect`` the shorter side
    is resized to ``size`` and the centre cropped, otherwise the image is stretched."""

    name = "ImageStandardize"
    params = ("size", "keep_aspect", "resample")

    def __init__(
        self, size: int = 64, keep_aspect: bool = True, resample: Resample = "bilinear"
    ) -> None:
        self.size = _size(size, None)[0]
        self.keep_aspect = bool(keep_aspect)
        self.resample = resample
        _resample(resample)

    def _apply(self, image: Pixels) -> Pixels:
        from PIL import Image

        h, w = image.shape[:2]
        if (h, w) == (self.size, self.size):
            return image
        picture = Image.fromarray(image)
        method = _resample(self.resample)
        if not self.keep_aspect:
            return np.asarray(picture.resize((self.size, self.size), method))
        scale = self.size / min(h, w)
        width, height = max(self.size, round(w * scale)), max(self.size, round(h * scale))
        left, top = (width - self.size) // 2, (height - self.size) // 2
        box = (left, top, left + self.size, top + self.size)
        return np.asarray(picture.resize((width, height), method).crop(box))


class AutoContrast(ImageTransform):
    """Stretches each channel to 0..255, ignoring ``cutoff`` percent of the darkest and lightest."""

    name = "AutoContrast"
    params = ("cutoff",)

    def __init__(self, cutoff: float = 0.0) -> None:
        if not 0.0 <= cutoff < 50.0:
            raise InvalidInputError(
                f"cutoff must be a percentage in [0, 50), got {cutoff}.",
                details={"field": "cutoff"},
            )
        self.cutoff = float(cutoff)

    def _apply(self, image: Pixels) -> Pixels:
        from PIL import Image, ImageOps

        return np.asarray(ImageOps.autocontrast(Image.fromarray(image), cutoff=self.cutoff))


def _brightness(image: Pixels) -> float:
    return float((image.astype(np.float32) @ _LUMA).mean() / 255.0)


class NormalizeBrightness(ImageTransform):
    """Scales each image so its mean grey level is ``target`` (0..1); without a target, the
    mean brightness of the images it was fitted on."""

    name = "NormalizeBrightness"
    params = ("target",)
    stateful = True

    def __init__(self, target: float | None = None) -> None:
        if target is not None and not 0.0 < target <= 1.0:
            raise InvalidInputError(
                f"target brightness must be in (0, 1], got {target}.", details={"field": "target"}
            )
        self.target = target
        self.target_: float | None = target

    def _fit(self, images: Sequence[Pixels]) -> None:
        if self.target is None:
            if not images:
                raise InvalidInputError("NormalizeBrightness cannot fit on no images.")
            self.target_ = float(np.mean([_brightness(image) for image in images]))
        else:
            self.target_ = self.target

    def _apply(self, image: Pixels) -> Pixels:
        assert self.target_ is not None
        factor = self.target_ / max(_brightness(image), 1e-3)
        scaled = np.rint(image.astype(np.float32) * np.float32(factor))
        out: Pixels = np.clip(scaled, 0, 255).astype(np.uint8)
        return out

    def _state(self) -> dict[str, Any] | None:
        return None if self.target_ is None else {"target": self.target_}

    def _load_state(self, state: Any) -> None:
        self.target_ = float(state["target"])
