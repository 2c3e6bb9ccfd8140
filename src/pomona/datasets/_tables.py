"""Reading tables in bounded batches (CSV, Parquet, SQL) and writing Parquet parts.

Every batch is conformed to the schema of the first one, so files whose schemas disagree
fail with the file and column named, and a bad CSV value with its line.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.artifacts.base import ArtifactStore
from pomona.datasets._manifest import BlobRef
from pomona.datasets._policy import readonly_engine
from pomona.datasets._sources import FileSource, SqlSource
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

__all__ = ["PART_ROWS", "PartWriter", "SchemaGuard", "iter_batches"]

PART_ROWS = 262_144
"""Rows per stored Parquet part at most; a part never spans two source files."""
_CSV_BLOCK = 8 * 1024 * 1024


def iter_batches(
    source: FileSource | SqlSource, batch_rows: int
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Every batch of the source's rows with the name of the file (or query) it came from."""
    if isinstance(source, SqlSource):
        yield from _sql_batches(source, batch_rows)
        return
    for item in source.files:
        with source.local(item) as path:
            if path.suffix.lower() == ".csv":
                yield from ((item.record_id, b) for b in _csv_batches(path, item.record_id))
            else:
                batches = _parquet_batches(path, item.record_id, batch_rows)
                yield from ((item.record_id, b) for b in batches)


def _csv_batches(path: Path, name: str) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.csv as pcsv  # type: ignore[import-untyped]

    bad: list[str] = []

    def on_invalid(row: Any) -> str:
        bad.append(row.text)
        return "error"

    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=_CSV_BLOCK),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
        )
        yield from reader
    except pa.ArrowInvalid as exc:
        raise _csv_error(path, name, str(exc), bad) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(
            f"Cannot read '{name}': {_os_reason(exc)}.", details={"field": "source", "file": name}
        ) from exc


def _os_reason(exc: Exception) -> str:
    """Why a file could not be read, without its bytes."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not {exc.encoding} text (byte {exc.start})"
    return str(exc).split("\n", 1)[0][:200] or type(exc).__name__


def _csv_error(path: Path, name: str, message: str, bad: list[str]) -> InvalidInputError:
    """Name the file, line and column of a CSV value or row pyarrow refused, never the
    row's text or the value (a file's contents stay out of messages)."""
    line = None
    message = message.removeprefix("CSV parse error: ")
    reason = message.split(": ", 1)[0]  # pyarrow appends the row's text after ': '
    if bad:
        line = _find_line(path, bad[0], None)
    elif "In CSV column #" in message and "invalid value '" in message:
        column = int(message.split("#", 1)[1].split(":", 1)[0])
        value = message.rsplit("invalid value '", 1)[1].rstrip("'")
        line = _find_line(path, value, column)
        wanted = message.split("conversion error to ", 1)[-1].split(":", 1)[0]
        reason = f"column {_column_name(path, column)} holds a value that is not {wanted}"
    where = f"'{name}', line {line}" if line else f"'{name}'"
    return InvalidInputError(
        f"{where}: {reason}.",
        hint="Fix the row, or make the column's values agree in type.",
        details={"field": "source", "file": name, "line": line},
    )


def _column_name(path: Path, column: int) -> str:
    """``'name'`` of the CSV column at ``column`` (its header), or ``#column``."""
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        header = next(csv.reader(fh), [])
    return f"'{header[column]}'" if column < len(header) else f"#{column}"


def _find_line(path: Path, text: str, column: int | None) -> int | None:
    """The first line (after the header) that is ``text``, or holds it in ``column``."""
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        next(fh, None)
        for number, raw in enumerate(fh, start=2):
            if text not in raw:
                continue
            line = raw.rstrip("\r\n")
            if column is None:
                if line == text:
                    return number
                continue
            row = next(csv.reader([line]), [])
            if len(row) > column and row[column] == text:
                return number
    return None


