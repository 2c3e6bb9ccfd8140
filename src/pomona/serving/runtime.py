"""One model version loaded for serving: native flavor or ONNX Runtime, with its preparation.

A version is loaded through the registry, which verifies every file's digest. When the
version has an ONNX export and the deployment allows it, predictions come from ONNX
Runtime (the export passed a parity check when it was made); the native model still
gives the class names.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from pomona.registry.base import ModelRegistry
from pomona.registry.records import ModelVersion
from pomona.serving._images import to_tensor
from pomona.serving._inputs import Inputs, InputSpec

__all__ = ["ModelRuntime", "Outputs", "Preparation", "TransformHook"]

log = logging.getLogger("pomona.serving")


class Preparation(Protocol):
    """A fitted preparation transform (``pomona.datasets.transforms.Transform``).

    A table transform that changes the columns (drops, encodes) also has
    ``input_columns``: the ``(name, dtype)`` it takes, which requests must then carry
    instead of the model's own inputs.
    """

    def transform(self, data: Any) -> Any: ...


TransformHook = Callable[[ModelVersion], Preparation | None]
"""Returns the preparation recorded with a version's training data, if any (the client
wires it to the datasets service)."""


@dataclass
class Outputs:
    """A batch's results: labels (JSON-able), class probabilities, class names."""

    labels: list[Any]
    proba: np.ndarray[Any, Any] | None
    classes: list[str] | None


