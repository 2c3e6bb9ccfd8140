"""The prediction logger: batched Parquet files in the artifact store, indexed in SQL.

Requests hand their rows over (``append``) and move on; one writer thread turns what has
gathered into one Parquet file per (deployment, model, version, variant, hour), stores
each file (blob first) and then its ``prediction_log_files`` rows in one transaction.

- ``async`` (default): the writer runs every ``flush_interval_s`` or when ``max_rows``
  rows wait. A ``kill -9`` loses at most the rows of the last ``flush_interval_s`` plus
  the write in progress (measured by tests/integration/test_serving_kill.py).
- ``sync``: ``append`` takes a callback the writer calls once the rows are stored; the
  server answers only then (group commit: rows that arrive during a write share the next
  one). Nothing answered is lost on ``kill -9``.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pomona._utils.clock import now_ms
from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore
from pomona.metadata.schema import prediction_log_files
from pomona.serving._logrows import LogChunk, measure_pictures

__all__ = ["HOUR_MS", "LoggerStats", "PredictionLogger"]

log = logging.getLogger("pomona.serving")
HOUR_MS = 3_600_000
Callback = Callable[[BaseException | None], None]
_PARTITION = ("deployment", "model_name", "model_version", "variant")


@dataclass
class LoggerStats:
    rows_written: int = 0
    files_written: int = 0
    rows_dropped: int = 0
    write_errors: int = 0
    pending_rows: int = 0


class PredictionLogger:
    """Writes log chunks in the background (see the module docstring).

    Args:
        mode: ``async`` or ``sync`` (the default for ``append`` calls without a callback
            is always asynchronous).
        flush_interval_s: async mode: the longest rows wait before a write.
        max_rows: write as soon as this many rows wait.
        max_pending_rows: rows kept while the stores fail; older ones are dropped beyond it
            (counted in ``stats.rows_dropped``).
    """

    def __init__(
        self,
        metadata: MetadataStore,
        artifacts: ArtifactStore,
        *,
        flush_interval_s: float = 1.0,
        max_rows: int = 20_000,
        max_pending_rows: int = 1_000_000,
    ) -> None:
        self._db = metadata
        self._blobs = artifacts
        self.flush_interval_s = flush_interval_s
        self.max_rows = max_rows
        self.max_pending_rows = max_pending_rows
        self.stats = LoggerStats()
        self._pending: list[tuple[LogChunk, Callback | None]] = []
        self._cond = threading.Condition()
        self._urgent = False
        self._appended = 0
        self._written = 0
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="pomona-prediction-log", daemon=True)
        self._thread.start()

    def append(self, chunk: LogChunk, on_written: Callback | None = None) -> None:
        """Queue rows; ``on_written(error)`` is called from the writer once they are stored
        (sync mode), and wakes the writer at once."""
        with self._cond:
            if self._closed:
                if on_written is not None:
                    on_written(RuntimeError("the prediction logger is closed"))
                return
            self._pending.append((chunk, on_written))
            self._appended += 1
            self.stats.pending_rows += chunk.n
            if on_written is not None or self.stats.pending_rows >= self.max_rows:
                self._urgent = True
                self._cond.notify()

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every chunk appended so far is stored (or failed); False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            target = self._appended
            self._urgent = True
            self._cond.notify_all()
            while self._written < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is pending, then stop the writer."""
        self.flush(timeout_s)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)

    # --- the writer thread ----------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        while True:
            with self._cond:
                if not self._urgent and not self._closed:
                    self._cond.wait(max(self.flush_interval_s, backoff))
                if self._closed and not self._pending:
                    return
                batch, self._pending = self._pending, []
                self._urgent = False
            if not batch:
                continue
            error = self._write_safely(batch)
            backoff = 0.0 if error is None else min(5.0, max(0.1, backoff * 2))
            for _, callback in batch:
                if callback is not None:
                    callback(error)
            with self._cond:
                if error is not None and not self._closed:
                    self._requeue(batch)
                else:
                    self._written += len(batch)
                    self.stats.pending_rows -= sum(c.n for c, _ in batch)
                self._cond.notify_all()

    def _requeue(self, batch: list[tuple[LogChunk, Callback | None]]) -> None:
        kept: list[tuple[LogChunk, Callback | None]] = [(c, None) for c, _ in batch]
        kept += self._pending
        while sum(c.n for c, _ in kept) > self.max_pending_rows and len(kept) > 1:
            dropped, _ = kept.pop(0)
            self.stats.rows_dropped += dropped.n
            self.stats.pending_rows -= dropped.n
            self._written += 1
        self._pending = kept

    def _write_safely(self, batch: list[tuple[LogChunk, Callback | None]]) -> BaseException | None:
        try:
            self._write([c for c, _ in batch])
            return None
        except Exception as exc:  # the stores failed: keep the rows, retry later
            self.stats.write_errors += 1
            log.warning("writing %d prediction-log chunks failed: %s", len(batch), exc)
            return exc

    def _write(self, chunks: list[LogChunk]) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        measure_pictures(chunks)
        parts: dict[tuple[Any, ...], list[Any]] = {}
        for chunk in chunks:
            for key, table in _split(chunk):
                parts.setdefault(key, []).append(table)
        rows = []
        for key, tables in parts.items():
            table = _concat(tables)
            buf = io.BytesIO()
            pq.write_table(table, buf, compression="zstd")
            digest, _ = self._blobs.put_bytes(buf.getvalue())
            ts = table.column("ts_ms")
            rows.append(
                {
                    "deployment": key[0],
                    "model_name": key[1],
                    "model_version": int(key[2]),
                    "variant": key[3],
                    "hour_ms": int(key[4]),
                    "digest": digest,
                    "rows": table.num_rows,
                    "min_ts_ms": int(_minmax(ts)[0]),
                    "max_ts_ms": int(_minmax(ts)[1]),
                    "created_ms": now_ms(),
                }
            )
        with self._db.write() as conn:
            conn.execute(prediction_log_files.insert(), rows)
        self.stats.rows_written += sum(r["rows"] for r in rows)
        self.stats.files_written += len(rows)


def _arrow_table(chunk: LogChunk) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    types = {"string": pa.string(), "double": pa.float64(), "int64": pa.int64()}
    fields = [pa.field(name, types[chunk.types[name]]) for name in chunk.columns]
    arrays = [
        pa.array(values, type=f.type, from_pandas=True)
        for f, values in zip(fields, chunk.columns.values(), strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _split(chunk: LogChunk) -> list[tuple[tuple[Any, ...], Any]]:
    """The chunk's rows as tables, one per partition key."""
    cols = chunk.columns
    hours = [ts - ts % HOUR_MS for ts in cols["ts_ms"]]
    keys = [
        (d, m, v, var, h)
        for d, m, v, var, h in zip(
            cols["deployment"],
            cols["model_name"],
            cols["model_version"],
            cols["variant"],
            hours,
            strict=True,
        )
    ]
    table = _arrow_table(chunk)
    if len(set(keys)) == 1:
        return [(keys[0], table)]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return [(key, table.take(idx)) for key, idx in groups.items()]


def _concat(tables: list[Any]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="default")


def _minmax(column: Any) -> tuple[int, int]:
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]

    found = pc.min_max(column)
    return int(found["min"].as_py()), int(found["max"].as_py())
