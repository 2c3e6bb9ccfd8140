"""Example inputs as JSON: a few rows of a table or a slice of an array, stored with a version."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.registry.signature import as_array, is_table

__all__ = ["MAX_EXAMPLE_ELEMENTS", "decode_example", "encode_example", "head"]

MAX_EXAMPLE_ROWS = 5
MAX_EXAMPLE_ELEMENTS = 65_536


def head(data: object, rows: int | None = None) -> object:
    """The first rows of a batch: at most 5, fewer when rows are large (images)."""
    if is_table(data):
        return data.iloc[: rows or MAX_EXAMPLE_ROWS]  # type: ignore[attr-defined]
    array = as_array(data)
    per_row = max(1, int(np.prod(array.shape[1:])) if array.ndim > 1 else 1)
    limit = rows or max(1, min(MAX_EXAMPLE_ROWS, MAX_EXAMPLE_ELEMENTS // per_row))
    return array[:limit]


def encode_example(data: object) -> bytes:
    """JSON bytes of an example batch (call ``head`` first to keep it small)."""
    if is_table(data):
        frame: Any = data
        columns = [str(c) for c in frame.columns]
        body: dict[str, Any] = {
            "kind": "columns",
            "columns": columns,
            "dtypes": [str(frame[c].dtype) for c in frame.columns],
            "data": {str(c): _plain(frame[c].to_numpy()) for c in frame.columns},
        }
    else:
        array = as_array(data)
        body = {
            "kind": "tensor",
            "dtype": str(array.dtype),
            "shape": list(array.shape),
            "data": _plain(array.reshape(-1)),
        }
    return json.dumps(body, separators=(",", ":")).encode()


def _plain(values: np.ndarray[Any, Any]) -> list[Any]:
    if values.dtype.kind in "mM":
        return [str(v) for v in values]
    return [v.item() if hasattr(v, "item") else v for v in values.tolist()]


def decode_example(raw: bytes) -> Any:
    """The example batch back: a numpy array, or a pandas DataFrame for a table."""
    try:
        body = json.loads(raw)
        if body["kind"] == "columns":
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]

            frame = pd.DataFrame({c: body["data"][c] for c in body["columns"]})
            for col, dtype in zip(body["columns"], body["dtypes"], strict=True):
                frame[col] = frame[col].astype(dtype)
            return frame
        return np.asarray(body["data"], dtype=body["dtype"]).reshape(body["shape"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"The stored input example cannot be read: {exc!r}.",
            details={"field": "input_example"},
        ) from exc
