"""Versions derived from a version: prepared by a transform, relabelled; and re-validation."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.datasets import _quality
from pomona.datasets._ingest_images import build_image_version, property_columns
from pomona.datasets._ingest_table import PROFILE_ROWS, Sampler, TableBatch, store_table
from pomona.datasets._labels import LabelTable, check_known
from pomona.datasets._manifest import (
    REASONS,
    RECORD_INDEX,
    Ingested,
    Manifest,
    read_part,
)
from pomona.datasets._model import DatasetVersion
from pomona.datasets._reading import image_rows, iter_parts, load_table
from pomona.datasets._refs import check_label
from pomona.errors import InvalidInputError
from pomona.types import Digest

if TYPE_CHECKING:
    from pomona.datasets.checks import ValidationReport
    from pomona.datasets.transforms import Transform

__all__ = [
    "FittedTransform",
    "Labeler",
    "content_digests",
    "count_new",
    "infer_suite",
    "label_table_from_mapping",
    "prepare",
    "relabelled",
    "revalidate",
]

Labeler = Callable[[str], "str | None"]
FIT_IMAGES = 1000
"""A stateful image transform is fitted on at most this many images, evenly spaced."""


@dataclass(frozen=True)
class FittedTransform:
    """How a prepared version was made: the transform's name, params and fitted state."""

    name: str
    params: Mapping[str, Any]
    digest: Digest


def content_digests(blobs: ArtifactStore, manifest: Manifest) -> set[str]:
    """Digests of a version's content: its image files, or its table's Parquet parts."""
    if manifest.kind == "table":
        return {p.digest for p in manifest.blobs()}
    found: set[str] = set()
    for part in (*manifest.records, *manifest.quarantine):  # the digest column only
        found.update(read_part(blobs, part, columns=["digest"]).column("digest").to_pylist())
    return found


def count_new(blobs: ArtifactStore, ingested: Ingested, before: set[str]) -> int:
    """Records whose content is not in ``before``."""
    return sum(n for digest, n in ingested.content.items() if digest not in before)


# --- images ---------------------------------------------------------------------------------


