"""The content-addressed manifest of a version, and the Parquet record indexes it names.

A manifest is a small JSON blob. Image versions name two Parquet indexes (clean and
quarantined files: record id, file digest, size, label, image properties); table versions
name Parquet parts of clean rows and of quarantined rows (with a ``_reasons`` column).
Every digest it names is a blob in the artifact store.
"""

from __future__ import annotations

import io
import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.errors import BackendError
from pomona.types import Digest

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

__all__ = [
    "FORMAT",
    "IMAGE_PROPERTIES",
    "INDEX_COLUMNS",
    "INDEX_ROW_GROUP",
    "REASONS",
    "RECORD_INDEX",
    "BlobRef",
    "IndexWriter",
    "Ingested",
    "Manifest",
    "index_table",
    "load_manifest",
    "put_json",
    "read_index",
    "read_json",
    "read_part",
    "write_index",
    "write_manifest",
]

FORMAT = "pomona.dataset/1"
RECORD_INDEX = "_record"
"""Name of a table's index column: the row's record id (its row number at ingest)."""
REASONS = "_reasons"
"""Column of quarantined rows and files: a JSON list of why each was quarantined."""
IMAGE_PROPERTIES: tuple[str, ...] = (
    "width",
    "height",
    "format",
    "mode",
    "brightness",
    "contrast",
    "blur",
    "mean_r",
    "mean_g",
    "mean_b",
    "phash",
)
"""What image validation measured on a file, as columns of the record index."""
INDEX_COLUMNS: tuple[str, ...] = ("record_id", "digest", "size", "label", *IMAGE_PROPERTIES)
INDEX_ROW_GROUP = 8192
"""Rows per row group of a record index (fixed: the same rows give the same bytes)."""


