"""ONNX export of a torch module with its parity check, and edge bundles (folder and zip)."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from pomona.errors import ConflictError
from pomona.registry import RegistryService
from pomona.registry.flavors._apple_cnn import AppleCNN


@cache
def _cancer() -> tuple[Pipeline, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y), X


def test_the_apple_cnn_exports_to_onnx_with_parity(registry: RegistryService) -> None:
    torch.manual_seed(0)
    model = AppleCNN(width=8).eval()
    registry.register("apples", model, input_example=torch.rand((3, 3, 64, 64)))
    export = registry.export_onnx("apples:1")
    assert export.parity_max_abs_diff < 1e-4
    assert export.outputs == {"predictions": "predictions"}
    assert registry.find_export("apples") == export


def test_an_edge_bundle_holds_model_signature_and_script(
    registry: RegistryService, tmp_path: Path
) -> None:
    model, X = _cancer()
    registry.register("cancer", model, input_example=X.iloc[:3])
    bundle = registry.build_edge_bundle("cancer", tmp_path / "bundle")
    names = sorted(p.name for p in bundle.iterdir())
    assert names == [
        "README.md",
        "input_example.json",
        "model.onnx",
        "predict.py",
        "signature.json",
    ]
    signature = json.loads((bundle / "signature.json").read_text())
    assert signature["model"] == "cancer:1" and signature["input_kind"] == "columns"
    assert registry.find_export("cancer:1") is not None  # exported on the way
    rows = X.iloc[:4].to_dict(orient="records")
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    out = subprocess.run(
        [sys.executable, "predict.py", str(tmp_path / "rows.json")],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["predictions"] == model.predict(X.iloc[:4]).tolist()
    np.testing.assert_allclose(result["probabilities"], model.predict_proba(X.iloc[:4]), atol=1e-6)
    archive = registry.build_edge_bundle("cancer:1", tmp_path / "zipped", archive=True)
    assert archive.name == "zipped.zip"
    assert sorted(zipfile.ZipFile(archive).namelist()) == names


def test_a_bundle_never_overwrites_a_folder(registry: RegistryService, tmp_path: Path) -> None:
    model, X = _cancer()
    registry.register("cancer", model, input_example=X)
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(ConflictError, match="already exists"):
        registry.build_edge_bundle("cancer", tmp_path / "taken")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
