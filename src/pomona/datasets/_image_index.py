"""Building an image version's record indexes from rows fed batch by batch.

Rows go to a temporary Parquet file as they come; once the validation report is known
(duplicates are only known at the end), the file is read back a row group at a time and
split into the clean and quarantined indexes, profiled and counted. Memory holds one row
group, plus 40 bytes per file (its digest and size, to count distinct content).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _quality
from pomona.datasets._labels import count_labels
from pomona.datasets._manifest import (
    REASONS,
    IndexWriter,
    Ingested,
    Manifest,
    index_table,
)

__all__ = ["DigestTable", "ImageIndexBuilder"]

_PREFIX = "sha256:"
_READ_ROWS = 2048


def _digest_rows(digests: Sequence[str]) -> NDArray[np.uint8]:
    raw = b"".join(bytes.fromhex(d.removeprefix(_PREFIX)) for d in digests)
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(digests), 32)


class DigestTable(Mapping[str, int]):
    """``sha256:`` digest -> number, kept as sorted 32-byte rows and a numpy column."""

    def __init__(self, rows: NDArray[np.uint8], values: NDArray[np.int64]) -> None:
        self._rows, self._values = rows, values
        self._keys = np.ascontiguousarray(rows).view(np.dtype((np.void, 32))).ravel()

    @classmethod
    def of(cls, rows: NDArray[np.uint8], values: NDArray[np.int64], *, add: bool) -> DigestTable:
        """One entry per distinct digest: the sum of its values (``add``) or its first one."""
        rows = np.ascontiguousarray(rows.reshape(-1, 32))
        keys = rows.view(np.dtype((np.void, 32))).ravel()
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        if add:
            summed = np.bincount(inverse.ravel(), weights=values, minlength=len(first))
            return cls(rows[first], summed.astype(np.int64))
        return cls(rows[first], values[first].astype(np.int64))

    def __getitem__(self, digest: str) -> int:
        if not isinstance(digest, str) or not digest.startswith(_PREFIX) or len(digest) != 71:
            raise KeyError(digest)
        try:
            key = _digest_rows([digest]).view(np.dtype((np.void, 32))).ravel()
        except ValueError:
            raise KeyError(digest) from None
        at = int(np.searchsorted(self._keys, key[0]))
        if at < len(self._keys) and self._keys[at] == key[0]:
            return int(self._values[at])
        raise KeyError(digest)

    def __iter__(self) -> Iterator[str]:
        for row in self._rows:
            yield _PREFIX + row.tobytes().hex()

    def __len__(self) -> int:
        return len(self._rows)

    def total(self) -> int:
        return int(self._values.sum())


class ImageIndexBuilder:
    """Index rows spilled to a temporary file; ``finish`` makes the version's parts."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="pomona-ingest-")
        self._spill = IndexWriter(Path(self._tmp.name) / "rows.parquet")

    def __enter__(self) -> ImageIndexBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the temporary files."""
        self._spill.close()
        self._tmp.cleanup()

    def add(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append index rows (``INDEX_COLUMNS``), in record order."""
        self._spill.write(index_table(rows))

    def finish(self, blobs: ArtifactStore, report: Any, suite_yaml: str | None) -> Ingested:
        """Index, profile and summarise the rows, the quarantine as ``report`` says."""
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        self._spill.finish()
        quarantined: Mapping[str, list[str]] = report.quarantined
        folder = Path(self._tmp.name)
        clean = IndexWriter(folder / "clean.parquet")
        held = IndexWriter(folder / "held.parquet", with_reasons=True)
        summary = _Summary()
        digests: list[NDArray[np.uint8]] = []
        sizes: list[NDArray[np.int64]] = []
        try:
            spill = pq.ParquetFile(self._spill.path, pre_buffer=False)  # no read-ahead kept
            for batch in spill.iter_batches(batch_size=_READ_ROWS):
                table = pa.Table.from_batches([batch])
                ids = table.column("record_id").to_pylist()
                mask = np.array([r in quarantined for r in ids], dtype=bool)
                kept = table.filter(pa.array(~mask))
                clean.write(kept)
                if mask.any():
                    why = [json.dumps(quarantined[r]) for r in ids if r in quarantined]
                    held.write(table.filter(pa.array(mask)).append_column(REASONS, pa.array(why)))
                summary.add(kept.to_pylist(), table.column("label").null_count < len(ids))
                digests.append(_digest_rows(table.column("digest").to_pylist()))
                sizes.append(table.column("size").to_numpy().astype(np.int64))
                pa.default_memory_pool().release_unused()  # mimalloc keeps freed pages
            index = clean.store(blobs)
            qindex = held.store(blobs) if held.rows else None
        finally:
            clean.close()
            held.close()
        manifest = Manifest(kind="images", records=(index,), quarantine=(qindex,) if qindex else ())
        rows = np.concatenate(digests) if digests else np.empty((0, 32), np.uint8)
        size = np.concatenate(sizes) if sizes else np.empty(0, np.int64)
        parts = manifest.blobs()
        part_rows = _digest_rows([p.digest for p in parts])
        part_sizes = np.array([p.size for p in parts], dtype=np.int64)
        return Ingested(
            manifest=manifest,
            report=report,
            profile=summary.profile(),
            label_counts=summary.label_counts(),
            schema=summary.schema(),
            content=DigestTable.of(rows, np.ones(len(rows), np.int64), add=True),
            suite_yaml=suite_yaml,
            blobs=DigestTable.of(
                np.concatenate([rows, part_rows]), np.concatenate([size, part_sizes]), add=False
            ),
        )


class _Summary:
    """Profile, label counts and formats of the clean rows, a batch at a time."""

    def __init__(self) -> None:
        self._profile: Any = None
        self.labels: Counter[str] = Counter()
        self.formats: set[str] = set()
        self.labelled = False

    def add(self, rows: list[dict[str, Any]], labelled: bool) -> None:
        from pomona.datasets._ingest_images import row_properties

        self.labelled = self.labelled or labelled
        self.labels.update(count_labels(r["label"] for r in rows))
        self.formats.update(str(r["format"]) for r in rows if r.get("format"))
        measured = {r["record_id"]: row_properties(r) for r in rows if r.get("width") is not None}
        if measured:
            part = _quality.image_profile(measured, {r["record_id"]: r["label"] for r in rows})
            self._profile = part if self._profile is None else self._profile.merge(part)

    def label_counts(self) -> dict[str, int]:
        return dict(sorted(self.labels.items(), key=lambda kv: (-kv[1], kv[0])))

    def schema(self) -> dict[str, Any]:
        return {"type": "images", "formats": sorted(self.formats), "labelled": self.labelled}

    def profile(self) -> dict[str, Any]:
        if self._profile is None:
            return _quality.profile_images({}, {})
        return _quality.profile_dict(self._profile)
