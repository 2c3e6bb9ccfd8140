"""LightGBM boosters and their scikit-learn wrappers, saved in LightGBM's own text format."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pomona.registry.flavors.base import Array, Flavor, OnnxModel, mro_roots, require
from pomona.registry.signature import Signature, as_array, is_table

__all__ = ["LightGBMFlavor", "LightGBMModel"]

MODEL_FILE = "model.txt"
META_FILE = "lightgbm.json"


class LightGBMModel:
    """A loaded LightGBM model: the booster and, for a classifier, its class labels.

    ``predict`` returns labels for a classifier and raw predictions otherwise, as the
    scikit-learn wrappers do; ``predict_proba`` gives one column per class.
    """

    def __init__(self, booster: Any, classes: list[Any] | None) -> None:
        self.booster = booster
        self.classes_ = None if classes is None else np.asarray(classes)

    def _raw(self, inputs: object) -> Array:
        data = inputs if is_table(inputs) else as_array(inputs)
        return np.asarray(self.booster.predict(data))

    def predict_proba(self, inputs: object) -> Array:
        raw = self._raw(inputs)
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw

    def predict(self, inputs: object) -> Array:
        if self.classes_ is None:
            return self._raw(inputs)
        return np.asarray(self.classes_[np.argmax(self.predict_proba(inputs), axis=1)])


class LightGBMFlavor(Flavor):
    """``lightgbm.Booster`` and ``LGBMClassifier``/``LGBMRegressor``; files: ``model.txt``.

    ONNX export goes through onnxmltools (``pomona[onnx]``), with float32 inputs."""

    name: ClassVar[str] = "lightgbm"
    extra: ClassVar[str] = "lightgbm"
    files: ClassVar[tuple[str, ...]] = (MODEL_FILE, META_FILE)

    def handles(self, model: object) -> bool:
        return "lightgbm" in mro_roots(model) or isinstance(model, LightGBMModel)

    def save(self, model: object, folder: Path, options: Mapping[str, Any]) -> list[str]:
        require("lightgbm", self.extra)
        booster: Any = getattr(model, "booster_", None) or getattr(model, "booster", model)
        classes = getattr(model, "classes_", None)
        booster.save_model(str(folder / MODEL_FILE))
        meta = {"classes": None if classes is None else np.asarray(classes).tolist()}
        (folder / META_FILE).write_text(json.dumps(meta))
        return [MODEL_FILE, META_FILE]

    def load(
        self,
        folder: Path,
        *,
        trust: bool = False,
        device: str | None = None,
        trusted_modules: Sequence[str] = (),
    ) -> object:
        lgb = require("lightgbm", self.extra)
        booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
        meta = json.loads((folder / META_FILE).read_text())
        return LightGBMModel(booster, meta.get("classes"))

    def predict(self, model: object, inputs: object) -> Array:
        return np.asarray(self._wrap(model).predict(inputs))

    def has_proba(self, model: object) -> bool:
        return getattr(model, "classes_", None) is not None

    def predict_proba(self, model: object, inputs: object) -> Array:
        if not self.has_proba(model):
            return super().predict_proba(model, inputs)
        return self._wrap(model).predict_proba(inputs)

    def to_onnx(self, model: object, signature: Signature, example: object) -> OnnxModel:
        from pomona.registry.flavors._lightgbm_onnx import lightgbm_to_onnx

        wrapped = self._wrap(model)
        return lightgbm_to_onnx(wrapped.booster, wrapped.classes_, signature)

    def _wrap(self, model: object) -> LightGBMModel:
        if isinstance(model, LightGBMModel):
            return model
        if hasattr(model, "booster_"):
            return LightGBMModel(model.booster_, getattr(model, "classes_", None))
        return LightGBMModel(model, None)
