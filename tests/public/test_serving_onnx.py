"""Serving through ONNX Runtime: the same answers as the native model."""

from __future__ import annotations

import base64
from pathlib import Path

import pomona as pm
from pomona.testing.serving import apple_png, register_apple_model


def test_an_image_model_answers_the_same_through_onnx_runtime(tmp_path: Path) -> None:
    with pm.connect(str(tmp_path)) as ws:
        version = register_apple_model(ws, n=8, epochs=0)  # uint8 photos in its signature
        ws.models.export_onnx(str(version.ref))
        ws.deployments.create("native", model=str(version.ref), options={"runtime": "native"})
        ws.deployments.create("onnx", model=str(version.ref), options={"runtime": "onnx"})
        photos = [base64.b64encode(apple_png(seed)).decode("ascii") for seed in range(4)]
        native = ws.deployments.predict("native", {"images": photos})
        onnx = ws.deployments.predict("onnx", {"images": photos})
        assert onnx["predictions"] == native["predictions"]
        for a, b in zip(onnx["confidence"], native["confidence"], strict=True):
            assert abs(a - b) < 1e-4
        assert ws.deployments.status("onnx")["models"]["primary"]["engine"] == "onnx"
