"""scikit-learn estimators and pipelines, saved with skops (never pickle)."""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pomona.errors import InvalidInputError
from pomona.registry.errors import ExportNotSupportedError, UntrustedModelError
from pomona.registry.flavors.base import Array, Flavor, OnnxModel, mro_roots, require
from pomona.registry.signature import Signature, as_array, is_table

__all__ = ["TRUSTED_PREFIXES", "SklearnFlavor"]

FILE = "model.skops"
TRUSTED_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "collections.",
    "pomona.training.image_features.ImageFeatures",
)
"""Modules whose classes skops may rebuild without ``trust=True`` (functions need it);
``registry.trusted_modules`` adds whole modules."""


class SklearnFlavor(Flavor):
    """Any scikit-learn estimator or ``Pipeline``; files: ``model.skops``."""

    name: ClassVar[str] = "sklearn"
    extra: ClassVar[str] = "sklearn"
    files: ClassVar[tuple[str, ...]] = (FILE,)

    def handles(self, model: object) -> bool:
        return "sklearn" in mro_roots(model)

    def save(self, model: object, folder: Path, options: Mapping[str, Any]) -> list[str]:
        sio = require("skops.io", self.extra)
        sio.dump(model, folder / FILE)
        return [FILE]

    def load(
        self,
        folder: Path,
        *,
        trust: bool = False,
        device: str | None = None,
        trusted_modules: Sequence[str] = (),
    ) -> object:
        sio = require("skops.io", self.extra)
        path = folder / FILE
        untrusted: list[str] = sio.get_untrusted_types(file=path)
        if not trust:
            _refuse_untrusted(untrusted, trusted_modules)
        return sio.load(path, trusted=untrusted)

    def check_files(
        self,
        names: Collection[str],
        fetch: Callable[[str], Path],
        *,
        trusted_modules: Sequence[str] = (),
    ) -> None:
        super().check_files(names, fetch, trusted_modules=trusted_modules)
        if importlib.util.find_spec("skops") is None:
            return  # this server cannot load it either; load() checks where it is loaded
        sio = require("skops.io", self.extra)
        try:
            untrusted: list[str] = sio.get_untrusted_types(file=fetch(FILE))
        except Exception as exc:  # skops raises zipfile, JSON and its own errors
            raise InvalidInputError(
                f"{FILE} is not a skops file: {exc}.", details={"field": FILE}
            ) from exc
        _refuse_untrusted(untrusted, trusted_modules)

    def predict(self, model: object, inputs: object) -> Array:
        return np.asarray(model.predict(_input(inputs)))  # type: ignore[attr-defined]

    def has_proba(self, model: object) -> bool:
        return hasattr(model, "predict_proba") and hasattr(model, "classes_")

    def predict_proba(self, model: object, inputs: object) -> Array:
        if not self.has_proba(model):
            return super().predict_proba(model, inputs)
        return np.asarray(model.predict_proba(_input(inputs)))  # type: ignore[attr-defined]

    def predict_with_proba(self, model: object, inputs: object) -> tuple[Array, Array | None]:
        steps: Any = getattr(model, "steps", None)
        final: Any = steps[-1][1] if steps else None
        if not steps or len(steps) < 2 or not self.has_proba(model) or final == "passthrough":
            return super().predict_with_proba(model, inputs)
        # The transformers run once for both, step by step as Pipeline.predict runs them
        # (a sliced pipeline would refuse a stateless last step as not fitted).
        data = _input(inputs)
        for _, step in steps[:-1]:
            if step is not None and step != "passthrough":
                data = step.transform(data)
        return np.asarray(final.predict(data)), np.asarray(final.predict_proba(data))

    def to_onnx(self, model: object, signature: Signature, example: object) -> OnnxModel:
        require("skl2onnx", "onnx")
        from skl2onnx import convert_sklearn  # type: ignore[import-untyped,unused-ignore]
        from skl2onnx.common.data_types import (  # type: ignore[import-untyped,unused-ignore]
            DoubleTensorType,
            FloatTensorType,
            Int64TensorType,
        )

        dtype = _single_dtype(signature)
        types = {"float64": DoubleTensorType, "float32": FloatTensorType, "int64": Int64TensorType}
        width = len(signature.inputs) if signature.input_kind == "columns" else None
        shape = [None, width] if width else [None, *signature.inputs[0].shape[1:]]
        final = model.steps[-1][1] if hasattr(model, "steps") else model
        options = {id(final): {"zipmap": False}} if self.has_proba(model) else None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                proto = convert_sklearn(
                    model,
                    initial_types=[("input", types[dtype](shape))],
                    options=options,
                )
        except Exception as exc:  # skl2onnx raises many unrelated types for "no converter"
            raise ExportNotSupportedError(
                f"skl2onnx cannot convert this {type(model).__name__}: {str(exc).splitlines()[0]}",
                details={"model_type": type(model).__name__},
            ) from exc
        names = [o.name for o in proto.graph.output]
        outputs = {"predictions": names[0]}
        if len(names) > 1 and self.has_proba(model):
            outputs["probabilities"] = names[1]
        opset = max((o.version for o in proto.opset_import if o.domain == ""), default=None)
        return OnnxModel(proto.SerializeToString(), outputs, opset)


def _refuse_untrusted(untrusted: Sequence[str], trusted_modules: Sequence[str]) -> None:
    refused = [t for t in untrusted if not _is_trusted_type(t, trusted_modules)]
    if refused:
        raise UntrustedModelError(
            f"The model file holds types outside Pomona's allow-list: {', '.join(refused)}.",
            hint="Load it with trust=True only if you trust where it came from; or add their "
            "modules to registry.trusted_modules in the workspace's pomona.toml.",
            details={"field": f"{FILE} types", "types": refused},
        )


def _is_trusted_type(name: str, trusted_modules: Sequence[str] = ()) -> bool:
    """A class (not a function) defined under one name in scikit-learn, numpy,
    scipy.sparse, Pomona's stateless ``ImageFeatures``, or a module the owner trusts."""
    module, _, attr = name.rpartition(".")
    if not name.startswith(TRUSTED_PREFIXES) and module not in trusted_modules:
        return False
    try:
        found = vars(importlib.import_module(module)).get(attr)
    except ImportError:
        return False
    return isinstance(found, type) and found.__module__ == module and found.__qualname__ == attr


def _input(inputs: object) -> object:
    return inputs if is_table(inputs) else as_array(inputs)


def _single_dtype(signature: Signature) -> str:
    dtypes = {s.dtype for s in signature.inputs}
    if len(dtypes) != 1 or not dtypes <= {"float64", "float32", "int64"}:
        raise ExportNotSupportedError(
            f"ONNX export needs inputs of one numeric type; this model takes {sorted(dtypes)}.",
            hint="Cast the input columns to float64 before training, or export the model "
            "with its own flavor's tools.",
            details={"field": "signature.inputs"},
        )
    return dtypes.pop()
