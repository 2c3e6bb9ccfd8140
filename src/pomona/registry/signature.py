"""Signatures: the input and output schema of a model, inferred from data, and their checks.

A schema is a list of ``TensorSpec``: a table is one spec per column (shape ``(-1,)``);
an array or tensor is one spec whose first dimension, the batch, is ``-1``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.registry.errors import SignatureMismatchError

__all__ = [
    "Signature",
    "TensorSpec",
    "as_array",
    "check_compatible",
    "first_mismatch",
    "infer_schema",
    "infer_signature",
    "is_table",
]


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One input or output: a name, a dtype (numpy's name, or ``string``) and a shape."""

    name: str
    dtype: str
    shape: tuple[int, ...] = (-1,)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        return cls(str(data["name"]), str(data["dtype"]), tuple(int(d) for d in data["shape"]))


@dataclass(frozen=True, slots=True)
class Signature:
    """What a model takes and returns.

    Attributes:
        inputs: one spec per column (``input_kind == "columns"``) or one tensor spec.
        outputs: ``predictions`` and, for classifiers, ``probabilities``.
        input_kind: ``"columns"`` for a table (pandas DataFrame), ``"tensor"`` otherwise.
    """

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    input_kind: str = "tensor"

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_kind": self.input_kind,
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        try:
            return cls(
                inputs=tuple(TensorSpec.from_dict(s) for s in data["inputs"]),
                outputs=tuple(TensorSpec.from_dict(s) for s in data.get("outputs", ())),
                input_kind=str(data.get("input_kind", "tensor")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"The signature is malformed: {exc!r}.",
                hint="A signature has 'inputs' and 'outputs', lists of {name, dtype, shape}.",
                details={"field": "signature"},
            ) from exc


def is_table(data: object) -> bool:
    """Whether ``data`` is a pandas DataFrame (checked without importing pandas)."""
    return type(data).__name__ == "DataFrame" and type(data).__module__.startswith("pandas")


def _dtype_name(dtype: Any) -> str:
    kind = getattr(dtype, "kind", "O")
    if kind in "OSU" or str(dtype) in ("str", "string"):
        return "string"
    if str(dtype) == "category":
        return "category"
    return str(np.dtype(dtype)) if kind in "biufcmM" else str(dtype)


def as_array(data: object) -> np.ndarray[Any, Any]:
    """A numpy view of an array-like, a torch tensor, or a table's values."""
    if hasattr(data, "detach") and hasattr(data, "cpu"):
        return np.asarray(data.detach().cpu().numpy())
    if is_table(data):
        return np.asarray(data.to_numpy())  # type: ignore[attr-defined]
    return np.asarray(data)


def infer_schema(data: object, *, name: str = "input") -> tuple[TensorSpec, ...]:
    """The schema of a batch: one spec per column of a table, else one tensor spec."""
    if is_table(data):
        dtypes = data.dtypes  # type: ignore[attr-defined]
        return tuple(TensorSpec(str(col), _dtype_name(dtypes[col])) for col in data.columns)  # type: ignore[attr-defined]
    array = as_array(data)
    if array.ndim == 0:
        raise InvalidInputError(
            f"The {name} is a scalar; a signature needs a batch (first dimension = rows).",
            details={"field": name},
        )
    return (TensorSpec(name, _dtype_name(array.dtype), (-1, *array.shape[1:])),)


def infer_signature(
    inputs: object, predictions: object, probabilities: object | None = None
) -> Signature:
    """A signature from an example batch and the model's outputs on it."""
    outputs = infer_schema(predictions, name="predictions")
    if probabilities is not None:
        outputs += infer_schema(probabilities, name="probabilities")
    kind = "columns" if is_table(inputs) else "tensor"
    return Signature(inputs=infer_schema(inputs), outputs=outputs, input_kind=kind)


def _shape_mismatch(new: tuple[int, ...], old: tuple[int, ...]) -> bool:
    if len(new) != len(old):
        return True
    return any(a != b and a != -1 and b != -1 for a, b in zip(new, old, strict=True))


def _specs_mismatch(
    side: str, new: Sequence[TensorSpec], old: Sequence[TensorSpec]
) -> tuple[str, str] | None:
    if len(new) != len(old):
        return side, f"{len(new)} {side} where the other signature has {len(old)}"
    for i, (a, b) in enumerate(zip(new, old, strict=True)):
        where = f"{side}[{i}]"
        if a.name != b.name:
            return f"{where}.name", f"{side[:-1]} {i} is named '{a.name}', not '{b.name}'"
        if a.dtype != b.dtype:
            return f"{where}.dtype", f"{side[:-1]} '{a.name}' has dtype {a.dtype}, not {b.dtype}"
        if _shape_mismatch(a.shape, b.shape):
            return (
                f"{where}.shape",
                f"{side[:-1]} '{a.name}' has shape {list(a.shape)}, not {list(b.shape)}",
            )
    return None


def first_mismatch(new: Signature, old: Signature) -> tuple[str, str] | None:
    """The first field where ``new`` differs from ``old``: ``(field, description)``, or None.

    Dimensions of ``-1`` (any size) match every size.
    """
    if new.input_kind != old.input_kind:
        return "input_kind", f"it takes {new.input_kind}, not {old.input_kind}"
    return _specs_mismatch("inputs", new.inputs, old.inputs) or _specs_mismatch(
        "outputs", new.outputs, old.outputs
    )


def check_compatible(
    new: Signature, old: Signature, *, new_name: str = "the new model", old_name: str = "the old"
) -> None:
    """Raise ``SignatureMismatchError`` naming the first field where ``new`` differs."""
    found = first_mismatch(new, old)
    if found is not None:
        field, what = found
        raise SignatureMismatchError(
            f"The signature of {new_name} does not match {old_name}'s: {what}.",
            details={"field": field},
        )
