"""Reading versions back: record indexes, table parts, records, files and exports."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.datasets._manifest import (
    IMAGE_PROPERTIES,
    REASONS,
    RECORD_INDEX,
    BlobRef,
    Manifest,
    read_index,
    read_part,
)
from pomona.datasets._model import Record
from pomona.errors import InvalidInputError, NotFoundError
from pomona.types import Digest

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa  # type: ignore[import-untyped]

__all__ = [
    "export_version",
    "find_image",
    "image_rows",
    "iter_parts",
    "load_table",
    "record_from_image",
    "record_from_row",
    "safe_relative",
]


def image_rows(
    blobs: ArtifactStore, manifest: Manifest, *, quarantined: bool = False
) -> list[dict[str, Any]]:
    """The record index rows of an image version (clean, or quarantined with reasons)."""
    return read_index(blobs, manifest.quarantine if quarantined else manifest.records)


def iter_parts(
    blobs: ArtifactStore, parts: Collection[BlobRef], columns: list[str] | None = None
) -> Iterator[pa.Table]:
    """The Parquet parts of a table version, one Arrow table at a time."""
    for part in parts:
        table = read_part(blobs, part)
        yield table if columns is None else table.select(columns)


def load_table(
    blobs: ArtifactStore,
    manifest: Manifest,
    *,
    quarantined: bool = False,
    ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """The rows of a table version as a DataFrame indexed by record id (``_record``)."""
    import pyarrow as pa
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    parts = manifest.quarantine if quarantined else manifest.records
    wanted = pa.array(sorted(ids), pa.int64()) if ids is not None else None
    tables = []
    for table in iter_parts(blobs, parts):
        if wanted is not None:
            table = table.filter(pc.is_in(table[RECORD_INDEX], value_set=wanted))
        tables.append(table)
    if not tables:
        return _empty_frame(manifest)
    df = pa.concat_tables(tables, promote_options="permissive").to_pandas()
    return df.set_index(RECORD_INDEX)


def _empty_frame(manifest: Manifest) -> pd.DataFrame:
    import pandas as pd

    df = pd.DataFrame({name: pd.Series(dtype="object") for name in manifest.columns})
    df.index = pd.Index([], dtype="int64", name=RECORD_INDEX)
    return df


def record_from_image(row: Mapping[str, Any]) -> Record:
    reasons = tuple(json.loads(row[REASONS])) if row.get(REASONS) else ()
    return Record(
        record_id=row["record_id"],
        label=row.get("label"),
        digest=check_digest(row["digest"]),
        size=int(row["size"]),
        reasons=reasons,
        attributes={k: row.get(k) for k in IMAGE_PROPERTIES if row.get(k) is not None},
    )


def record_from_row(row: Mapping[str, Any], label: str | None) -> Record:
    """A table row as a record: its values, label and reasons (when quarantined)."""
    values = {k: _plain(v) for k, v in row.items() if k not in (RECORD_INDEX, REASONS)}
    reasons = tuple(json.loads(row[REASONS])) if row.get(REASONS) else ()
    value = values.get(label) if label else None
    return Record(
        record_id=str(row[RECORD_INDEX]),
        label=None if value is None else str(value),
        reasons=reasons,
        attributes=values,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def safe_relative(record_id: str) -> Path:
    """``record_id`` as a relative path that cannot leave the folder it is joined to."""
    parts = [p for p in record_id.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise InvalidInputError(f"'{record_id}' is not a record id that can name a file.")
    return Path(*parts)


def find_image(blobs: ArtifactStore, manifest: Manifest, record_id: str, where: str) -> Digest:
    """The digest of an image record, clean or quarantined."""
    for quarantined in (False, True):
        for row in image_rows(blobs, manifest, quarantined=quarantined):
            if row["record_id"] == record_id:
                return check_digest(row["digest"])
    raise NotFoundError(
        f"{where} has no file '{record_id}'.",
        hint=f"Run 'pomona data show {where}' to see its records.",
        details={"record_id": record_id},
    )


def export_version(
    blobs: ArtifactStore,
    manifest: Manifest,
    dest: Path,
    ids: Collection[str] | None,
) -> Path:
    """Write an image version as ``dest/<label>/<file>`` or a table as ``dest/data.parquet``."""
    dest.mkdir(parents=True, exist_ok=True)
    if manifest.kind == "table":
        df = load_table(blobs, manifest, ids=None if ids is None else {int(i) for i in ids})
        df.to_parquet(dest / "data.parquet")
        return dest
    for row in image_rows(blobs, manifest):
        if ids is not None and row["record_id"] not in ids:
            continue
        name = safe_relative(row["record_id"])
        if row["label"]:
            flat = "__".join(name.parts)
            target = dest / safe_relative(row["label"].replace("/", "_")) / flat
        else:
            target = dest / name
        blobs.get_file(check_digest(row["digest"]), target)
    return dest
