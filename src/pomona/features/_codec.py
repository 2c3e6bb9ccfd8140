"""Entity keys and feature values as the online store holds them, and their type checks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from pomona.errors import InvalidInputError
from pomona.features.definitions import Feature, ValueType

__all__ = [
    "FeatureValue",
    "check_key_value",
    "decode_value",
    "encode_key",
    "entity_columns",
]

FeatureValue = int | float | str | bool | datetime | None
"""A feature value as the SDK returns it (``None`` when missing or expired)."""


def check_key_value(value: object, key: Feature, row: int) -> int | str:
    """``value`` if it fits the join key's type, else ``InvalidInputError`` naming it."""
    if key.dtype is ValueType.INT64:
        if isinstance(value, int) and not isinstance(value, bool):
            return int(value)
        if hasattr(value, "dtype") and value.dtype.kind in "iu":  # numpy ints
            return int(str(value))
    elif isinstance(value, str):
        return value
    raise InvalidInputError(
        f"Entity key '{key.name}' must be {key.dtype}, but row {row} has "
        f"{type(value).__name__} {value!r}.",
        hint=f"Pass {key.dtype} values for '{key.name}'.",
        details={"field": key.name, "row": row},
    )


def encode_key(values: Sequence[int | str]) -> str:
    """The canonical text of an entity's join key values (a JSON array)."""
    return orjson.dumps(list(values)).decode()


def entity_columns(
    entity_rows: Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]],
) -> dict[str, list[object]]:
    """Columns from either ``{"key": [v1, v2]}`` or ``[{"key": v1}, {"key": v2}]``.

    Raises:
        InvalidInputError: ragged columns, or rows naming different keys.
    """
    if isinstance(entity_rows, Mapping):
        columns = {str(k): list(v) for k, v in entity_rows.items()}
    else:
        rows = list(entity_rows)
        names = list(rows[0]) if rows else []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping) or sorted(row) != sorted(names):
                raise InvalidInputError(
                    f"Entity row {i} does not name the same keys as row 0 ({names}).",
                    details={"field": "entity_rows", "row": i},
                )
        columns = {name: [row[name] for row in rows] for name in names}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InvalidInputError(
            "Entity key columns have different lengths.", details={"field": "entity_rows"}
        )
    return columns


def decode_value(value: Any, dtype: ValueType) -> FeatureValue:
    """A stored JSON value as the SDK returns it (timestamps are stored as epoch ms)."""
    if value is None:
        return None
    if dtype is ValueType.TIMESTAMP:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if dtype is ValueType.FLOAT64:
        number = float(value)
        return None if math.isnan(number) else number
    result: FeatureValue = value
    return result
