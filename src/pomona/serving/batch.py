"""Batch prediction: a table in, Parquet parts of predictions out, resumable.

Each chunk of ``chunk_rows`` input rows becomes ``part-NNNNN.parquet`` in the output
folder (written to a temporary name, then renamed): a run that stops part-way starts
again after the last part written. ``_SUCCESS`` marks a finished run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pomona.errors import ConflictError, InvalidInputError
from pomona.registry.base import ModelRegistry
from pomona.serving._inputs import parse_json
from pomona.serving.runtime import ModelRuntime, TransformHook

__all__ = ["BatchResult", "iter_parquet", "predict_batch"]

MANIFEST = "_pomona_batch.json"


@dataclass(frozen=True)
class BatchResult:
    """What a batch prediction wrote: parts, rows, and how many parts it skipped (resumed)."""

    dest: Path
    model: str
    parts: int
    rows: int
    skipped_parts: int


def iter_parquet(path: Path, chunk_rows: int) -> Iterator[Any]:
    """A Parquet file's rows as pandas DataFrames of ``chunk_rows`` rows."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    with pq.ParquetFile(path) as reader:
        for batch in reader.iter_batches(batch_size=chunk_rows):
            yield batch.to_pandas()


def _check_manifest(dest: Path, model: str, source: str, chunk_rows: int) -> None:
    path = dest / MANIFEST
    mine = {"model": model, "source": source, "chunk_rows": chunk_rows}
    if path.is_file():
        found = json.loads(path.read_text())
        if found != mine:
            raise ConflictError(
                f"{dest} holds a batch prediction of {found['model']} on {found['source']}; "
                "this one would mix with it.",
                hint="Pick another output folder, or delete that one.",
                details={"field": "dest"},
            )
    elif dest.exists() and any(dest.iterdir()):
        raise ConflictError(f"{dest} is not empty.", details={"field": "dest"})
    dest.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(mine))


def _write_part(runtime: ModelRuntime, frame: Any, start: int, path: Path) -> int:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    columns = {c: frame[c].tolist() for c in frame.columns}
    parsed = parse_json(runtime.spec, {"columns": columns})
    if isinstance(parsed, list):
        raise InvalidInputError("Batch prediction takes tables, not images.")
    out = runtime.predict(parsed)
    data: dict[str, Any] = {
        "row": np.arange(start, start + len(frame), dtype=np.int64),
        "prediction": [str(v) for v in out.labels],
    }
    if out.proba is not None and out.classes is not None:
        data["confidence"] = out.proba.max(axis=1)
        for j, cls in enumerate(out.classes):
            data[f"proba__{cls}"] = out.proba[:, j]
    tmp = path.with_suffix(".partial")
    pq.write_table(pa.table(data), tmp)
    tmp.replace(path)
    return len(frame)


def predict_batch(
    registry: ModelRegistry,
    model: str,
    chunks: Iterable[Any],
    dest: Path,
    *,
    source: str,
    chunk_rows: int,
    transforms: TransformHook | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Predict every chunk (pandas DataFrames of ``chunk_rows`` rows, in a stable order)."""
    runtime = ModelRuntime(registry, registry.get_version(model).ref, transforms=transforms)
    runtime.load()
    dest = Path(dest)
    _check_manifest(dest, runtime.ref, source, chunk_rows)
    parts = rows = skipped = 0
    start = 0
    for index, frame in enumerate(chunks):
        path = dest / f"part-{index:05d}.parquet"
        if path.is_file():
            skipped += 1
        else:
            rows += _write_part(runtime, frame, start, path)
        parts += 1
        start += len(frame)
        if progress is not None:
            progress(parts, start)
    (dest / "_SUCCESS").write_text(json.dumps({"parts": parts, "rows": start}))
    return BatchResult(dest, runtime.ref, parts, rows, skipped)
