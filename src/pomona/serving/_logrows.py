"""Log rows for a batch, in the prediction-log contract's columns (see docs/serving.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pomona.serving._images import IMAGE_PROPERTIES, image_properties
from pomona.serving._inputs import Inputs, InputSpec
from pomona.serving.runtime import Outputs

__all__ = [
    "BASE_COLUMNS",
    "LogChunk",
    "RowMeta",
    "build_chunk",
    "error_chunk",
    "measure_pictures",
]

BASE_COLUMNS: dict[str, str] = {
    "request_id": "string",
    "deployment": "string",
    "model_name": "string",
    "model_version": "int64",
    "variant": "string",
    "ts_ms": "int64",
    "latency_ms": "double",
    "status": "string",
    "error": "string",
}
MAX_TENSOR_COLUMNS = 64


@dataclass
class RowMeta:
    """Who a request's rows belong to: ids, deployment, variant, timing."""

    request_ids: list[str]
    deployment: str
    variant: str
    ts_ms: int
    latency_ms: float


@dataclass
class LogChunk:
    """Columns of log rows (lists or arrays of equal length) and each column's type."""

    columns: dict[str, Any]
    types: dict[str, str]
    n: int
    pictures: tuple[list[bytes], list[np.ndarray[Any, Any]]] | None = None
    """Files and decoded pictures whose properties fill the ``in__`` image columns when
    the chunk is written (``measure_pictures``), not while its requests wait."""


def measure_pictures(chunks: list[LogChunk]) -> None:
    """Fill the image-property columns of ``chunks``: all their pictures measured at once."""
    waiting = [c for c in chunks if c.pictures is not None]
    if not waiting:
        return
    files = [f for c in waiting for f in c.pictures[0]]  # type: ignore[index]
    images = [i for c in waiting for i in c.pictures[1]]  # type: ignore[index]
    props = image_properties(files, images)
    start = 0
    for chunk in waiting:
        for name, values in props.items():
            chunk.columns[f"in__{name}"] = values[start : start + chunk.n]
        chunk.pictures = None
        start += chunk.n


def _input_columns(spec: InputSpec, batch: Inputs) -> tuple[dict[str, Any], dict[str, str]]:
    cols: dict[str, Any] = {}
    types: dict[str, str] = {}
    if spec.kind == "columns" and batch.columns is not None:
        for name, _ in spec.columns:
            values = batch.columns[name]
            numeric = values.dtype.kind in "iufb"
            cols[f"in__{name}"] = values.astype(np.float64) if numeric else values.astype(str)
            types[f"in__{name}"] = "double" if numeric else "string"
    elif batch.props:
        for name, values in batch.props.items():
            cols[f"in__{name}"] = values
            types[f"in__{name}"] = "double"
    elif batch.images is not None and batch.files is not None:
        for name in IMAGE_PROPERTIES:  # measured when written (LogChunk.pictures)
            cols[f"in__{name}"] = None
            types[f"in__{name}"] = "double"
    elif (
        batch.tensor is not None
        and batch.tensor.ndim == 2
        and batch.tensor.shape[1] <= MAX_TENSOR_COLUMNS
    ):
        flat = batch.tensor.astype(np.float64)
        for j in range(flat.shape[1]):
            cols[f"in__{j}"] = flat[:, j]
            types[f"in__{j}"] = "double"
    return cols, types


def build_chunk(
    model: tuple[str, int],
    spec: InputSpec,
    batch: Inputs,
    metas: list[RowMeta],
    outputs: Outputs,
) -> LogChunk:
    """Rows for a batch that ran: one per input row."""
    n = batch.n
    cols, types = _base(model, metas, n, "ok", [None] * n)
    more, more_types = _input_columns(spec, batch)
    cols.update(more)
    types.update(more_types)
    cols["prediction"] = [str(v) for v in outputs.labels]
    types["prediction"] = "string"
    types["confidence"] = "double"
    if outputs.proba is not None and outputs.classes is not None:
        cols["confidence"] = outputs.proba.max(axis=1)
        for j, cls in enumerate(outputs.classes):
            cols[f"proba__{cls}"] = outputs.proba[:, j]
            types[f"proba__{cls}"] = "double"
    else:
        cols["confidence"] = [None] * n
    pictures = None
    if not batch.props and batch.images is not None and batch.files is not None:
        pictures = (batch.files, batch.images)
    return LogChunk(cols, types, n, pictures)


def error_chunk(model: tuple[str, int], metas: list[RowMeta], message: str) -> LogChunk:
    """Rows for requests the model failed on (status ``error``; no inputs kept)."""
    n = sum(len(m.request_ids) for m in metas)
    cols, types = _base(model, metas, n, "error", [message[:2000]] * n)
    cols["prediction"] = [None] * n
    cols["confidence"] = [None] * n
    types.update(prediction="string", confidence="double")
    return LogChunk(cols, types, n)


def _base(
    model: tuple[str, int], metas: list[RowMeta], n: int, status: str, errors: list[Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    ids: list[str] = []
    deployment: list[str] = []
    variant: list[str] = []
    ts: list[int] = []
    latency: list[float] = []
    for m in metas:
        k = len(m.request_ids)
        ids.extend(m.request_ids)
        deployment.extend([m.deployment] * k)
        variant.extend([m.variant] * k)
        ts.extend([m.ts_ms] * k)
        latency.extend([m.latency_ms] * k)
    cols: dict[str, Any] = {
        "request_id": ids,
        "deployment": deployment,
        "model_name": [model[0]] * n,
        "model_version": [model[1]] * n,
        "variant": variant,
        "ts_ms": ts,
        "latency_ms": latency,
        "status": [status] * n,
        "error": errors,
    }
    return cols, dict(BASE_COLUMNS)
