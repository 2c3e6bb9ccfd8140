"""Image requests are decoded once; their logged properties are validation's measurements."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from pomona.datasets.checks._image_stats import analyse_chunk
from pomona.examples import apples
from pomona.serving._images import (
    ANALYSIS_SIZE,
    IMAGE_PROPERTIES,
    decode_images,
    image_properties,
)
from pomona.serving._inputs import InputSpec

SPEC = InputSpec("image", dtype="float32", layout="NHWC", height=64, width=64, channels=3)


def _encode(image: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()


def _validation_props(files: list[bytes]) -> dict[str, np.ndarray]:
    stats = analyse_chunk([(str(i), f) for i, f in enumerate(files)], ANALYSIS_SIZE)
    rgb = stats.mean_rgb
    return {
        "brightness": stats.brightness,
        "contrast": stats.contrast,
        "blur": stats.blur,
        "width": stats.width,
        "height": stats.height,
        "mean_r": rgb[:, 0],
        "mean_g": rgb[:, 1],
        "mean_b": rgb[:, 2],
    }


@pytest.mark.parametrize("kind", ["rgb", "mixed-modes", "large-jpeg"])
def test_request_properties_equal_validation_measurements(kind: str) -> None:
    photos, _ = apples.generate_apples(4, seed=5)
    files = [_encode(Image.fromarray(p), "PNG") for p in photos]
    if kind == "mixed-modes":
        files[1] = _encode(Image.fromarray(photos[1]).convert("RGBA"), "PNG")
        files[2] = _encode(Image.fromarray(photos[2]).convert("L"), "PNG")
        files[3] = _encode(Image.fromarray(photos[3]).resize((80, 48)), "PNG")
    if kind == "large-jpeg":  # over the analysis size: measured as validation decodes it
        files[0] = _encode(Image.fromarray(photos[0]).resize((600, 400)), "JPEG")
    inputs = decode_images(SPEC, files, max_bytes=10_000_000)
    assert inputs.images is not None and len(inputs.images) == 4
    assert inputs.images[0].shape[2] == 3 and inputs.files == files
    props = image_properties(inputs.files, inputs.images)
    expected = _validation_props(files)
    assert set(props) == set(IMAGE_PROPERTIES)
    for name in IMAGE_PROPERTIES:
        assert props[name] == pytest.approx(expected[name].astype(np.float64), abs=1e-4)
