"""The offline store: Parquet segments in the artifact store, queried with DuckDB."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from pomona._utils.clock import now_ms
from pomona.artifacts.base import ArtifactStore
from pomona.features import _segments
from pomona.features._duck import DuckSettings, connect, literal, translated
from pomona.features._ingest import TransformContext, canonical_schema, snapshot
from pomona.features._pit import ViewData, latest_sql, pit_sql
from pomona.features._read import BlobCache, OpenedSource, SourceReader, check_source_columns
from pomona.features._resolve import BoundView, Column
from pomona.features._stats import compute_stats
from pomona.metadata import MetadataStore
from pomona.types import Digest

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    from pomona.features.sources import SourceResolver

__all__ = ["OfflineStore"]

MAX_PUSH_SEGMENTS = 32


class OfflineStore:
    """Snapshots, pushes, point-in-time joins and latest-value scans of feature views."""

    def __init__(
        self,
        db: MetadataStore,
        blobs: ArtifactStore,
        cache_dir: Path,
        *,
        resolver: SourceResolver | None = None,
        duck: DuckSettings | None = None,
        batch_rows: int = 65_536,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.cache = BlobCache(blobs, cache_dir / "blobs")
        self.scratch = cache_dir / "tmp"
        self.duck = duck or DuckSettings(temp_dir=cache_dir / "duckdb")
        self.reader = SourceReader(self.cache, resolver, self.scratch)
        self.batch_rows = batch_rows

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.scratch.mkdir(parents=True, exist_ok=True)
        self.cache.folder.mkdir(parents=True, exist_ok=True)
        con = connect(self.duck)
        try:
            yield con
        finally:
            con.close()

    # --- snapshots ----------------------------------------------------------------------

    def check_source(self, bound: BoundView) -> None:
        """Raise unless the source has the view's timestamp, key and feature columns."""
        with self.connection() as con:
            opened = self.reader.open(con, bound.view)
            check_source_columns(
                bound.view,
                bound.keys,
                opened.columns,
                opened.label,
                transformed=bound.view.transformation is not None,
            )

    def ensure_snapshot(self, bound: BoundView, *, force: bool = False) -> _segments.Segment:
        """The current snapshot of ``bound``; a new one if the source or version changed."""
        fingerprint = self.reader.fingerprint(bound.view)
        with self.db.read() as conn:
            current = _segments.latest_snapshot(conn, bound.name, bound.version)
        if current is not None and current.fingerprint == fingerprint and not force:
            return current
        with self.connection() as con:
            opened = self.reader.open(con, bound.view)
            snap = snapshot(
                con,
                bound,
                opened,
                self.scratch,
                batch_rows=self.batch_rows,
                context=TransformContext(self._read_blob),
            )
            try:
                stats = compute_stats(con, bound, snap.path)
                stats["dropped"] = snap.dropped_rows
                digest, size = self._keep(snap.path)
            finally:
                snap.path.unlink(missing_ok=True)
        with self.db.write() as conn:
            pk = _segments.insert(
                conn,
                view_name=bound.name,
                view_version=bound.version,
                kind="source",
                digest=digest,
                size=size,
                num_rows=snap.num_rows,
                min_ts_ms=stats["min_ms"],
                max_ts_ms=stats["max_ms"],
                fingerprint=opened.fingerprint,
                stats=stats,
                created_ms=now_ms(),
            )
            return _segments.latest_snapshot(conn, bound.name, bound.version) or _missing(pk)

    def _read_blob(self, digest: str) -> bytes:
        from pomona.artifacts.base import check_digest

        return self.blobs.read_bytes(check_digest(digest))

    def _keep(self, path: Path) -> tuple[Digest, int]:
        """Store a local Parquet file as a blob and keep it in the cache (no download)."""
        digest, size = self.blobs.put_file(path)
        dest = self.cache.folder / f"{digest.split(':', 1)[1]}.parquet"
        if not dest.exists():
            tmp = dest.with_name(f"{dest.stem}.{uuid.uuid4().hex}.tmp")
            shutil.copyfile(path, tmp)
            os.replace(tmp, dest)
        return digest, size

    def view_data(self, bound: BoundView) -> tuple[ViewData, list[Digest]]:
        """Local files of the view's current segments, and their digests (lineage)."""
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        snap = self.ensure_snapshot(bound)
        with self.db.read() as conn:
            pushes = _segments.pushes(conn, bound.name)
        files = []
        for seg in pushes:
            path = self.cache.path(seg.digest)
            files.append((path, frozenset(pq.read_schema(path).names)))
        data = ViewData(bound, self.cache.path(snap.digest), files)
        return data, [snap.digest, *(s.digest for s in pushes)]

    # --- queries ------------------------------------------------------------------------

    def historical(
        self, entities: pa.Table, columns: Sequence[Column]
    ) -> tuple[pa.Table, dict[str, dict[str, object]]]:
        """Feature columns (named ``c0``, ``c1``… in ``columns`` order) for each row of
        ``entities`` (keys, ``_pit_ts``, ``_eid``), and the lineage of the views read."""
        groups: dict[str, tuple[ViewData, list[Column]]] = {}
        lineage: dict[str, dict[str, object]] = {}
        for column in columns:
            name = column.view.name
            if name not in groups:
                data, digests = self.view_data(column.view)
                groups[name] = (data, [])
                lineage[name] = {"version": column.view.version, "segments": list(digests)}
            groups[name][1].append(column)
        aliases = {id(c): f"c{i}" for i, c in enumerate(columns)}
        sql = pit_sql(list(groups.values()), aliases)
        with self.connection() as con, translated("join features point-in-time"):
            con.register("_entities", entities)
            result = con.sql(sql).to_arrow_table()
        return result, lineage

    def latest_batches(
        self, bound: BoundView, start_us: int, end_us: int
    ) -> Iterator[pa.RecordBatch]:
        """The newest row per entity in ``[start, end]``, streamed in bounded batches."""
        data, _ = self.view_data(bound)
        with self.connection() as con, translated(f"read feature view '{bound.name}'"):
            con.execute("SET preserve_insertion_order = false").fetchall()  # any order will do
            sql = latest_sql(data, start_us, end_us)
            yield from con.sql(sql).to_arrow_reader(self.batch_rows)

    # --- pushes -------------------------------------------------------------------------

    def canonical_push(self, bound: BoundView, table: pa.Table) -> pa.Table:
        """Pushed rows typed like a snapshot, one per (key, event time): the last wins."""
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        columns = {n: str(t) for n, t in zip(table.schema.names, table.schema.types, strict=True)}
        opened = OpenedSource("_pushed", columns, "push", "the pushed rows")
        with self.connection() as con:
            con.register("_pushed", table)
            snap = snapshot(
                con,
                bound,
                opened,
                self.scratch,
                batch_rows=self.batch_rows,
                context=None,
                what=f"push rows to feature view '{bound.name}'",
            )
        try:
            return pq.read_table(snap.path)
        finally:
            snap.path.unlink(missing_ok=True)

    def append_push(self, bound: BoundView, rows: pa.Table) -> Digest:
        """Store canonical pushed rows as a push segment; merges segments past a limit."""
        with self.db.write() as conn:
            digest = self._insert_push(conn, bound, rows)
            count = len(_segments.pushes(conn, bound.name))
        if count > MAX_PUSH_SEGMENTS:
            self.merge_pushes(bound)
        return digest

    def _insert_push(self, conn: Connection, bound: BoundView, rows: pa.Table) -> Digest:
        import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        self.scratch.mkdir(parents=True, exist_ok=True)
        path = self.scratch / f"push-{uuid.uuid4().hex}.parquet"
        pq.write_table(rows, path)
        try:
            digest, size = self._keep(path)  # the blob before the row that names it
        finally:
            path.unlink(missing_ok=True)
        ts = rows.column("_event_ts")
        low, high = pc.min(ts).as_py(), pc.max(ts).as_py()
        _segments.insert(
            conn,
            view_name=bound.name,
            view_version=bound.version,
            kind="push",
            digest=digest,
            size=size,
            num_rows=rows.num_rows,
            min_ts_ms=None if low is None else int(low.timestamp() * 1000),
            max_ts_ms=None if high is None else int(high.timestamp() * 1000),
            fingerprint=None,
            stats=None,
            created_ms=now_ms(),
        )
        return digest

    def merge_pushes(self, bound: BoundView) -> None:
        """Replace the view's push segments by one (later pushes win ties)."""
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        from pomona.features._pit import view_relation

        with self.db.read() as conn:
            pushes = _segments.pushes(conn, bound.name)
        if len(pushes) < 2:
            return
        empty = self.scratch / f"empty-{uuid.uuid4().hex}.parquet"
        out = self.scratch / f"merged-{uuid.uuid4().hex}.parquet"
        pq.write_table(canonical_schema(bound).empty_table(), empty)
        files = [self.cache.path(s.digest) for s in pushes]
        data = ViewData(bound, empty, [(f, frozenset(_names(f))) for f in files])
        relation = view_relation(data, bound.view.feature_names)
        try:
            with self.connection() as con, translated("merge pushed rows"):
                con.execute(
                    f"COPY (SELECT * FROM {relation}) TO {literal(str(out))} (FORMAT parquet)"
                ).fetchall()
            rows = pq.read_table(out)
        finally:
            empty.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
        with self.db.write() as conn:
            self._insert_push(conn, bound, rows)
            _segments.mark_merged(conn, [s.pk for s in pushes])


def _names(path: Path) -> list[str]:
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    return list(pq.read_schema(path).names)


def _missing(pk: int) -> _segments.Segment:
    raise AssertionError(f"segment {pk} vanished inside its transaction")
