"""Entity frames in and training frames out: checks, key casts, and the result columns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pomona.errors import InvalidInputError
from pomona.features._resolve import Column
from pomona.features.definitions import Feature, ValueType

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = ["attach", "entity_table", "rows_to_arrow", "to_arrow", "training_table"]


def to_arrow(frame: Any, what: str = "entity_df") -> pa.Table:
    """A ``pyarrow.Table`` from a pandas DataFrame or a table; else ``InvalidInputError``."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pa.RecordBatch):
        return pa.Table.from_batches([frame])
    if type(frame).__name__ == "DataFrame" and hasattr(frame, "columns"):
        try:
            return pa.Table.from_pandas(frame, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(
                f"{what} cannot be converted to a table: {exc}.", details={"field": what}
            ) from exc
    raise InvalidInputError(
        f"{what} must be a pandas DataFrame or a pyarrow Table, not {type(frame).__name__}.",
        details={"field": what},
    )


def rows_to_arrow(rows: Any, what: str = "rows") -> pa.Table:
    """A table from a DataFrame, a table, or a list of row mappings."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if isinstance(rows, Sequence) and not isinstance(rows, (str, bytes)):
        if not rows or not all(isinstance(r, Mapping) for r in rows):
            raise InvalidInputError(
                f"{what} must be a non-empty list of mappings, a DataFrame or a table.",
                details={"field": what},
            )
        try:
            return pa.Table.from_pylist([dict(r) for r in rows])
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInputError(
                f"{what} cannot be read as a table: {exc}.", details={"field": what}
            ) from exc
    return to_arrow(rows, what)


def _key_array(table: pa.Table, key: Feature) -> pa.Array:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if key.name not in table.column_names:
        raise InvalidInputError(
            f"The entity rows have no column '{key.name}' (a join key of the features).",
            hint=f"Add a '{key.name}' column of {key.dtype} values.",
            details={"field": key.name},
        )
    column = table.column(key.name)
    kind = column.type
    fits = (
        pa.types.is_integer(kind)
        if key.dtype is ValueType.INT64
        else pa.types.is_string(kind) or pa.types.is_large_string(kind)
    )
    if not fits and not pa.types.is_null(kind):
        raise InvalidInputError(
            f"Entity key '{key.name}' must be {key.dtype}, but the column holds {kind}.",
            hint=f"Pass {key.dtype} values for '{key.name}'.",
            details={"field": key.name},
        )
    target = pa.int64() if key.dtype is ValueType.INT64 else pa.string()
    return column.cast(target)


def _timestamps(table: pa.Table, name: str) -> pa.Array:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if name not in table.column_names:
        raise InvalidInputError(
            f"The entity rows have no timestamp column '{name}'.",
            hint="Add it, or pass timestamp_column= naming the column with the event times.",
            details={"field": name},
        )
    column = table.column(name)
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            column = column.cast(pa.timestamp(kind.unit, tz="UTC"))  # naive means UTC
        return column.cast(pa.timestamp("us", tz="UTC"), safe=False)
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
    raise InvalidInputError(
        f"Entity timestamp column '{name}' holds {kind}, not timestamps.",
        hint="Convert it, e.g. pandas.to_datetime(df[col], utc=True).",
        details={"field": name},
    )


def entity_table(table: pa.Table, columns: Sequence[Column], timestamp_column: str) -> pa.Table:
    """The join input: each join key cast to its type, ``_pit_ts`` (UTC) and ``_eid``.

    Raises:
        InvalidInputError: a key or the timestamp is missing or mistyped, or a feature
            would overwrite a column of the entity rows.
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    clash = sorted({c.output for c in columns} & set(table.column_names))
    if clash:
        raise InvalidInputError(
            f"The entity rows already have a column '{clash[0]}', a requested feature's name.",
            hint="Rename it, or pass full_names=True.",
            details={"field": clash[0]},
        )

    keys: dict[str, Feature] = {}
    for column in columns:
        for key in column.view.keys:
            known = keys.setdefault(key.name, key)
            if known.dtype is not key.dtype:
                raise InvalidInputError(
                    f"Join key '{key.name}' is {known.dtype} in one view and {key.dtype} in "
                    "another; request them separately.",
                    details={"field": key.name},
                )
    arrays = {name: _key_array(table, key) for name, key in keys.items()}
    arrays["_pit_ts"] = _timestamps(table, timestamp_column)
    arrays["_eid"] = pa.array(np.arange(table.num_rows, dtype=np.int64))
    return pa.table(arrays)


def attach(
    entity_df: Any, original: pa.Table, features: pa.Table, columns: Sequence[Column]
) -> pd.DataFrame:
    """The caller's rows (their own columns and index, unchanged) with the feature columns."""
    outputs = [c.output for c in columns]
    if type(entity_df).__name__ == "DataFrame" and hasattr(entity_df, "copy"):
        out = entity_df.copy()
    else:
        out = original.to_pandas()
    for i, name in enumerate(outputs):
        series = features.column(f"c{i}").to_pandas()
        series.index = out.index
        out[name] = series
    return out


def training_table(original: pa.Table, features: pa.Table, columns: Sequence[Column]) -> pa.Table:
    """The entity rows with the feature columns appended, as one table."""
    table = original
    for i, column in enumerate(columns):
        table = table.append_column(column.output, features.column(f"c{i}"))
    return table
