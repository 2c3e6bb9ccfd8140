"""Image requests: decode, fit the model, measure (the same properties validation records).

The properties come from ``pomona.datasets``' own measuring code, so the ``in__brightness``
… columns of the prediction logs compare with a dataset's profile like for like. They are
measured by the prediction-log writer, many pictures at once, not per request.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.serving._inputs import Inputs, InputSpec

__all__ = [
    "IMAGE_PROPERTIES",
    "MAX_PIXELS",
    "ImageBudget",
    "ImageTooLargeError",
    "decode_images",
    "image_properties",
    "to_tensor",
]

MAX_PIXELS = 40_000_000
ANALYSIS_SIZE = 256
"""Validation's default ``ImageSuite.analysis_size``: properties are measured alike."""
IMAGE_PROPERTIES = (
    "brightness",
    "contrast",
    "blur",
    "width",
    "height",
    "mean_r",
    "mean_g",
    "mean_b",
)


class ImageTooLargeError(InvalidInputError):
    """An upload over the deployment's byte or pixel limit (HTTP 413)."""

    http_status = 413


Parser = Callable[[InputSpec], Inputs | list[bytes]]


@dataclass(frozen=True)
class ImageBudget:
    """What one request's images may cost a server, checked from their headers before any
    is decoded: at most ``max_images`` files and ``max_pixels`` pixels (width x height,
    summed). A 36 KB request of eight 6000x6000 1-bit PNGs decodes to 864 MB of RGB."""

    max_images: int
    max_pixels: int

    def check(self, files: Sequence[bytes]) -> None:
        """Raise ``ImageTooLargeError`` (413) naming the limit and its setting."""
        if len(files) > self.max_images:
            raise self.too_many(len(files))
        total = 0
        for i, data in enumerate(files):
            width, height = _header_size(data, i)
            total += width * height
            if total > self.max_pixels:
                raise _over(
                    f"The request's images add up to more than {self.max_pixels} pixels "
                    f"(width x height, summed; image {i} is {width}x{height}).",
                    "server.max_request_pixels",
                    self.max_pixels,
                )

    def too_many(self, count: int | None) -> ImageTooLargeError:
        """The error for ``count`` images (``None``: more than the limit, counting stopped)."""
        carried = f"{count} images" if count is not None else "more images"
        return _over(
            f"The request carries {carried}; this server takes at most {self.max_images} "
            "per request.",
            "server.max_request_images",
            self.max_images,
        )

    def guard(self, parse: Parser) -> Parser:
        """``parse``, with the images it returns checked against this budget."""

        def checked(spec: InputSpec) -> Inputs | list[bytes]:
            parsed = parse(spec)
            if isinstance(parsed, list):
                self.check(parsed)
            return parsed

        return checked


def _over(message: str, setting: str, limit: int) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"{message} ({setting})",
        hint=f"Send fewer or smaller images per request, or raise {setting} on the server.",
        details={"field": "image", "limit": limit, "setting": setting},
    )


@contextmanager
def _opened(data: bytes, index: int) -> Iterator[Any]:
    """The picture, opened lazily (Pillow's ``open`` reads only the header); a file Pillow
    cannot read is bad input, one past Pillow's own bomb limit is too large."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: our budget decides
            with Image.open(io.BytesIO(data)) as image:
                yield image
    except InvalidInputError:
        raise  # the caller's own refusal (ImageTooLargeError is one)
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"Image {index} is larger than the image decoder accepts: {exc}",
            hint="Send a smaller image.",
            details={"field": "image"},
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        why = (
            "it is not an image Pillow can read" if isinstance(exc, UnidentifiedImageError) else exc
        )
        raise InvalidInputError(
            f"Image {index} cannot be decoded: {why}.",
            hint="Send a PNG, JPEG, BMP or WebP file.",
            details={"field": "image"},
        ) from exc


def _header_size(data: bytes, index: int) -> tuple[int, int]:
    """Width and height from the file's header, no pixel data decoded."""
    with _opened(data, index) as image:
        width, height = image.size
        return int(width), int(height)


