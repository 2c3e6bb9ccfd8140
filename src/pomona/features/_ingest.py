"""Snapshot a source into one canonical Parquet file: typed keys, ``_event_ts`` in UTC, the
declared features (computed by the view's transformation if it has one), one row per
(key, event time): ties keep the latest ``created_column`` value, then the last row."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.errors import InvalidInputError
from pomona.features._duck import ident, literal, translated
from pomona.features._read import OpenedSource, check_source_columns
from pomona.features._resolve import BoundView
from pomona.features.definitions import ValueType

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = ["Snapshot", "TransformContext", "arrow_type", "canonical_schema", "dedup", "snapshot"]

_SQL_TYPES = {
    ValueType.INT64: "BIGINT",
    ValueType.FLOAT64: "DOUBLE",
    ValueType.STRING: "VARCHAR",
    ValueType.BOOL: "BOOLEAN",
    ValueType.TIMESTAMP: "TIMESTAMPTZ",
}


@dataclass(frozen=True)
class TransformContext:
    """What a transformation may use besides its batch: blobs of the artifact store."""

    read_blob: Callable[[str], bytes]


@dataclass(frozen=True)
class Snapshot:
    path: Path
    num_rows: int
    dropped_rows: int


def sql_type(dtype: ValueType) -> str:
    return _SQL_TYPES[dtype]


def arrow_type(dtype: ValueType) -> pa.DataType:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    return {
        ValueType.INT64: pa.int64(),
        ValueType.FLOAT64: pa.float64(),
        ValueType.STRING: pa.string(),
        ValueType.BOOL: pa.bool_(),
        ValueType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    }[dtype]


def canonical_schema(bound: BoundView, *, row: bool = False, created: bool = False) -> pa.Schema:
    """Keys, ``_event_ts``, (``_created_ts``), features, (``_row``)."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    fields = [pa.field(k.name, arrow_type(k.dtype)) for k in bound.keys]
    fields.append(pa.field("_event_ts", pa.timestamp("us", tz="UTC")))
    if created:
        fields.append(pa.field("_created_ts", pa.timestamp("us", tz="UTC")))
    fields.extend(pa.field(f.name, arrow_type(f.dtype)) for f in bound.view.schema)
    if row:
        fields.append(pa.field("_row", pa.int64()))
    return pa.schema(fields)


def _cast(expr: str, dtype: ValueType) -> str:
    return f"CAST({expr} AS {sql_type(dtype)})"


def _query(bound: BoundView, opened: OpenedSource, *, transform: bool) -> str:
    view = bound.view
    parts = [f"{_cast(ident(k.name), k.dtype)} AS {ident(k.name)}" for k in bound.keys]
    parts.append(f"CAST({ident(view.timestamp_column)} AS TIMESTAMPTZ) AS _event_ts")
    if view.created_column:
        parts.append(f"CAST({ident(view.created_column)} AS TIMESTAMPTZ) AS _created_ts")
    if not transform:
        parts.extend(f"{_cast(ident(f.name), f.dtype)} AS {ident(f.name)}" for f in view.schema)
    else:
        raw = [c for c in opened.columns if c not in {k.name for k in bound.keys}]
        parts.extend(f"{ident(c)} AS {ident('__src_' + c)}" for c in raw)
    return f"SELECT {', '.join(parts)} FROM {opened.relation}"


def snapshot(
    con: duckdb.DuckDBPyConnection,
    bound: BoundView,
    opened: OpenedSource,
    scratch: Path,
    *,
    batch_rows: int,
    context: TransformContext | None,
    what: str = "",
) -> Snapshot:
    """Write the canonical, de-duplicated snapshot of ``opened`` under ``scratch``.

    With ``context=None`` the rows already hold the features (pushes): the view's
    transformation is not applied.
    """
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    declared = bound.view.transformation
    transform = declared.load() if declared is not None and context is not None else None
    check_source_columns(
        bound.view, bound.keys, opened.columns, opened.label, transformed=transform is not None
    )
    created = bound.view.created_column is not None
    schema = canonical_schema(bound, row=True, created=created)
    raw_path = scratch / f"raw-{uuid.uuid4().hex}.parquet"
    kept = dropped = 0
    what = what or f"ingest feature view '{bound.name}'"
    query = _query(bound, opened, transform=transform is not None)
    with translated(what, source=opened.label), pq.ParquetWriter(raw_path, schema) as writer:
        reader = con.sql(query).to_arrow_reader(batch_rows)
        for batch in reader:
            table = _canonical(batch, bound, schema, transform, context, first_row=kept)
            dropped += batch.num_rows - table.num_rows
            kept += table.num_rows
            if table.num_rows:
                writer.write_table(table)
    out = scratch / f"snap-{uuid.uuid4().hex}.parquet"
    try:
        dedup(con, bound, [raw_path], out, created=created, what=what)
    finally:
        raw_path.unlink(missing_ok=True)
    with translated(what):
        (rows,) = con.execute(f"SELECT count(*) FROM read_parquet({literal(str(out))})").fetchall()
    return Snapshot(out, int(rows[0]), dropped)


