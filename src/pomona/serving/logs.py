"""Reading the prediction logs: the files of a time range, as local paths or one table.

Monitoring points DuckDB at the paths ``read_prediction_logs`` returns::

    paths = read_prediction_logs(ws.metadata_store, ws.artifact_store, "apples-prod",
                                 start_ms=..., end_ms=..., cache_dir=tmp)
    duckdb.sql(f"select variant, count(*) from read_parquet({[str(p) for p in paths]},
               union_by_name=true) group by variant").fetchall()
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore
from pomona.serving._feedback import list_log_files
from pomona.serving.records import PredictionLogFile

__all__ = ["load_prediction_logs", "read_prediction_logs"]


def read_prediction_logs(
    metadata: MetadataStore,
    artifacts: ArtifactStore,
    deployment: str | None = None,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    variants: Sequence[str] = (),
    cache_dir: Path,
) -> list[Path]:
    """Local copies (verified, named by digest, reused) of the Parquet files whose rows may
    fall in ``[start_ms, end_ms)``; filter on ``ts_ms`` when reading them."""
    files = list_log_files(
        metadata, deployment, start_ms=start_ms, end_ms=end_ms, variants=variants
    )
    return [_local(artifacts, f, Path(cache_dir)) for f in files]


def _local(artifacts: ArtifactStore, file: PredictionLogFile, folder: Path) -> Path:
    path = folder / f"{file.digest.removeprefix('sha256:')}.parquet"
    if not path.exists():
        artifacts.get_file(file.digest, path)
    return path


def load_prediction_logs(
    metadata: MetadataStore,
    artifacts: ArtifactStore,
    deployment: str | None = None,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    variants: Sequence[str] = (),
    columns: Sequence[str] | None = None,
) -> Any:
    """The rows with ``start_ms <= ts_ms < end_ms`` as one ``pyarrow.Table`` (columns
    missing from some files are null there)."""
    import io

    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.compute as pc  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    files = list_log_files(
        metadata, deployment, start_ms=start_ms, end_ms=end_ms, variants=variants
    )
    tables = []
    for f in files:
        table = pq.read_table(io.BytesIO(artifacts.read_bytes(f.digest)))
        if columns is not None:
            wanted = [*columns, *(["ts_ms"] if "ts_ms" not in columns else [])]
            table = table.select([c for c in wanted if c in table.column_names])
        mask = None
        if start_ms is not None:
            mask = pc.greater_equal(table["ts_ms"], start_ms)
        if end_ms is not None:
            upper = pc.less(table["ts_ms"], end_ms)
            mask = upper if mask is None else pc.and_(mask, upper)
        tables.append(table if mask is None else table.filter(mask))
    if not tables:
        return pa.table({name: pa.array([], pa.string()) for name in (columns or ["request_id"])})
    return pa.concat_tables(tables, promote_options="default")
