"""The PyTorch flavor of training: the apple CNN with early stopping, saved by the registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pomona import training
from pomona.client import Workspace
from pomona.registry.flavors import flavor_for
from pomona.training._torch import TorchClassifier


def test_cnn_stops_early_and_round_trips_through_the_torch_flavor(
    tmp_path: Path, small_apples: tuple[Any, Any, Any]
) -> None:
    images, grades, _ = small_apples
    model = TorchClassifier(epochs=6, patience=1, width=4, lr=0.05, device="cpu").fit(
        images, grades
    )
    assert 1 <= len(model.history_) <= 6
    assert model.best_epoch_ == int(np.argmin([h["val_loss"] for h in model.history_]))
    proba = model.predict_proba(images[:5])
    assert proba.shape == (5, 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert set(model.predict(images)) <= {"bad", "good", "ok"}
    flavor = flavor_for(model)
    assert flavor.name == "torch"
    flavor.save(model, tmp_path, {})
    loaded = flavor.load(tmp_path, device="cpu")
    assert isinstance(loaded, TorchClassifier)
    np.testing.assert_allclose(loaded.predict_proba(images[:5]), proba, rtol=1e-5, atol=1e-6)


def test_train_logs_epochs_slices_and_thumbnails(
    tws: Workspace, small_apples: tuple[Any, Any, Any]
) -> None:
    images, grades, attrs = small_apples
    spec = training.torch(epochs=2, width=4, device="cpu")
    result = tws.train(
        spec,
        (images, grades),
        attributes=attrs,
        slices=["variety", "brightness"],
        dataset="apples:1",
    )
    history = tws.runs.get_metric_history(result.run_id, "val_loss")
    assert len(history) == len(result.model.history_) >= 1
    assert set(result.report.slices) == {"variety", "brightness"}
    thumbs = [w["thumbnail"] for w in result.report.worst]
    paths = {a.path for a in tws.runs.list_artifacts(result.run_id)}
    assert thumbs and set(thumbs) <= paths
    assert "model/model.safetensors" in paths


def test_torch_spec_refuses_regression_and_unknown_arch() -> None:
    from pomona.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="classifiers only"):
        training.torch().build("regression")
    with pytest.raises(InvalidInputError, match="Unknown architecture 'resnet'"):
        training.torch(arch="resnet").build("classification")


def test_without_a_device_training_and_loading_pick_cuda_only_when_present(
    tmp_path: Path,
) -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"  # CI: cpu; checked on an H100
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(24, 8, 8, 1), dtype=np.uint8)
    model = TorchClassifier(epochs=1, width=4).fit(images, np.array(["a", "b"] * 12))
    assert next(model.parameters()).device.type == expected
    assert model.init_kwargs["device"] is None  # the saved model does not pin a device
    flavor = flavor_for(model)
    flavor.save(model, tmp_path, {})
    loaded: Any = flavor.load(tmp_path)
    assert next(loaded.parameters()).device.type == expected
    on_cpu: Any = flavor.load(tmp_path, device="cpu")
    assert next(on_cpu.parameters()).device.type == "cpu"
    np.testing.assert_allclose(
        on_cpu.predict_proba(images), model.predict_proba(images), rtol=1e-3, atol=1e-3
    )
