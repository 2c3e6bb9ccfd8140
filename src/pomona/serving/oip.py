"""The Open Inference Protocol (v2), transport-neutral: tensors in, tensors out, metadata.

A deployment is an OIP model named like it. Table models take one input per column
(shape ``[n]`` or ``[n, 1]``) or one ``[n, columns]`` input in signature order; tensor
models one tensor; image models a ``BYTES`` tensor of encoded files (shape ``[n]``) or the
pixel tensor itself. Outputs: ``predictions`` (``[n]``) and, for classifiers,
``probabilities`` (``[n, classes]``, FP64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.serving._inputs import Inputs, InputSpec, tensor_inputs
from pomona.serving.host import Prediction, ServingHost

__all__ = [
    "DATATYPES",
    "Tensor",
    "datatype_of",
    "model_metadata",
    "output_tensors",
    "parse_tensors",
]

DATATYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
_BY_DTYPE = {v: k for k, v in DATATYPES.items()}


@dataclass
class Tensor:
    """One named tensor; ``data`` is a numpy array (``object`` of bytes for BYTES)."""

    name: str
    datatype: str
    shape: list[int]
    data: np.ndarray[Any, Any]


def datatype_of(dtype: str) -> str:
    """The OIP datatype of a signature dtype (``string`` -> ``BYTES``)."""
    return _BY_DTYPE.get(dtype, "BYTES")


def _fail(message: str, field: str = "inputs") -> InvalidInputError:
    return InvalidInputError(message, details={"field": field})


def _columns(spec: InputSpec, tensors: Sequence[Tensor]) -> Inputs:
    from pomona.serving._inputs import _column

    by_name = {t.name: t for t in tensors}
    names = [n for n, _ in spec.columns]
    if len(tensors) == 1 and tensors[0].name not in by_name.keys() & set(names):
        matrix = tensors[0].data
        if matrix.ndim != 2 or matrix.shape[1] != len(names):
            raise _fail(
                f"Input '{tensors[0].name}' has shape {list(matrix.shape)}; send [n, "
                f"{len(names)}] (columns {', '.join(names)}) or one input per column."
            )
        by_name = {
            n: Tensor(n, tensors[0].datatype, [len(matrix)], matrix[:, j])
            for j, n in enumerate(names)
        }
    columns = {}
    n: int | None = None
    for name, dtype in spec.columns:
        tensor = by_name.get(name)
        if tensor is None:
            raise _fail(f"Input '{name}' is missing.", name)
        values = tensor.data.reshape(-1)
        if n is not None and len(values) != n:
            raise _fail(f"Input '{name}' has {len(values)} rows, others have {n}.", name)
        n = len(values)
        plain = [v.decode() if isinstance(v, bytes) else v for v in values.tolist()]
        columns[name] = _column(name, dtype, plain)
    if not n:
        raise _fail("The request has no rows.")
    return Inputs(n, columns=columns)


def parse_tensors(spec: InputSpec, tensors: Sequence[Tensor]) -> Inputs | list[bytes]:
    """The model's inputs from OIP tensors (encoded images are decoded later)."""
    if not tensors:
        raise _fail("The request has no inputs.")
    if spec.kind == "columns":
        return _columns(spec, tensors)
    if len(tensors) != 1:
        raise _fail(f"This model takes one input tensor, got {len(tensors)}.")
    tensor = tensors[0]
    if spec.is_image and tensor.datatype == "BYTES":
        files = [
            bytes(v) if isinstance(v, bytes | bytearray) else str(v).encode()
            for v in tensor.data.reshape(-1)
        ]
        return files
    return tensor_inputs(spec, tensor.data, field=tensor.name)


def _labels_tensor(labels: list[Any]) -> Tensor:
    if labels and all(isinstance(v, bool) for v in labels):
        return Tensor("predictions", "BOOL", [len(labels)], np.asarray(labels, dtype=bool))
    if labels and all(isinstance(v, int) and not isinstance(v, bool) for v in labels):
        return Tensor("predictions", "INT64", [len(labels)], np.asarray(labels, dtype=np.int64))
    if labels and all(isinstance(v, int | float) for v in labels):
        return Tensor("predictions", "FP64", [len(labels)], np.asarray(labels, dtype=np.float64))
    data = np.asarray([str(v).encode() for v in labels], dtype=object)
    return Tensor("predictions", "BYTES", [len(labels)], data)


def output_tensors(prediction: Prediction, wanted: Sequence[str] = ()) -> list[Tensor]:
    """``predictions`` and ``probabilities`` (those ``wanted``, or all)."""
    out = [_labels_tensor(prediction.labels)]
    if prediction.proba is not None:
        proba = np.asarray(prediction.proba, dtype=np.float64)
        out.append(Tensor("probabilities", "FP64", list(proba.shape), proba))
    if wanted:
        unknown = set(wanted) - {t.name for t in out}
        if unknown:
            raise _fail(f"Unknown outputs: {', '.join(sorted(unknown))}.", "outputs")
        out = [t for t in out if t.name in wanted]
    return out


def model_metadata(host: ServingHost, name: str) -> dict[str, Any]:
    """``GET /v2/models/{name}``: versions, platform, inputs and outputs."""
    route = host.route(name)
    runtime = route.primary.runtime
    spec = runtime.spec
    version = runtime.version
    assert version is not None
    if spec.kind == "columns":
        inputs = [{"name": n, "datatype": datatype_of(d), "shape": [-1]} for n, d in spec.columns]
    elif spec.is_image:
        inputs = [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    else:
        inputs = [
            {"name": "input", "datatype": datatype_of(spec.dtype), "shape": [-1, *spec.shape]}
        ]
    outputs = [{"name": "predictions", "datatype": "BYTES", "shape": [-1]}]
    if runtime.classes is not None:
        outputs.append(
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(runtime.classes)]}
        )
    return {
        "name": name,
        "versions": [str(version.version)],
        "platform": f"pomona_{runtime.engine}",
        "inputs": inputs,
        "outputs": outputs,
        "parameters": {"model": version.ref, "classes": runtime.classes},
    }