def _parquet_batches(path: Path, name: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # pre-buffering would hold the whole file: memory must stay bounded by the batch
        yield from pq.ParquetFile(path, pre_buffer=False).iter_batches(batch_size=batch_rows)
    except (pa.ArrowInvalid, OSError) as exc:
        reason = str(exc).split(":", 1)[0].strip()[:200] or type(exc).__name__
        raise InvalidInputError(
            f"Cannot read '{name}' as Parquet: {reason}.",
            hint="Check that the file is Parquet and complete.",
            details={"field": "source", "file": name},
        ) from exc


def _sql_batches(source: SqlSource, batch_rows: int) -> Iterator[tuple[str, pa.RecordBatch]]:
    import pandas as pd  # type: ignore[import-untyped]
    import pyarrow as pa
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = (
        readonly_engine(source.url, source.timeout_s)
        if source.read_only
        else create_engine(source.url)
    )
    try:
        with engine.connect() as conn:
            stream = conn.execution_options(stream_results=True)
            for df in pd.read_sql_query(text(source.query), stream, chunksize=batch_rows):
                yield "query", pa.RecordBatch.from_pandas(df, preserve_index=False)
    except (SQLAlchemyError, pd.errors.DatabaseError) as exc:
        cause = exc.__cause__ if isinstance(exc, pd.errors.DatabaseError) else exc
        reason = str(getattr(cause, "orig", None) or cause or exc).strip()
        raise InvalidInputError(
            f"The query on {source.description} failed: {reason}.",
            hint="Check the query and the database URL.",
            details={"field": "query"},
        ) from exc
    finally:
        engine.dispose()


@dataclass
class SchemaGuard:
    """Holds the schema of the first batch and conforms later batches to it."""

    schema: pa.Schema | None = None
    first: str = ""

    def conform(self, name: str, batch: pa.RecordBatch) -> pa.RecordBatch:
        import pyarrow as pa

        if self.schema is None:
            self.schema, self.first = batch.schema, name
            return batch
        names = self.schema.names
        if set(batch.schema.names) != set(names) or len(batch.schema.names) != len(names):
            missing = sorted(set(names) - set(batch.schema.names))
            extra = sorted(set(batch.schema.names) - set(names))
            raise InvalidInputError(
                f"'{name}' has other columns than '{self.first}': "
                f"missing {missing or 'none'}, extra {extra or 'none'}.",
                hint="Every file of a table dataset must have the same columns.",
                details={"field": "source", "file": name},
            )
        columns = []
        for col in names:
            array, want = batch.column(col), self.schema.field(col).type
            if pa.types.is_null(want) and not pa.types.is_null(array.type):
                self.schema = self.schema.set(
                    self.schema.get_field_index(col), pa.field(col, array.type)
                )
                want = array.type
            columns.append(self._cast(name, col, array, want))
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def _cast(self, name: str, col: str, array: pa.Array, want: pa.DataType) -> pa.Array:
        import pyarrow as pa

        if array.type == want:
            return array
        try:
            return array.cast(want, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidInputError(
                f"'{name}' column '{col}' holds {array.type} values where '{self.first}' "
                f"holds {want}: the files' schemas disagree.",
                hint="Make the column hold the same type of value in every file.",
                details={"field": "source", "file": name, "column": col},
            ) from exc


@dataclass
class PartWriter:
    """Writes batches into Parquet parts of at most ``PART_ROWS`` rows, one file at a time."""

    blobs: ArtifactStore
    parts: list[BlobRef] = field(default_factory=list)
    _writer: pq.ParquetWriter | None = None
    _path: Path | None = None
    _rows: int = 0
    _tmp: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(prefix="pomona-parts-")
    )

    def write(self, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        if table.num_rows == 0:
            return
        if self._writer is not None and self._writer.schema != table.schema:
            self.flush()
        if self._writer is None:
            self._path = Path(self._tmp.name) / f"part-{len(self.parts)}.parquet"
            self._writer = pq.ParquetWriter(
                self._path,
                table.schema,
                compression="snappy",
                use_dictionary=_dictionary_columns(table.schema),
                write_statistics=False,
            )
        self._writer.write_table(table)
        self._rows += table.num_rows
        if self._rows >= PART_ROWS:
            self.flush()

    def flush(self) -> None:
        """Close the current part and store it."""
        if self._writer is None or self._path is None:
            return
        self._writer.close()
        digest, size = self.blobs.put_file(self._path)
        self.parts.append(BlobRef(digest, size, self._rows))
        self._path.unlink()
        self._writer, self._path, self._rows = None, None, 0

    def close(self) -> None:
        self.flush()
        self._tmp.cleanup()


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary encoding: not floats (random floats make it slow and big)."""
    import pyarrow as pa

    return [f.name for f in schema if not pa.types.is_floating(f.type)]
