"""Ingesting a table: stream batches, validate each, store clean and quarantined rows as Parquet.

Memory is bounded by the batch size: a batch is conformed to the first batch's schema,
validated, split into clean and quarantined rows, written to the current Parquet part and
dropped; the profile is computed on a bounded uniform sample of clean rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _quality
from pomona.datasets._labels import NO_LABEL
from pomona.datasets._manifest import REASONS, RECORD_INDEX, Ingested, Manifest
from pomona.datasets._sources import FileSource, SqlSource
from pomona.datasets._tables import PartWriter, SchemaGuard, iter_batches
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa  # type: ignore[import-untyped]

__all__ = ["PROFILE_ROWS", "Sampler", "TableBatch", "ingest_table", "store_table"]

PROFILE_ROWS = 100_000
"""Clean rows sampled (uniformly) to infer a suite from a table."""


@dataclass
class Sampler:
    """A uniform sample of at most ``size`` rows over batches (bottom-k random keys)."""

    size: int = PROFILE_ROWS
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    frames: list[pd.DataFrame] = field(default_factory=list)
    keys: np.ndarray[Any, Any] | None = None

    def add(self, df: pd.DataFrame) -> None:
        import pandas as pd

        if df.empty:
            return
        keys = self.rng.random(len(df))
        frame = pd.concat([*self.frames, df]) if self.frames else df
        keys = keys if self.keys is None else np.concatenate([self.keys, keys])
        if len(frame) > self.size:
            keep = np.sort(np.argpartition(keys, self.size)[: self.size])
            frame, keys = frame.iloc[keep], keys[keep]
        self.frames, self.keys = [frame], keys

    def frame(self) -> pd.DataFrame | None:
        return self.frames[0] if self.frames else None


@dataclass
class TableBatch:
    """One batch of rows with their record ids (row numbers) and the file it came from."""

    name: str
    batch: pa.RecordBatch
    ids: np.ndarray[Any, Any]


def _batches(source: FileSource | SqlSource, batch_rows: int) -> Iterator[TableBatch]:
    guard = SchemaGuard()
    offset = 0
    for name, batch in iter_batches(source, batch_rows):
        batch = guard.conform(name, batch)
        if batch.num_rows:
            ids = np.arange(offset, offset + batch.num_rows, dtype=np.int64)
            yield TableBatch(name, batch, ids)
            offset += batch.num_rows


def ingest_table(
    source: FileSource | SqlSource,
    *,
    blobs: ArtifactStore,
    suite: Any,
    label: str | None,
    batch_rows: int,
) -> Ingested:
    """Validate and store every row of ``source`` (see ``store_table``)."""
    return store_table(_batches(source, batch_rows), blobs=blobs, suite=suite, label=label)


def store_table(
    batches: Iterable[TableBatch], *, blobs: ArtifactStore, suite: Any, label: str | None
) -> Ingested:
    """Validate, split and store batches as Parquet parts; the core of ingest and prepare.

    ``suite=None`` checks the columns and types of the first batch (``schema_suite``).
    """
    clean, held = PartWriter(blobs), PartWriter(blobs)
    split = _Splitter(suite, label)
    last = None
    with _Behind() as behind:
        try:
            for item in batches:
                if item.name != last:
                    behind.submit(clean.flush)
                    last = item.name
                split.add(item, clean, held, behind)
            behind.submit(clean.close)
            behind.submit(held.close)
            behind.wait()
        finally:
            behind.wait(raising=False)
            clean.close()
            held.close()
    if split.schema is None:
        raise InvalidInputError(
            "The source holds no rows.",
            hint="Check the files or the query.",
            details={"field": "source"},
        )
    return _summarise(clean, held, split)


class _Splitter:
    """Validates batches with one streaming validator and routes each row: clean or held."""

    def __init__(self, suite: Any, label: str | None) -> None:
        self.suite = suite
        self.label = label
        self.validator: Any = None
        self.schema: pa.Schema | None = None
        self.profiler = _quality.table_profiler(label)
        self.labels: Counter[str] = Counter()
        self.seen = 0

    def add(self, item: TableBatch, clean: PartWriter, held: PartWriter, behind: _Behind) -> None:
        import pandas as pd
        import pyarrow as pa

        df = item.batch.to_pandas()
        df.index = pd.Index(item.ids, name=RECORD_INDEX)
        if self.validator is None:
            self.schema = item.batch.schema
            _check_label(self.label, self.schema.names)
            self.suite = self.suite if self.suite is not None else _quality.schema_suite(df)
            self.validator = _quality.table_validator(self.suite)
        self.validator.update(df)
        quarantined = self.validator.report().quarantined
        fresh = list(quarantined)[self.seen :]
        self.seen = len(quarantined)
        bad = np.isin(item.ids, np.array([int(k) for k in fresh], dtype=np.int64))
        table = pa.Table.from_batches([item.batch]).append_column(RECORD_INDEX, pa.array(item.ids))
        any_bad = bool(bad.any())
        good = df[~bad] if any_bad else df
        kept = table.filter(pa.array(~bad)) if any_bad else table
        held_rows = None
        if any_bad:
            reasons = [json.dumps(quarantined[str(i)]) for i in item.ids[bad]]
            held_rows = table.filter(pa.array(bad)).append_column(REASONS, pa.array(reasons))
        if self.label is not None:
            self.labels.update(good[self.label].astype("string").fillna(NO_LABEL).tolist())
        behind.submit(lambda: self._store(kept, held_rows, good, clean, held))

    def _store(
        self,
        kept: pa.Table,
        held_rows: pa.Table | None,
        good: pd.DataFrame,
        clean: PartWriter,
        held: PartWriter,
    ) -> None:
        clean.write(kept)
        if held_rows is not None:
            held.write(held_rows)
        if not good.empty:
            self.profiler.update(good)


class _Behind:
    """Runs jobs in order in one thread, at most one behind the caller (bounded memory):
    writing Parquet and profiling a batch overlap with reading and validating the next."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="pomona-table")
        self._pending: Future[None] | None = None

    def submit(self, job: Callable[[], None]) -> None:
        self.wait()
        self._pending = self._pool.submit(job)

    def wait(self, *, raising: bool = True) -> None:
        pending, self._pending = self._pending, None
        if pending is not None and (raising or pending.exception() is None):
            pending.result()

    def __enter__(self) -> _Behind:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _check_label(label: str | None, names: list[str]) -> None:
    if label is not None and label not in names:
        raise InvalidInputError(
            f"The table has no column '{label}' to take labels from (columns: {', '.join(names)}).",
            details={"field": "label"},
        )


def _summarise(clean: PartWriter, held: PartWriter, split: _Splitter) -> Ingested:
    assert split.schema is not None
    manifest = Manifest(
        kind="table",
        records=tuple(clean.parts),
        quarantine=tuple(held.parts),
        columns={f.name: str(f.type) for f in split.schema},
    )
    profile = _quality.profile_dict(split.profiler.profile())
    counts = dict(sorted(split.labels.items(), key=lambda kv: (-kv[1], kv[0])))
    return Ingested(
        manifest=manifest,
        report=split.validator.report(),
        profile=profile,
        label_counts=counts,
        schema={"type": "table", "columns": dict(manifest.columns), "label": split.label},
        content={p.digest: p.rows for p in (*clean.parts, *held.parts)},
        suite_yaml=_quality.suite_yaml(split.suite),
        blobs={p.digest: p.size for p in manifest.blobs()},
    )