def dedup(
    con: duckdb.DuckDBPyConnection,
    bound: BoundView,
    inputs: list[Path],
    out: Path,
    *,
    created: bool,
    what: str,
) -> None:
    """Copy ``inputs`` to ``out`` keeping one row per (keys, ``_event_ts``), sorted by
    them: a point-in-time join over a sorted segment sorts it about 30% faster."""
    from pomona.features._duck import path_list

    keys = ", ".join(ident(k.name) for k in bound.keys)
    order = ("_created_ts DESC NULLS LAST, " if created else "") + "_row DESC"
    drop = "_row, _created_ts" if created else "_row"
    sql = (
        f"COPY (SELECT * EXCLUDE ({drop}) FROM read_parquet({path_list(inputs)}) "
        f"QUALIFY row_number() OVER (PARTITION BY {keys}, _event_ts ORDER BY {order}) = 1 "
        f"ORDER BY {keys}, _event_ts) "
        f"TO {literal(str(out))} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"
    )
    with translated(what):
        con.execute(sql).fetchall()


def _canonical(
    batch: pa.RecordBatch,
    bound: BoundView,
    schema: pa.Schema,
    transform: Callable[..., Any] | None,
    context: TransformContext | None,
    *,
    first_row: int,
) -> pa.Table:
    """Rows with a timestamp and every key, typed as ``schema``, numbered from ``first_row``."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    mask = pc.is_valid(batch.column("_event_ts"))
    for key in bound.keys:
        mask = pc.and_(mask, pc.is_valid(batch.column(key.name)))
    batch = batch.filter(mask)
    columns: dict[str, Any] = {n: batch.column(n) for n in batch.schema.names}
    if transform is not None:
        assert context is not None
        columns.update(_transformed(batch, bound, transform, context))
    arrays = []
    for field in schema:
        if field.name == "_row":
            arrays.append(pa.array(range(first_row, first_row + batch.num_rows), pa.int64()))
        else:
            arrays.append(_as_type(columns[field.name], field, bound.name))
    return pa.Table.from_arrays(arrays, schema=schema)


def _transformed(
    batch: pa.RecordBatch,
    bound: BoundView,
    transform: Callable[..., Any],
    context: TransformContext,
) -> Mapping[str, Any]:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    names = [n for n in batch.schema.names if n.startswith("__src_")]
    keys = [k.name for k in bound.keys]
    source = pa.RecordBatch.from_arrays(
        [batch.column(n) for n in keys + names],
        names=keys + [n.removeprefix("__src_") for n in names],
    )
    view = bound.view
    assert view.transformation is not None
    result = transform(source, context, **view.transformation.params)
    if isinstance(result, (pa.RecordBatch, pa.Table)):
        result = {n: result.column(n) for n in result.schema.names}
    if not isinstance(result, Mapping):
        raise InvalidInputError(
            f"Transformation '{view.transformation.function}' returned "
            f"{type(result).__name__}, not a mapping of feature columns.",
            details={"field": "transformation", "view": view.name},
        )
    missing = [f.name for f in view.schema if f.name not in result]
    if missing:
        raise InvalidInputError(
            f"Transformation '{view.transformation.function}' of view '{view.name}' "
            f"returned no column '{missing[0]}'.",
            hint="It must return every declared feature.",
            details={"field": "features", "view": view.name, "missing": missing},
        )
    for feature in view.schema:
        if len(result[feature.name]) != source.num_rows:
            raise InvalidInputError(
                f"Transformation '{view.transformation.function}' returned "
                f"{len(result[feature.name])} values of '{feature.name}' "
                f"for {source.num_rows} rows.",
                details={"field": "transformation", "view": view.name},
            )
    return result


def _as_type(values: Any, field: pa.Field, view: str) -> pa.Array:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    try:
        array = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
        return array.cast(field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidInputError(
            f"Feature view '{view}': column '{field.name}' cannot be read as {field.type}: {exc}.",
            hint="Declare the type the source holds, or fix the data.",
            details={"field": field.name, "view": view},
        ) from exc
