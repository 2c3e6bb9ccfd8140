"""Requests checked against a model's signature, as arrays ready to batch.

A request becomes an ``Inputs``: one numpy array per column (table models) or one tensor
(tensor and image models), ``n`` rows. Errors name the field and the row.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.registry.signature import Signature

__all__ = ["MAX_ROWS", "InputSpec", "Inputs", "column_values", "concat", "parse_json"]

MAX_ROWS = 10_000
_NUMERIC_KINDS = "iuf"


@dataclass(frozen=True)
class InputSpec:
    """What a model takes, read from its signature.

    ``kind`` is ``columns`` (named columns), ``tensor`` (an array) or ``image`` (a tensor of
    pictures: ``layout`` NHWC or NCHW, ``height``, ``width``, ``channels``).
    """

    kind: str
    columns: tuple[tuple[str, str], ...] = ()
    dtype: str = "float64"
    shape: tuple[int, ...] = ()
    layout: str = ""
    height: int = 0
    width: int = 0
    channels: int = 0

    @classmethod
    def from_signature(cls, signature: Signature) -> InputSpec:
        if signature.input_kind == "columns":
            return cls("columns", columns=tuple((s.name, s.dtype) for s in signature.inputs))
        spec = signature.inputs[0]
        shape = tuple(spec.shape[1:])
        if len(shape) == 3 and shape[-1] in (1, 3) and min(shape[:2]) >= 8:
            return cls(
                "image",
                dtype=spec.dtype,
                shape=shape,
                layout="NHWC",
                height=shape[0],
                width=shape[1],
                channels=shape[2],
            )
        if len(shape) == 3 and shape[0] in (1, 3) and min(shape[1:]) >= 8:
            return cls(
                "image",
                dtype=spec.dtype,
                shape=shape,
                layout="NCHW",
                height=shape[1],
                width=shape[2],
                channels=shape[0],
            )
        return cls("tensor", dtype=spec.dtype, shape=shape)

    @property
    def is_image(self) -> bool:
        return self.kind == "image"

    def describe(self) -> dict[str, Any]:
        if self.kind == "columns":
            return {
                "kind": "columns",
                "columns": [{"name": n, "dtype": d} for n, d in self.columns],
            }
        out: dict[str, Any] = {"kind": self.kind, "dtype": self.dtype, "shape": [-1, *self.shape]}
        if self.is_image:
            out.update(layout=self.layout, height=self.height, width=self.width)
        return out


@dataclass
class Inputs:
    """A validated request (or a batch of them): ``n`` rows."""

    n: int
    columns: dict[str, np.ndarray[Any, Any]] | None = None
    tensor: np.ndarray[Any, Any] | None = None
    images: list[np.ndarray[Any, Any]] | None = None
    """Decoded pictures before the model's preparation (image models)."""
    props: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    """Properties per row, logged as ``in__<name>``."""
    files: list[bytes] | None = None
    """The pictures as sent (image models): their properties are measured when the
    prediction log is written, off the request path."""


def _names(spec: InputSpec, most: int = 8) -> str:
    names = [n for n, _ in spec.columns]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _fail(message: str, field: str, hint: str | None = None) -> InvalidInputError:
    return InvalidInputError(message, hint=hint, details={"field": field})


def _column(name: str, dtype: str, values: list[Any]) -> np.ndarray[Any, Any]:
    kind = np.dtype(dtype).kind if dtype not in ("string", "category") else "U"
    if kind in _NUMERIC_KINDS:
        for i, v in enumerate(values):
            t = type(v)
            if t is not float and t is not int:
                if v is None:
                    raise _fail(f"Field '{name}' of record {i} is missing (null).", name)
                if not isinstance(v, int | float) or isinstance(v, bool):
                    raise _fail(
                        f"Field '{name}' of record {i} must be a number ({dtype}), got {v!r}.",
                        name,
                    )
            if kind in "iu" and t is float and not v.is_integer():
                raise _fail(
                    f"Field '{name}' of record {i} must be an integer ({dtype}), got {v!r}.",
                    name,
                )
        return np.asarray(values, dtype=np.float64 if kind == "f" else np.int64)
    if kind == "b":
        if any(type(v) is not bool for v in values):
            raise _fail(f"Field '{name}' must be true or false in every record.", name)
        return np.asarray(values, dtype=bool)
    for i, v in enumerate(values):
        if not isinstance(v, str):
            raise _fail(f"Field '{name}' of record {i} must be a string, got {v!r}.", name)
    return np.asarray(values, dtype=object)


column_values = _column
"""One column's values (JSON scalars) checked against its dtype, as an array."""


