"""ONNX Runtime helpers: the input an exported model takes, and the parity check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from pomona.registry.flavors.base import Array, Flavor, OnnxModel, require
from pomona.registry.signature import Signature, as_array

__all__ = ["NUMERIC_INPUTS", "onnx_feed", "onnx_input_dtype", "onnx_session", "parity"]


NUMERIC_INPUTS = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(bool)": "bool",
}
"""numpy dtypes of ONNX input types: a model may take another type than its signature says
(a torch model on uint8 images is exported with float inputs, as the flavor casts them)."""


def onnx_input_dtype(session: Any) -> str | None:
    """The numpy dtype the session's first input takes (``None`` for strings)."""
    return NUMERIC_INPUTS.get(str(session.get_inputs()[0].type))


def onnx_feed(signature: Signature, batch: object, dtype: str | None = None) -> Array:
    """The ONNX model's one input for a batch: a table's columns stacked into a 2-D array,
    as ``dtype`` (default: the signature's)."""
    dtype = dtype or signature.inputs[0].dtype
    if signature.input_kind == "columns":
        frame: Any = batch
        return np.column_stack([as_array(frame[s.name]) for s in signature.inputs]).astype(dtype)
    return as_array(batch).astype(dtype)


def onnx_session(data: bytes) -> Any:
    """An ONNX Runtime session on the CPU."""
    ort = require("onnxruntime", "onnx")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])


def _diff(native: Array, exported: Array) -> float:
    if native.shape != exported.shape and native.size == exported.size:
        exported = exported.reshape(native.shape)
    if native.shape != exported.shape:
        return float("inf")
    if native.dtype.kind in "biuf" and exported.dtype.kind in "biuf":
        return float(
            np.max(np.abs(native.astype(np.float64) - exported.astype(np.float64)), initial=0.0)
        )
    return 0.0 if bool(np.all(native.astype(str) == exported.astype(str))) else 1.0


def parity(
    flavor: Flavor, model: object, onnx: OnnxModel, signature: Signature, example: object
) -> dict[str, float]:
    """Max absolute difference between native and ONNX Runtime outputs on ``example``.

    Labels that are not numbers count 0 when all equal and 1 otherwise.
    """
    session = onnx_session(onnx.data)
    feed = {session.get_inputs()[0].name: onnx_feed(signature, example, onnx_input_dtype(session))}
    names = [o.name for o in session.get_outputs()]
    results: Mapping[str, Array] = dict(zip(names, session.run(None, feed), strict=True))
    native = {"predictions": flavor.predict(model, example)}
    if "probabilities" in onnx.outputs:
        native["probabilities"] = flavor.predict_proba(model, example)
    return {
        key: _diff(np.asarray(value), np.asarray(results[onnx.outputs[key]]))
        for key, value in native.items()
    }
