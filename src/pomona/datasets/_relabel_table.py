"""Relabelling a table version: new values in its label column for the rows named by id.

Every row (clean and quarantined) is read back a part at a time, the label column is
changed where the mapping names the row (record id: the row number at ingest), and the
rows are validated and stored again with the parent's suite, so a new label that breaks
a check (an unknown category) quarantines its row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _quality
from pomona.datasets._ingest_table import TableBatch, store_table
from pomona.datasets._labels import LabelTable, check_known
from pomona.datasets._manifest import REASONS, RECORD_INDEX, Ingested, Manifest
from pomona.datasets._model import DatasetVersion
from pomona.datasets._reading import iter_parts
from pomona.errors import InvalidInputError

__all__ = ["relabel_table"]


def relabel_table(
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    table: LabelTable,
    suite_yaml: str | None,
) -> Ingested:
    """The table version with new labels in its label column (see the module docstring)."""
    label = version.schema.get("label")
    if not label:
        raise InvalidInputError(
            f"{version} has no label column to relabel.",
            hint="Ingest the table with labels=COLUMN (CLI: --labels COLUMN) first.",
            details={"field": "ref"},
        )
    parts = [*manifest.records, *manifest.quarantine]
    ids = (
        str(i)
        for t in iter_parts(blobs, parts, [RECORD_INDEX])
        for i in t[RECORD_INDEX].to_pylist()
    )
    check_known(table, ids, str(version))
    new = {int(k): v for k, v in table.labels.items()}
    return store_table(
        _batches(blobs, parts, str(label), new, str(version)),
        blobs=blobs,
        suite=_quality.table_suite(suite_yaml),
        label=str(label),
    )


def _batches(
    blobs: ArtifactStore, parts: list[Any], label: str, new: Mapping[int, str], where: str
) -> Iterator[TableBatch]:
    import pyarrow as pa  # type: ignore[import-untyped]

    for i, part in enumerate(iter_parts(blobs, parts)):
        df = part.to_pandas().set_index(RECORD_INDEX).drop(columns=[REASONS], errors="ignore")
        df[label] = _relabelled(df[label], new, label, where)
        ids = np.asarray(df.index, dtype=np.int64)
        batch = pa.RecordBatch.from_pandas(df.reset_index(drop=True), preserve_index=False)
        yield TableBatch(f"part-{i}", batch, ids)


def _relabelled(column: Any, new: Mapping[int, str], label: str, where: str) -> Any:
    """``column`` (indexed by record id) with the labels ``new`` names, in its own type."""
    import pandas as pd  # type: ignore[import-untyped]

    hits = [i for i in column.index if i in new]
    if not hits:
        return column
    values = pd.Series([new[i] for i in hits], index=hits, dtype=object)
    if isinstance(column.dtype, pd.CategoricalDtype):
        extra = sorted(set(values) - set(column.cat.categories))
        column = column.cat.add_categories(extra) if extra else column.copy()
        column.loc[hits] = values
        return column
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = _numbers(values, column.dtype, label, where)
    column = column.copy()
    column.loc[hits] = values
    return column


def _numbers(values: Any, dtype: Any, label: str, where: str) -> Any:
    import pandas as pd

    for record, value in values.items():
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        integral = pd.api.types.is_integer_dtype(dtype)
        if np.isnan(number) or (integral and not number.is_integer()):
            kind = "an integer" if integral else "a number"
            raise InvalidInputError(
                f"Record '{record}' of {where}: the label {value!r} is not {kind}, as the "
                f"column '{label}' holds.",
                hint="Give labels of the column's type.",
                details={"field": "labels", "file": str(record)},
            )
    return pd.to_numeric(values).astype(dtype)
