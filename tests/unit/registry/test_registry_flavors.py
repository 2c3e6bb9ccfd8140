"""Each flavor saves with a safe format, loads back to the same predictions, and refuses
code it does not trust unless told to."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from pomona.errors import InvalidInputError
from pomona.registry import RegistryService, UntrustedModelError, flavor_for, get_flavor
from pomona.registry.flavors._apple_cnn import AppleCNN
from pomona.registry.flavors.lightgbm import LightGBMModel


class ScaledLogistic(LogisticRegression):
    """A user's own estimator class: skops rebuilds it only with trust=True."""


class TinyNet(torch.nn.Module):
    """A user's own module: importing its module is allowed only with trust=True."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)  # type: ignore[no-any-return]


def test_flavors_are_detected_from_the_model() -> None:
    assert flavor_for(LogisticRegression()).name == "sklearn"
    assert flavor_for(lgb.LGBMClassifier()).name == "lightgbm"
    assert flavor_for(AppleCNN()).name == "torch"
    with pytest.raises(InvalidInputError, match=r"No model flavor handles a builtins\.dict"):
        flavor_for({})
    with pytest.raises(InvalidInputError, match="Unknown model flavor 'onnx'"):
        get_flavor("onnx")
    with pytest.raises(UntrustedModelError, match="module path"):
        get_flavor("evil.module:Flavor")


def test_the_sklearn_flavor_refuses_types_outside_its_allow_list(
    registry: RegistryService,
) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :5]
    model = ScaledLogistic(max_iter=300).fit(X, y)
    registry.register("custom", model, input_example=X)
    with pytest.raises(UntrustedModelError, match="ScaledLogistic") as info:
        registry.load("custom")
    assert "trust=True" in str(info.value)
    loaded = registry.load("custom", trust=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_trees_load_without_trust(registry: RegistryService) -> None:
    X, y = load_digits(return_X_y=True)
    model = DecisionTreeClassifier(max_depth=8, random_state=0).fit(X, y)
    registry.register("tree", model, input_example=X)
    np.testing.assert_array_equal(registry.load("tree").predict(X), model.predict(X))


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_lightgbm_models_round_trip_in_their_text_format(
    registry: RegistryService, kind: str
) -> None:
    X, y = (
        load_digits(return_X_y=True)
        if kind == "multiclass"
        else load_breast_cancer(return_X_y=True)
    )
    params = {"n_estimators": 20, "num_leaves": 8, "verbose": -1}
    model = lgb.LGBMRegressor(**params) if kind == "regression" else lgb.LGBMClassifier(**params)
    model.fit(X, y.astype(float) if kind == "regression" else y)
    version = registry.register("gbm", model, input_example=X)
    assert version.flavor == "lightgbm"
    assert sorted(f.path for f in version.files) == [
        "input_example.json",
        "lightgbm.json",
        "model.txt",
    ]
    loaded = registry.load("gbm")
    assert isinstance(loaded.model, LightGBMModel)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    if kind != "regression":
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))
        assert [s.name for s in version.signature.outputs] == ["predictions", "probabilities"]


def test_the_apple_cnn_round_trips_through_safetensors(registry: RegistryService) -> None:
    torch.manual_seed(0)
    model = AppleCNN(n_classes=3, width=8).eval()
    images = torch.rand((6, 3, 64, 64))
    version = registry.register("apples", model, input_example=images)
    assert version.flavor == "torch"
    assert version.signature.inputs[0].shape == (-1, 3, 64, 64)
    assert sorted(f.path for f in version.files) == [
        "input_example.json",
        "model.safetensors",
        "torch.json",
    ]
    loaded = registry.load("apples", device="cpu")
    assert isinstance(loaded.model, AppleCNN) and loaded.model.init_kwargs["width"] == 8
    with torch.inference_mode():
        expected = model(images).numpy()
    np.testing.assert_allclose(loaded.predict(images.numpy()), expected, rtol=1e-5, atol=1e-6)
    probabilities = loaded.predict_proba(images)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    default = registry.load("apples")  # CUDA when available, else the CPU
    device = next(default.model.parameters()).device.type  # type: ignore[attr-defined]
    assert device == ("cuda" if torch.cuda.is_available() else "cpu")


def test_a_torch_module_from_an_untrusted_module_needs_trust(registry: RegistryService) -> None:
    model = TinyNet().eval()
    registry.register("tiny", model, input_example=np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(UntrustedModelError, match="imports module"):
        registry.load("tiny")
    loaded = registry.load("tiny", trust=True, device="cpu")
    x = np.ones((3, 4), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x), model(torch.from_numpy(x)).detach().numpy())


def test_a_module_that_cannot_be_imported_again_is_refused(registry: RegistryService) -> None:
    class Local(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    with pytest.raises(InvalidInputError, match="not importable"):
        registry.register("local", Local(), input_example=np.zeros((1, 2), dtype=np.float32))
    assert registry.list_models().items == []


def test_constructor_arguments_come_from_the_register_options(registry: RegistryService) -> None:
    model = torch.nn.Linear(3, 2)
    example = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(InvalidInputError, match="needs in_features, out_features"):
        registry.register("linear", model, input_example=example)
    registry.register(
        "linear", model, input_example=example,
        options={"init_kwargs": {"in_features": 3, "out_features": 2}},
    )  # fmt: skip
    x = np.ones((4, 3), dtype=np.float32)
    loaded = registry.load("linear", device="cpu")
    np.testing.assert_allclose(loaded.predict(x), model(torch.from_numpy(x)).detach().numpy())


class Doubler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A stateless step with no fitted attributes (sklearn calls such a step unfitted)."""

    def fit(self, X: object, y: object = None) -> Doubler:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X) * 2.0


@pytest.mark.parametrize("kind", ["pipeline", "stateless-step", "estimator", "torch", "lightgbm"])
def test_predictions_with_probabilities_in_one_pass_equal_the_two_calls(kind: str) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    model: object
    if kind == "pipeline":
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    elif kind == "stateless-step":
        model = make_pipeline(StandardScaler(), Doubler(), LogisticRegression(max_iter=500))
        model.fit(X, y)
    elif kind == "estimator":
        model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    elif kind == "lightgbm":
        model = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    else:
        torch.manual_seed(0)
        model = TinyNet(width=X.shape[1]).eval()
        X = X.astype(np.float32)
    flavor = flavor_for(model)
    raw, proba = flavor.predict_with_proba(model, X[:50])
    assert np.array_equal(raw, flavor.predict(model, X[:50]))
    assert proba is not None
    assert np.allclose(proba, flavor.predict_proba(model, X[:50]), rtol=0, atol=1e-12)
    assert np.allclose(proba.sum(axis=1), 1.0)