def _records(spec: InputSpec, records: Any) -> Inputs:
    if not isinstance(records, list) or not records:
        raise _fail("'records' must be a non-empty list of objects.", "records")
    if len(records) > MAX_ROWS:
        raise _fail(f"At most {MAX_ROWS} records per request.", "records")
    columns: dict[str, np.ndarray[Any, Any]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise _fail(f"Record {i} must be an object of field values.", "records")
    for name, dtype in spec.columns:
        try:
            values = [rec[name] for rec in records]
        except KeyError:
            row = next(i for i, r in enumerate(records) if name not in r)
            raise _fail(
                f"Record {row} is missing field '{name}'.",
                name,
                hint=f"Send every input of the model: {_names(spec)}.",
            ) from None
        columns[name] = _column(name, dtype, values)
    return Inputs(len(records), columns=columns)


def _columns(spec: InputSpec, data: Any) -> Inputs:
    if not isinstance(data, dict):
        raise _fail("'columns' must be an object of equal-length lists.", "columns")
    n: int | None = None
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name, dtype in spec.columns:
        values = data.get(name)
        if values is None:
            raise _fail(f"Column '{name}' is missing.", name)
        if not isinstance(values, list) or not values:
            raise _fail(f"Column '{name}' must be a non-empty list.", name)
        if n is not None and len(values) != n:
            raise _fail(f"Column '{name}' has {len(values)} values, others have {n}.", name)
        n = len(values)
        if n > MAX_ROWS:
            raise _fail(f"At most {MAX_ROWS} rows per request.", name)
        out[name] = _column(name, dtype, values)
    assert n is not None
    return Inputs(n, columns=out)


def tensor_inputs(spec: InputSpec, data: Any, field: str = "instances") -> Inputs:
    """A nested list (or array) as the model's tensor, its shape checked."""
    try:
        array = np.asarray(data, dtype=np.dtype(spec.dtype))
    except (ValueError, TypeError) as exc:
        raise _fail(
            f"'{field}' must be a nested list of numbers ({spec.dtype}): {exc}.", field
        ) from exc
    if array.ndim == len(spec.shape):  # a single instance
        array = array[None]
    expected = [-1, *spec.shape]
    ok = array.ndim == len(expected) and all(
        e in (-1, a) for e, a in zip(expected[1:], array.shape[1:], strict=True)
    )
    if not ok or array.shape[0] == 0:
        raise _fail(f"'{field}' has shape {list(array.shape)}; the model takes {expected}.", field)
    if array.shape[0] > MAX_ROWS:
        raise _fail(f"At most {MAX_ROWS} instances per request.", field)
    return Inputs(int(array.shape[0]), tensor=array)


def decode_b64(items: Any, field: str = "images") -> list[bytes]:
    """Base64 strings as bytes."""
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
        raise _fail(f"'{field}' must be a list of base64-encoded image files.", field)
    try:
        return [base64.b64decode(item, validate=True) for item in items]
    except (binascii.Error, ValueError) as exc:
        raise _fail(f"'{field}' holds a value that is not base64: {exc}.", field) from exc


def parse_json(spec: InputSpec, body: Any) -> Inputs | list[bytes]:
    """A JSON request body: ``records``, ``columns``, ``instances`` or ``images`` (base64).

    Image models get back the encoded files (decoding happens off the event loop).
    """
    if not isinstance(body, Mapping):
        raise _fail("The body must be a JSON object.", "body", hint=_HINT)
    keys = [k for k in ("records", "columns", "instances", "images") if k in body]
    if len(keys) != 1:
        raise _fail(
            "The body needs exactly one of 'records', 'columns', 'instances', 'images'.",
            "body",
            hint=_HINT,
        )
    key = keys[0]
    if spec.kind == "columns":
        if key == "records":
            return _records(spec, body[key])
        if key == "columns":
            return _columns(spec, body[key])
        raise _fail(
            f"This model takes named columns: send 'records' or 'columns', not '{key}'.", key
        )
    if spec.is_image and key == "images":
        return decode_b64(body[key])
    if key == "instances":
        return tensor_inputs(spec, body[key])
    wanted = "'images' (base64) or 'instances'" if spec.is_image else "'instances'"
    raise _fail(f"This model takes a tensor: send {wanted}, not '{key}'.", key)


_HINT = (
    'Send {"records": [{"feature": value, ...}]} or {"columns": {"feature": [values]}} '
    'for table models, {"instances": [[...]]} for tensors, {"images": ["<base64>"]} for images.'
)


def concat(parts: Sequence[Inputs]) -> Inputs:
    """One batch from several requests (rows in order)."""
    if len(parts) == 1:
        return parts[0]
    n = sum(p.n for p in parts)
    first = parts[0]
    columns = tensor = images = files = None
    if first.columns is not None:
        columns = {
            k: np.concatenate([p.columns[k] for p in parts if p.columns]) for k in first.columns
        }
    if first.tensor is not None:
        tensor = np.concatenate([p.tensor for p in parts if p.tensor is not None])
    if first.images is not None:
        images = [img for p in parts for img in (p.images or [])]
    if first.files is not None:
        files = [f for p in parts for f in (p.files or [])]
    props = {k: np.concatenate([p.props[k] for p in parts]) for k in first.props}
    return Inputs(n, columns=columns, tensor=tensor, images=images, props=props, files=files)
