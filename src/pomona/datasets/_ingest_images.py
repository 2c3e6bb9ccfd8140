"""Ingesting image files: hash and store them batch by batch, validate, index, profile.

Files are hashed in a thread pool; a file whose digest some version already refers to is
not stored again. Validation streams over the same files; failing ones are quarantined:
their blobs are stored and listed with the reasons, and left out of the clean index.
Index rows are spilled to a temporary file as each chunk is measured, so memory holds a
few batches and about 120 bytes per file (the hashes the duplicate checks compare, its
id, digest and size), not the index.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _quality
from pomona.datasets._image_index import ImageIndexBuilder
from pomona.datasets._manifest import IMAGE_PROPERTIES, INDEX_ROW_GROUP, Ingested
from pomona.datasets._sources import FileSource, SourceFile
from pomona.errors import InvalidInputError
from pomona.types import Digest

__all__ = [
    "Labeler",
    "build_image_version",
    "ingest_images",
    "property_columns",
    "row_properties",
]

Labeler = Callable[[str], "str | None"]
_WORKERS = 16  # reading, hashing and storing files wait on I/O: more threads than CPUs


def _hash(path: Path, record_id: str) -> tuple[str, int]:
    try:
        with path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
            return "sha256:" + digest.hexdigest(), fh.tell()
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot read '{record_id}': {exc.strerror or exc}.",
            hint="Check the file's permissions, or remove it from the source.",
            details={"field": "source", "file": record_id},
        ) from exc


class _Store:
    """Stores files not already referred to by a version, once each, a batch at a time.

    What this ingest stored is remembered by 8-byte digest prefixes; a file whose prefix
    was seen is stored unless the artifact store already holds its digest.
    """

    def __init__(self, blobs: ArtifactStore, known: Callable[[list[str]], set[str]]) -> None:
        from pomona.datasets.checks._compact import KeySet

        self.blobs = blobs
        self.known = known
        self.stored = KeySet()

    def put(self, items: Sequence[tuple[Path, str, str]]) -> None:
        """``items``: (path, record id, digest) of one batch."""
        import numpy as np

        prefixes = np.array([int(d[7:23], 16) for _, _, d in items], dtype=np.uint64)
        seen = self.stored.contains(prefixes)
        fresh = [
            item
            for item, maybe in zip(items, seen, strict=True)
            if not maybe or not self.blobs.exists(Digest(item[2]))
        ]
        skip = self.known([d for _, _, d in fresh])
        todo: dict[str, tuple[Path, str]] = {}
        for path, record_id, digest in fresh:
            if digest not in skip:
                todo.setdefault(digest, (path, record_id))
        pending = list(todo.items())
        stored = self.blobs.put_files([path for _, (path, _) in pending], workers=_WORKERS)
        for (expected, (_, record_id)), (digest, _) in zip(pending, stored, strict=True):
            if digest != expected:
                raise InvalidInputError(
                    f"'{record_id}' changed while it was being ingested.",
                    hint="Ingest again once the source stops changing.",
                    details={"field": "source", "file": record_id},
                )
        self.stored.add(prefixes)


def ingest_images(
    source: FileSource,
    *,
    blobs: ArtifactStore,
    known: Callable[[list[str]], set[str]],
    labeler: Labeler,
    suite: Any,
    batch_size: int,
) -> Ingested:
    """Store, validate and index every image file of ``source``."""
    store = _Store(blobs, known)
    waiting: deque[tuple[str, int, str | None]] = deque()  # yielded, not yet measured

    def records() -> Iterator[tuple[str, Path]]:
        files = source.files
        for start in range(0, len(files), batch_size):
            batch: list[SourceFile] = list(files[start : start + batch_size])
            paths, hashed = _fetch_and_store(source, batch, store)
            for item, path, (digest, size) in zip(batch, paths, hashed, strict=True):
                waiting.append((digest, size, labeler(item.record_id)))
                yield item.record_id, path

    with ImageIndexBuilder() as builder, _quality.image_validator(suite) as validator:
        for stats in validator.update_chunks(records()):
            properties = _quality.chunk_properties(stats)
            rows = []
            for record_id in stats.ids:
                digest, size, label = waiting.popleft()
                row = {"record_id": record_id, "digest": digest, "size": size, "label": label}
                row.update(property_columns(properties.get(record_id)))
                rows.append(row)
            builder.add(rows)
        report = validator.result().report
        return builder.finish(blobs, report, _quality.suite_yaml(suite))


def _fetch_and_store(
    source: FileSource, batch: list[SourceFile], store: _Store
) -> tuple[list[Path], list[tuple[str, int]]]:
    """Local paths and (digest, size) of a batch, its new content stored.

    The threads end with the batch: validation forks its worker processes only while
    this process runs a single thread.
    """
    workers = max(1, min(_WORKERS, len(batch) // 8))
    fetch = _local_path(source)

    def work(items: list[SourceFile]) -> list[tuple[Path, tuple[str, int]]]:
        return [(path, _hash(path, f.record_id)) for f in items for path in (fetch(f),)]

    with ThreadPoolExecutor(workers, thread_name_prefix="pomona-ingest") as pool:
        done = list(pool.map(work, [batch[i::workers] for i in range(workers)]))
    ordered = [done[i % workers][i // workers] for i in range(len(batch))]
    paths, hashed = [p for p, _ in ordered], [h for _, h in ordered]
    store.put([(p, f.record_id, d) for p, f, (d, _) in zip(paths, batch, hashed, strict=True)])
    return paths, hashed


def _local_path(source: FileSource) -> Callable[[SourceFile], Path]:
    def fetch(item: SourceFile) -> Path:
        return source.download(item) if source.remote else Path(item.location)

    return fetch


def property_columns(props: Any) -> dict[str, Any]:
    """The index columns of what validation measured on a file (all ``None`` if undecodable)."""
    if props is None:
        return dict.fromkeys(IMAGE_PROPERTIES)
    red, green, blue = (float(v) for v in props.mean_rgb)
    return {
        "width": int(props.width),
        "height": int(props.height),
        "format": str(props.format),
        "mode": str(props.mode),
        "brightness": float(props.brightness),
        "contrast": float(props.contrast),
        "blur": float(props.blur),
        "mean_r": red,
        "mean_g": green,
        "mean_b": blue,
        "phash": str(props.phash),
    }


def row_properties(row: Mapping[str, Any]) -> Any:
    """``ImageProperties`` rebuilt from a record index row (``None`` if undecodable)."""
    from pomona.datasets.checks import ImageProperties

    if row.get("width") is None:
        return None
    data = {k: row[k] for k in IMAGE_PROPERTIES if k not in ("mean_r", "mean_g", "mean_b")}
    data["mean_rgb"] = [row["mean_r"], row["mean_g"], row["mean_b"]]
    data["n_bytes"] = row["size"]
    data["sha256"] = str(row["digest"]).removeprefix("sha256:")
    return ImageProperties.from_dict(data)


def build_image_version(
    blobs: ArtifactStore,
    rows: Sequence[Mapping[str, Any]],
    report: Any,
    suite_yaml: str | None,
) -> Ingested:
    """Index, profile and summarise image records (``rows`` as in a record index)."""
    with ImageIndexBuilder() as builder:
        for start in range(0, len(rows), INDEX_ROW_GROUP):
            builder.add(rows[start : start + INDEX_ROW_GROUP])
        return builder.finish(blobs, report, suite_yaml)