class ModelRuntime:
    """A loaded version: ``predict(inputs)`` runs the model on a batch (thread-safe).

    Args:
        registry: loads the version (digests verified) and its ONNX export.
        ref: ``name:N``.
        runtime: ``auto`` | ``native`` | ``onnx``.
        transforms: finds the version's preparation transform.
    """

    def __init__(
        self,
        registry: ModelRegistry,
        ref: str,
        *,
        runtime: str = "auto",
        transforms: TransformHook | None = None,
    ) -> None:
        self.registry = registry
        self.ref = ref
        self.runtime = runtime
        self._transforms = transforms
        self._lock = threading.Lock()
        self.version: ModelVersion | None = None
        self.spec = InputSpec("tensor")
        self.engine = ""
        self.classes: list[str] | None = None
        self._native: Any = None
        self._onnx: Any = None
        self._onnx_outputs: dict[str, str] = {}
        self._onnx_dtype: str | None = None
        self._model_columns: list[str] = []
        self._prepare: Preparation | None = None

    def load(self) -> ModelRuntime:
        """Load the model (blocking: call it off the event loop)."""
        loaded = self.registry.load(self.ref, device="cpu")
        self.version = loaded.version
        self.spec = InputSpec.from_signature(loaded.signature)
        self._native = loaded
        classes = getattr(loaded.model, "classes_", None)
        if classes is not None and loaded.has_proba:
            self.classes = [str(c) for c in np.asarray(classes).tolist()]
        self._class_values = None if classes is None else np.asarray(classes)
        self._prepare = self._transforms(loaded.version) if self._transforms else None
        raw = getattr(self._prepare, "input_columns", None)
        if raw and self.spec.kind == "columns":  # requests carry what the transform takes
            self._model_columns = [name for name, _ in self.spec.columns]
            self.spec = InputSpec("columns", columns=tuple(raw))
        self.engine = loaded.flavor.name
        if self.runtime != "native":
            self._load_onnx()
        self._warm_up()
        return self

    def _warm_up(self) -> None:
        """Predict the version's stored example once, so the first live requests do not
        pay for lazy imports and first-call set-up (a canary would look slow otherwise)."""
        assert self.version is not None
        example = self.registry.input_example(self.version.ref)
        if example is None:
            return
        try:
            with self._lock:
                self._native.predict(example)
                if self._native.has_proba:
                    self._native.predict_proba(example)
        except Exception as exc:  # a model that cannot run its example fails on requests
            log.warning("Warm-up of %s failed: %s", self.ref, exc)

    def _load_onnx(self) -> None:
        from pomona.errors import ConfigError

        assert self.version is not None
        export = self.registry.find_export(self.version.ref)
        if export is None:
            if self.runtime == "onnx":
                raise ConfigError(
                    f"{self.version.ref} has no ONNX export but the deployment asks for onnx.",
                    hint=f"Run 'pomona models export {self.version.name} "
                    f"{self.version.version}' or set runtime to auto.",
                )
            return
        from pomona.registry.flavors.base import require

        ort = require("onnxruntime", "onnx")
        with tempfile.TemporaryDirectory(prefix="pomona-serve-") as tmp:
            folder = self.registry.build_edge_bundle(self.version.ref, Path(tmp) / "bundle")
            data = (folder / "model.onnx").read_bytes()
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        from pomona.registry._onnx import onnx_input_dtype

        self._onnx = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        self._onnx_outputs = dict(export.outputs)
        self._onnx_dtype = onnx_input_dtype(self._onnx)  # float32 for photos logged as uint8
        self.engine = "onnx"

    # --- running ------------------------------------------------------------------------

    def model_input(self, batch: Inputs, *, onnx: bool) -> Any:
        """What the model takes for a batch: a DataFrame or stacked array, or a tensor."""
        spec = self.spec
        if spec.kind == "columns":
            assert batch.columns is not None
            if onnx:
                dtype = spec.columns[0][1]
                return np.column_stack([batch.columns[n] for n, _ in spec.columns]).astype(dtype)
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]

            frame = pd.DataFrame(
                {n: _cast(batch.columns[n], d) for n, d in spec.columns}, copy=False
            )
            if self._prepare is None:
                return frame
            prepared = self._prepare.transform(frame)
            return prepared[self._model_columns] if self._model_columns else prepared
        if spec.is_image and batch.images is not None:
            return to_tensor(spec, batch.images, self._prepare)
        assert batch.tensor is not None
        tensor = batch.tensor
        if self._prepare is not None:
            tensor = np.asarray(self._prepare.transform(tensor))
        return tensor.astype(np.dtype(spec.dtype), copy=False)

    def predict(self, batch: Inputs) -> Outputs:
        """Run the model on a batch (the worker thread calls it)."""
        if self._onnx is not None and not (
            self._prepare is not None and self.spec.kind == "columns"
        ):
            return self._predict_onnx(self.model_input(batch, onnx=True))
        return self._predict_native(self.model_input(batch, onnx=False))

    def _predict_native(self, data: Any) -> Outputs:
        with self._lock:
            raw, proba = self._native.predict_with_proba(data)
        return self._outputs(np.asarray(raw), None if proba is None else np.asarray(proba))

    def _predict_onnx(self, feed: Any) -> Outputs:
        session = self._onnx
        name = session.get_inputs()[0].name
        if self._onnx_dtype is not None:
            feed = np.asarray(feed).astype(self._onnx_dtype, copy=False)
        wanted = [
            self._onnx_outputs[k]
            for k in ("predictions", "probabilities")
            if k in self._onnx_outputs
        ]
        results = dict(zip(wanted, session.run(wanted, {name: feed}), strict=True))
        raw = np.asarray(results[self._onnx_outputs["predictions"]])
        proba_name = self._onnx_outputs.get("probabilities")
        proba = None if proba_name is None else np.asarray(results[proba_name])
        if proba is None and self._native.has_proba and raw.ndim == 2 and raw.dtype.kind == "f":
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))  # logits, as the flavor does
            proba = shifted / shifted.sum(axis=1, keepdims=True)
        return self._outputs(raw, proba)

    def _outputs(self, raw: np.ndarray[Any, Any], proba: np.ndarray[Any, Any] | None) -> Outputs:
        if raw.ndim == 2 and raw.dtype.kind == "f" and proba is not None:
            index = proba.argmax(axis=1)
            values = self._class_values
            labels = (values[index] if values is not None else index).tolist()
        else:
            labels = raw.reshape(len(raw), -1)[:, 0].tolist() if raw.ndim > 1 else raw.tolist()
        if proba is not None:
            proba = proba.astype(np.float64, copy=False)
        classes = self.classes
        if proba is not None and (classes is None or len(classes) != proba.shape[1]):
            classes = [str(i) for i in range(proba.shape[1])]
        return Outputs(labels, proba, classes)

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.ref,
            "engine": self.engine,
            "inputs": self.spec.describe(),
            "classes": self.classes,
            "preparation": None
            if self._prepare is None
            else getattr(self._prepare, "name", type(self._prepare).__name__),
        }


def _cast(values: np.ndarray[Any, Any], dtype: str) -> np.ndarray[Any, Any]:
    if dtype in ("string", "category") or values.dtype == object:
        return values
    return values.astype(np.dtype(dtype), copy=False)