def _decode(data: bytes) -> np.ndarray[Any, Any]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def _encode(array: np.ndarray[Any, Any]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _image_version(
    blobs: ArtifactStore,
    rows: list[dict[str, Any]],
    files: Iterator[tuple[dict[str, Any], Path]],
    suite: Any,
) -> Ingested:
    """Validate files (each with its index row), fill in their properties, index them."""

    def records() -> Iterator[tuple[str, Path]]:
        for row, path in files:
            rows.append(row)
            yield row["record_id"], path

    validation = _quality.validate_images(records(), suite)
    for row in rows:
        row.update(property_columns(validation.properties.get(row["record_id"])))
    return build_image_version(blobs, rows, validation.report, _quality.suite_yaml(suite))


def _prepare_images(
    blobs: ArtifactStore, manifest: Manifest, transform: Transform, suite: Any, tmp: Path
) -> Ingested:
    source = image_rows(blobs, manifest)

    def arrays(rows: list[dict[str, Any]]) -> Iterator[np.ndarray[Any, Any]]:
        for row in rows:
            yield _decode(blobs.read_bytes(check_digest(row["digest"])))

    step = max(1, len(source) // FIT_IMAGES)
    transform.fit(list(arrays(source[::step])))

    def files() -> Iterator[tuple[dict[str, Any], Path]]:
        for i, (row, image) in enumerate(zip(source, arrays(source), strict=True)):
            data = _encode(transform.transform(image))
            path = tmp / f"{i}.png"
            path.write_bytes(data)
            digest, size = blobs.put_file(path)
            yield {"record_id": row["record_id"], "digest": digest, "size": size,
                   "label": row["label"]}, path  # fmt: skip

    return _image_version(blobs, [], files(), suite)


def _stored_files(
    blobs: ArtifactStore, rows: list[dict[str, Any]], tmp: Path
) -> Iterator[tuple[dict[str, Any], Path]]:
    for i, row in enumerate(rows):
        path = blobs.get_file(check_digest(row["digest"]), tmp / f"{i}")
        yield dict(row), path


# --- tables ---------------------------------------------------------------------------------


def _table_batches(
    blobs: ArtifactStore, manifest: Manifest, fn: Callable[[Any], Any] | None = None
) -> Iterator[TableBatch]:
    import pyarrow as pa  # type: ignore[import-untyped]

    for i, table in enumerate(iter_parts(blobs, manifest.records)):
        df = table.to_pandas().set_index(RECORD_INDEX)
        if fn is not None:
            df = fn(df)
        ids = np.asarray(df.index, dtype=np.int64)
        batch = pa.RecordBatch.from_pandas(df.reset_index(drop=True), preserve_index=False)
        yield TableBatch(f"part-{i}", batch, ids)


def _prepare_table(
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    transform: Transform,
    suite: Any,
) -> Ingested:
    """Fit and apply ``transform`` to the feature columns; the label column passes through.

    Serving has features and no label, so the fitted transform must never need one.
    """
    label = version.schema.get("label")

    def features(df: Any) -> Any:
        return df.drop(columns=[label]) if label else df

    def apply(df: Any) -> Any:
        out = transform.transform(features(df))
        if label:
            out[label] = df[label]
        return out

    transform.fit(features(load_table(blobs, manifest)))
    return store_table(
        _table_batches(blobs, manifest, apply),
        blobs=blobs,
        suite=_quality.table_suite(suite),
        label=label,
    )


# --- operations -----------------------------------------------------------------------------


def prepare(
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    transform: Transform,
    suite: Any,
    batch_size: int,
) -> tuple[Ingested, FittedTransform]:
    """Fit ``transform`` on the version's clean records and apply it to each of them.

    Returns:
        What to commit, and the fitted transform as stored (``to_json()`` bytes).
    """
    if version.num_records == 0:
        raise InvalidInputError(f"{version} has no clean records to prepare.")
    declared = transform.to_dict()  # name and params as given, before fitting
    with tempfile.TemporaryDirectory(prefix="pomona-prepare-") as tmp:
        if version.kind == "images":
            ingested = _prepare_images(
                blobs, manifest, transform, _quality.image_suite(suite), Path(tmp)
            )
        else:
            ingested = _prepare_table(blobs, version, manifest, transform, suite)
    digest, _ = blobs.put_bytes(transform.to_json())
    name = str(declared.get("transform") or type(transform).__name__)
    return ingested, FittedTransform(name, dict(declared.get("params") or {}), digest)


def revalidate(
    blobs: ArtifactStore, manifest: Manifest, suite: Any, batch_size: int
) -> ValidationReport:
    """Check a version's clean records again, against ``suite``."""
    if manifest.kind == "images":
        rows = image_rows(blobs, manifest)
        with tempfile.TemporaryDirectory(prefix="pomona-validate-") as tmp:
            records = ((r["record_id"], p) for r, p in _stored_files(blobs, rows, Path(tmp)))
            return _quality.validate_images(records, _quality.image_suite(suite)).report
    table_suite = _quality.table_suite(suite)
    validator: Any = None
    for item in _table_batches(blobs, manifest):
        df = item.batch.to_pandas()
        df.index = item.ids
        df.index.name = RECORD_INDEX
        if validator is None:
            validator = _quality.table_validator(table_suite or _quality.schema_suite(df))
        validator.update(df)
    if validator is None:
        return _quality.empty_report()
    report: ValidationReport = validator.report()
    return report


def infer_suite(blobs: ArtifactStore, manifest: Manifest, label: str | None) -> str:
    """A suite inferred from a version (tables: a uniform sample; images: the default checks)."""
    if manifest.kind == "images":
        from pomona.datasets.checks import ImageSuite

        return ImageSuite().to_yaml()
    sampler = Sampler(PROFILE_ROWS)
    for table in iter_parts(blobs, manifest.records):
        sampler.add(table.to_pandas().set_index(RECORD_INDEX))
    frame = sampler.frame()
    if frame is None:
        raise InvalidInputError("The version has no clean rows to infer a suite from.")
    return str(_quality.infer_table_suite(frame, label).to_yaml())


def label_table_from_mapping(labels: Mapping[str, str]) -> LabelTable:
    if not labels:
        raise InvalidInputError("No labels given.", details={"field": "labels"})
    clean = {str(k): check_label(v, f"record '{k}'") for k, v in labels.items()}
    return LabelTable(name="labels", labels=clean, lines={})


def relabelled(
    blobs: ArtifactStore,
    version: DatasetVersion,
    manifest: Manifest,
    table: LabelTable,
    suite_yaml: str | None,
) -> Ingested:
    """The version with new labels (images: quarantined files keep their place; tables:
    see ``_relabel_table``)."""
    if version.kind != "images":
        from pomona.datasets._relabel_table import relabel_table

        return relabel_table(blobs, version, manifest, table, suite_yaml)
    rows = image_rows(blobs, manifest) + image_rows(blobs, manifest, quarantined=True)
    check_known(table, (r["record_id"] for r in rows), str(version))
    for row in rows:
        row.pop(REASONS, None)
        row["label"] = table.labels.get(row["record_id"], row["label"])
    report = version.report
    assert report is not None
    return build_image_version(blobs, rows, report, suite_yaml)