def _decode_one(data: bytes, index: int, channels: int) -> np.ndarray[Any, Any]:
    with _opened(data, index) as image:
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageTooLargeError(
                f"Image {index} has {width}x{height} pixels; the limit is {MAX_PIXELS}.",
                details={"field": "image"},
            )
        image.load()
        mode = "L" if channels == 1 else "RGB"
        return np.asarray(image if image.mode == mode else image.convert(mode))


def image_properties(
    files: Sequence[bytes], images: Sequence[np.ndarray[Any, Any]]
) -> dict[str, np.ndarray[Any, Any]]:
    """Validation's measurements of each picture. RGB pictures within the analysis size
    are measured as decoded (validation would measure the same pixels); others are decoded
    again as validation decodes them (draft mode, then a box-filter thumbnail)."""
    from pomona.datasets.checks._image_stats import ChunkStats, analyse_chunk, measure_decoded

    def columns(stats: ChunkStats) -> dict[str, np.ndarray[Any, Any]]:
        return {
            "brightness": stats.brightness,
            "contrast": stats.contrast,
            "blur": stats.blur,
            "width": stats.width,
            "height": stats.height,
            "mean_r": stats.mean_rgb[:, 0],
            "mean_g": stats.mean_rgb[:, 1],
            "mean_b": stats.mean_rgb[:, 2],
        }

    as_decoded = np.array(
        [i.ndim == 3 and i.shape[2] == 3 and max(i.shape[:2]) <= ANALYSIS_SIZE for i in images],
        dtype=bool,
    )
    out = {name: np.zeros(len(images), np.float64) for name in IMAGE_PROPERTIES}
    fast, slow = np.flatnonzero(as_decoded).tolist(), np.flatnonzero(~as_decoded).tolist()
    if len(fast):
        measured = columns(measure_decoded([images[i] for i in fast], dhash=False))
        for name, values in measured.items():
            out[name][fast] = values
    if len(slow):
        records = [(str(i), files[i]) for i in slow]
        for name, values in columns(analyse_chunk(records, ANALYSIS_SIZE)).items():
            out[name][slow] = values
    return out


def decode_images(spec: InputSpec, files: Sequence[bytes], max_bytes: int) -> Inputs:
    """Decoded pictures, with the files they came from (runs off the event loop).

    Raises:
        ImageTooLargeError: a file over ``max_bytes`` or too many pixels.
        InvalidInputError: a file that is not an image.
    """
    if not files:
        raise InvalidInputError("No image was sent.", details={"field": "image"})
    for i, data in enumerate(files):
        if len(data) > max_bytes:
            raise ImageTooLargeError(
                f"Image {i} has {len(data)} bytes; this deployment takes at most {max_bytes}.",
                details={"field": "image"},
            )
    images = [_decode_one(data, i, spec.channels) for i, data in enumerate(files)]
    return Inputs(len(images), images=images, files=list(files))


def _resize(image: np.ndarray[Any, Any], height: int, width: int) -> np.ndarray[Any, Any]:
    from PIL import Image

    if image.shape[:2] == (height, width):
        return image
    resized = Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def to_tensor(spec: InputSpec, images: list[np.ndarray[Any, Any]], prepare: Any | None) -> Any:
    """The model's input for decoded pictures: the recorded preparation (``prepare``) when
    there is one, else a resize to the model's size; then layout and dtype."""
    if prepare is not None:
        prepared = prepare.transform(images)
        batch = [np.asarray(p) for p in prepared]
    else:
        batch = [_resize(img, spec.height, spec.width) for img in images]
    shapes = {b.shape for b in batch}
    expected = (
        (spec.height, spec.width)
        if spec.channels == 1
        else (spec.height, spec.width, spec.channels)
    )
    if any(s[: len(expected)] != expected for s in shapes):
        raise InvalidInputError(
            f"Prepared images have shape {sorted(shapes)}; the model takes {list(expected)}.",
            hint="The preparation recorded with the model does not produce the model's input.",
            details={"field": "image"},
        )
    array = np.stack(batch)
    if spec.channels == 1 and array.ndim == 3:
        array = array[..., None]
    if spec.layout == "NCHW":
        array = array.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(array.astype(np.dtype(spec.dtype), copy=False))
