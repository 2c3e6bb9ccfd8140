"""ONNX export of LightGBM models (onnxmltools) and of a torch model on uint8 images: the
export's outputs match the native model's on all the data, through the edge bundle's script."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from pomona.registry import RegistryService
from pomona.registry.errors import ExportNotSupportedError
from pomona.training._torch import TorchClassifier


def _bundle_model(bundle: Path) -> Any:
    """The bundle's ``predict.Model``, imported from its file (it needs no Pomona)."""
    spec = importlib.util.spec_from_file_location(f"edge_{bundle.name}", bundle / "predict.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Model(bundle)


def _cancer() -> tuple[Any, Any, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y, X.to_dict(orient="records")


def _iris_named() -> tuple[Any, Any, Any]:
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y], X.tolist()


@pytest.mark.parametrize("data", [_cancer, _iris_named], ids=["binary-table", "named-classes"])
def test_a_lightgbm_classifier_exports_with_its_labels(
    registry: RegistryService, tmp_path: Path, data: Any
) -> None:
    X, y, rows = data()
    model = lgb.LGBMClassifier(n_estimators=40, verbose=-1).fit(X, y)
    version = registry.register("gbm", model, input_example=X[:5])
    export = registry.export_onnx(version.ref)
    assert export.outputs.keys() == {"predictions", "probabilities"}
    assert export.parity["predictions"] == 0.0  # the labels themselves, not class indices
    assert export.parity_max_abs_diff < 1e-5
    outputs = _bundle_model(registry.build_edge_bundle(version.ref, tmp_path / "bundle")).predict(
        rows
    )
    assert outputs["predictions"].tolist() == model.predict(X).tolist()  # all the data
    np.testing.assert_allclose(outputs["probabilities"], model.predict_proba(X), atol=1e-5)


def test_a_lightgbm_regressor_exports_within_float32_precision(
    registry: RegistryService, tmp_path: Path
) -> None:
    X, y = load_diabetes(return_X_y=True)
    model = lgb.LGBMRegressor(n_estimators=40, verbose=-1).fit(X, y)
    version = registry.register("sugar", model, input_example=X[:5])
    export = registry.export_onnx(version.ref, tolerance=1e-3)  # float32 arithmetic
    assert export.outputs == {"predictions": "variable"}
    outputs = _bundle_model(registry.build_edge_bundle(version.ref, tmp_path / "bundle")).predict(
        X.tolist()
    )
    np.testing.assert_allclose(outputs["predictions"].ravel(), model.predict(X), rtol=1e-5)


def test_a_classifier_booster_without_labels_is_refused(registry: RegistryService) -> None:
    X, y, _ = _cancer()
    booster = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y).booster_
    version = registry.register("raw", booster, input_example=X[:3])
    with pytest.raises(ExportNotSupportedError, match="without its class labels"):
        registry.export_onnx(version.ref)
    assert registry.find_export(version.ref) is None


def test_a_torch_model_on_uint8_images_exports_with_parity(
    registry: RegistryService, tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(24, 8, 8, 1), dtype=np.uint8)
    labels = np.array(["bad", "good"] * 12)
    model = TorchClassifier(epochs=1, width=4, device="cpu").fit(images, labels)
    version = registry.register("spots", model, input_example=images[:4])
    assert version.signature.inputs[0].dtype == "uint8"
    export = registry.export_onnx(version.ref)  # the ONNX model takes float32: fed as such
    assert export.parity_max_abs_diff < 1e-4
    outputs = _bundle_model(registry.build_edge_bundle(version.ref, tmp_path / "bundle")).predict(
        images.tolist()
    )
    logits = outputs["predictions"]
    assert logits.shape == (24, 2)
    assert (
        np.array(model.classes_)[logits.argmax(axis=1)].tolist() == model.predict(images).tolist()
    )