@dataclass(frozen=True, slots=True)
class BlobRef:
    """A blob the manifest names: digest, size, and rows for a Parquet part."""

    digest: Digest
    size: int
    rows: int

    def to_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "size": self.size, "rows": self.rows}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> BlobRef:
        return BlobRef(check_digest(data["digest"]), int(data["size"]), int(data["rows"]))


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a version holds. ``records``/``quarantine`` are indexes (images) or parts (tables)."""

    kind: str
    records: tuple[BlobRef, ...]
    quarantine: tuple[BlobRef, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)

    @property
    def num_records(self) -> int:
        return sum(part.rows for part in self.records)

    @property
    def num_quarantined(self) -> int:
        return sum(part.rows for part in self.quarantine)

    def to_bytes(self) -> bytes:
        body = {
            "format": FORMAT,
            "kind": self.kind,
            "records": [p.to_json() for p in self.records],
            "quarantine": [p.to_json() for p in self.quarantine],
            "columns": dict(self.columns),
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @staticmethod
    def from_bytes(data: bytes) -> Manifest:
        body = json.loads(data)
        if body.get("format") != FORMAT:
            raise BackendError(f"Unknown dataset manifest format {body.get('format')!r}.")
        return Manifest(
            kind=body["kind"],
            records=tuple(BlobRef.from_json(p) for p in body["records"]),
            quarantine=tuple(BlobRef.from_json(p) for p in body["quarantine"]),
            columns=dict(body.get("columns") or {}),
        )

    def blobs(self) -> list[BlobRef]:
        """Every blob the manifest names directly."""
        return [*self.records, *self.quarantine]


@dataclass
class Ingested:
    """What reading a source (or deriving from a version) produced, before it is committed."""

    manifest: Manifest
    report: Any
    """The ``ValidationReport``."""
    profile: dict[str, Any]
    label_counts: dict[str, int]
    schema: dict[str, Any]
    content: Mapping[str, int]
    """Records per content digest (image files; a table's Parquet parts), to count what is new."""
    suite_yaml: str | None = None
    blobs: Mapping[str, int] = field(default_factory=dict)
    """Every blob the manifest refers to, directly or through an index, with its size."""

    @property
    def size_bytes(self) -> int:
        return sum(self.blobs.values())


def put_json(blobs: ArtifactStore, data: Any) -> Digest:
    """Store ``data`` as canonical JSON; returns its digest."""
    payload = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    digest, _ = blobs.put_bytes(payload.encode())
    return digest


def read_json(blobs: ArtifactStore, digest: str) -> Any:
    return json.loads(blobs.read_bytes(check_digest(digest)))


def write_manifest(blobs: ArtifactStore, manifest: Manifest) -> Digest:
    digest, _ = blobs.put_bytes(manifest.to_bytes())
    return digest


def load_manifest(blobs: ArtifactStore, digest: str) -> Manifest:
    return Manifest.from_bytes(blobs.read_bytes(check_digest(digest)))


def _index_schema(with_reasons: bool) -> pa.Schema:
    import pyarrow as pa

    fields = [
        pa.field("record_id", pa.string(), nullable=False),
        pa.field("digest", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("label", pa.string()),
        pa.field("width", pa.int64()),
        pa.field("height", pa.int64()),
        pa.field("format", pa.string()),
        pa.field("mode", pa.string()),
        pa.field("brightness", pa.float64()),
        pa.field("contrast", pa.float64()),
        pa.field("blur", pa.float64()),
        pa.field("mean_r", pa.float64()),
        pa.field("mean_g", pa.float64()),
        pa.field("mean_b", pa.float64()),
        pa.field("phash", pa.string()),
    ]
    if with_reasons:
        fields.append(pa.field(REASONS, pa.string()))
    return pa.schema(fields)


def parquet_bytes(table: pa.Table) -> bytes:
    """Deterministic Parquet bytes of ``table`` (same rows, same bytes)."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", write_statistics=False)
    return buf.getvalue()


def index_table(rows: Sequence[Mapping[str, Any]], *, with_reasons: bool = False) -> pa.Table:
    """Record index rows (dicts; missing keys are null) as an Arrow table."""
    import pyarrow as pa

    schema = _index_schema(with_reasons)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.table(columns, schema=schema)


class IndexWriter:
    """Writes a record index to a local Parquet file, ``INDEX_ROW_GROUP`` rows at a time.

    Row groups have a fixed size, so the same rows give the same bytes however they were
    fed; memory holds at most one row group.
    """

    def __init__(self, path: Path, *, with_reasons: bool = False) -> None:
        import pyarrow.parquet as pq

        self.path = path
        self.rows = 0
        self._schema = _index_schema(with_reasons)
        self._pending: list[pa.Table] = []
        self._buffered = 0
        self._writer = pq.ParquetWriter(
            path, self._schema, compression="zstd", write_statistics=False
        )

    def write(self, table: pa.Table) -> None:
        """Append rows (a table with the index's columns)."""
        if table.num_rows == 0:
            return
        self._pending.append(table.select(self._schema.names).cast(self._schema))
        self._buffered += table.num_rows
        self.rows += table.num_rows
        if self._buffered >= INDEX_ROW_GROUP:
            self._flush(final=False)

    def _flush(self, *, final: bool) -> None:
        import pyarrow as pa

        table = pa.concat_tables(self._pending) if self._pending else self._schema.empty_table()
        whole = table.num_rows if final else table.num_rows - table.num_rows % INDEX_ROW_GROUP
        if whole or (final and self.rows == 0):
            self._writer.write_table(table.slice(0, whole), row_group_size=INDEX_ROW_GROUP)
            pa.default_memory_pool().release_unused()  # mimalloc keeps freed pages otherwise
        rest = table.slice(whole)
        self._pending = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows

    def finish(self) -> None:
        """Write what is buffered and close the file (``path`` is then complete)."""
        self._flush(final=True)
        self._writer.close()

    def store(self, blobs: ArtifactStore) -> BlobRef:
        """Finish the file and store it; returns its reference."""
        self.finish()
        digest, size = blobs.put_file(self.path)
        return BlobRef(digest, size, self.rows)

    def close(self) -> None:
        """Close the file without storing it (after a failure)."""
        self._writer.close()


def write_index(
    blobs: ArtifactStore, rows: Sequence[Mapping[str, Any]], *, with_reasons: bool = False
) -> BlobRef:
    """Store a record index (one dict per image file) as Parquet."""
    with tempfile.TemporaryDirectory(prefix="pomona-index-") as tmp:
        writer = IndexWriter(Path(tmp) / "index.parquet", with_reasons=with_reasons)
        try:
            writer.write(index_table(rows, with_reasons=with_reasons))
            return writer.store(blobs)
        finally:
            writer.close()


def read_index(blobs: ArtifactStore, parts: Iterable[BlobRef]) -> list[dict[str, Any]]:
    """Every row of the record indexes ``parts``, as dicts."""
    rows: list[dict[str, Any]] = []
    for part in parts:
        rows.extend(read_part(blobs, part).to_pylist())
    return rows


def read_part(
    blobs: ArtifactStore, part: BlobRef, columns: Sequence[str] | None = None
) -> pa.Table:
    """One Parquet blob as an Arrow table (only ``columns`` when given)."""
    import pyarrow.parquet as pq

    data = io.BytesIO(blobs.read_bytes(part.digest))
    return pq.read_table(data, columns=None if columns is None else list(columns))
