"""LightGBM to ONNX through onnxmltools, with the class labels put back after the trees.

onnxmltools converts a booster into a tree ensemble whose label output is the class index;
a ``Gather`` over the classifier's own labels (numbers or strings) makes it the label that
``predict`` returns.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from pomona.registry.errors import ExportNotSupportedError
from pomona.registry.flavors.base import OnnxModel, require
from pomona.registry.signature import Signature

__all__ = ["lightgbm_to_onnx"]


def _width(signature: Signature) -> int:
    if signature.input_kind == "columns":
        return len(signature.inputs)
    shape = signature.inputs[0].shape
    if len(shape) != 2 or not isinstance(shape[1], int):
        raise ExportNotSupportedError(
            f"A LightGBM model takes rows of features; this one's input has shape {shape}.",
            details={"field": "signature.inputs"},
        )
    return shape[1]


def lightgbm_to_onnx(booster: Any, classes: Any, signature: Signature) -> OnnxModel:
    """Convert a booster (float32 inputs, as onnxmltools takes); ``classes`` are a
    classifier's labels, else None."""
    require("onnxmltools", "onnx")
    from onnxmltools import convert_lightgbm  # type: ignore[import-untyped,unused-ignore]
    from onnxmltools.convert.common.data_types import (  # type: ignore[import-untyped,unused-ignore]
        FloatTensorType,
    )

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            proto = convert_lightgbm(
                booster,
                initial_types=[("input", FloatTensorType([None, _width(signature)]))],
                zipmap=False,
            )
    except ExportNotSupportedError:
        raise
    except Exception as exc:  # onnxmltools raises many types for an unsupported model
        raise ExportNotSupportedError(
            f"onnxmltools cannot convert this LightGBM model: {str(exc).strip().splitlines()[0]}",
            details={"model_type": type(booster).__name__},
        ) from exc
    names = [o.name for o in proto.graph.output]
    outputs = {"predictions": names[0]}
    if len(names) > 1:
        if classes is None:
            raise ExportNotSupportedError(
                "This LightGBM classifier's booster was registered without its class labels.",
                hint="Register the fitted LGBMClassifier itself, not its booster.",
                details={"field": "model"},
            )
        _label_by_class(proto, names[0], np.asarray(classes))
        outputs["probabilities"] = names[1]
    opset = max((o.version for o in proto.opset_import if o.domain == ""), default=None)
    return OnnxModel(proto.SerializeToString(), outputs, opset)


def _label_by_class(proto: Any, label: str, classes: np.ndarray[Any, Any]) -> None:
    """Make output ``label`` (a class index) the class itself: ``Gather(classes, index)``."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    index = f"{label}_index"
    for node in graph.node:
        for i, name in enumerate(node.output):
            if name == label:
                node.output[i] = index
    values = classes.astype(object) if classes.dtype.kind in "US" else classes
    graph.initializer.append(numpy_helper.from_array(values, name=f"{label}_classes"))
    graph.node.append(helper.make_node("Gather", [f"{label}_classes", index], [label], axis=0))
    out = next(o for o in graph.output if o.name == label)
    out.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(values.dtype)
