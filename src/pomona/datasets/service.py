"""The embedded datasets service: ingest, check, split and read versions on the two stores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.datasets import _catalog, _deletion, _derive, _quality, _splitting
from pomona.datasets._commit import Provenance, validation_error
from pomona.datasets._hooks import EventSink, Referrers
from pomona.datasets._ingesting import IngestMixin
from pomona.datasets._labels import LabelTable, read_label_csv, read_label_file
from pomona.datasets._manifest import Manifest, load_manifest, read_json
from pomona.datasets._model import DatasetInfo, DatasetSplit, DatasetVersion, Record
from pomona.datasets._policy import SourcePolicy
from pomona.datasets._quality import SuiteLike
from pomona.datasets._reading import export_version, find_image, image_rows, load_table
from pomona.datasets._refs import RefLike, as_ref, check_dataset_name, check_run_id
from pomona.errors import InvalidInputError
from pomona.metadata import MetadataStore
from pomona.types import Digest, Page

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

    from pomona.datasets.checks import ValidationReport
    from pomona.datasets.transforms import Transform

__all__ = ["DatasetService"]


class DatasetService(IngestMixin):
    """Datasets on a metadata store and an artifact store (implements ``DatasetsAPI``).

    Args:
        allowed_roots: local folders sources may be read from; empty allows any.
        sql_sources: SQLAlchemy URLs by name, read (read-only) as ``sql:<name>`` sources.
        source_timeout_s: connect and statement timeout of remote and SQL sources.
        batch_size: image files per batch (tables: 128 times as many rows).
        events: where ``dataset.version_created`` goes (the pipelines' outbox).
        referrers: what outside datasets refers to a version (models' lineage);
            deleting a version they name needs ``force=True``.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        artifacts: ArtifactStore,
        *,
        allowed_roots: Sequence[Path] = (),
        sql_sources: Mapping[str, str] | None = None,
        source_timeout_s: float = 30.0,
        batch_size: int = 512,
        events: EventSink | None = None,
        referrers: Referrers | None = None,
    ) -> None:
        self._db = metadata
        self._blobs = artifacts
        self.policy = SourcePolicy.embedded(
            allowed_roots, sql_sources=sql_sources, timeout_s=source_timeout_s
        )
        """What ``ingest`` and ``import_labels`` read (the user's own process: any source,
        local paths under ``allowed_roots`` when set)."""
        self._batch = batch_size
        self.events = events
        self.referrers = referrers

    # --- versions -----------------------------------------------------------------------

    def list_datasets(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[DatasetInfo]:
        return _catalog.list_datasets(self._db, limit, page_token)

    def list_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[DatasetVersion]:
        return _catalog.list_versions(self._db, check_dataset_name(name), limit, page_token)

    def get_version(self, ref: RefLike) -> DatasetVersion:
        version, row = self._row(ref)
        report = _quality.report_from_dict(read_json(self._blobs, row["report_digest"]))
        return _with_report(version, report)

    def get_profile(self, ref: RefLike) -> dict[str, Any]:
        _, row = self._row(ref)
        digest = row["profile_digest"]
        return dict(read_json(self._blobs, digest)) if digest else {}

    def get_suite(self, ref: RefLike) -> str | None:
        """The suite (YAML) the version was checked with, if it was given or inferred."""
        _, row = self._row(ref)
        digest = row["suite_digest"]
        return self._blobs.read_bytes(check_digest(digest)).decode() if digest else None

    def manifest(self, ref: RefLike) -> Manifest:
        """The version's manifest (every blob it holds)."""
        version, _ = self._row(ref)
        return load_manifest(self._blobs, version.manifest_digest)

    def _row(self, ref: RefLike) -> tuple[DatasetVersion, Mapping[str, Any]]:
        with self._db.read() as conn:
            row = _catalog.load_version(conn, as_ref(ref))
        return _catalog.version_from_row(row), dict(row._mapping)

    # --- deletion -----------------------------------------------------------------------

    def delete_version(self, ref: RefLike, *, force: bool = False) -> None:
        r = as_ref(ref)
        if r.version is None:
            raise InvalidInputError(
                f"'{r.name}' names no version to delete.",
                hint=f"Name one ('{r.name}:3'), or delete the dataset: delete('{r.name}').",
                details={"field": "ref"},
            )
        _deletion.delete_versions(
            self._db, self._blobs, r.name, r.version, force=force, referrers=self.referrers
        )

    def delete(self, name: str, *, force: bool = False) -> None:
        _deletion.delete_versions(
            self._db,
            self._blobs,
            check_dataset_name(name),
            None,
            force=force,
            referrers=self.referrers,
        )

    def collect_garbage(self) -> list[Digest]:
        """Free the blobs of deleted versions no record refers to (``pomona gc``)."""
        return _deletion.collect_garbage(self._db, self._blobs)

    # --- checks -------------------------------------------------------------------------

    def validate(
        self, ref: RefLike, suite: SuiteLike = None, *, strict: bool = False
    ) -> ValidationReport:
        version = self.get_version(ref)
        manifest = self.manifest(version.ref)
        given = suite if suite is not None else self.get_suite(version.ref)
        report = _derive.revalidate(self._blobs, manifest, given, self._batch)
        if strict and not report.passed:
            raise validation_error(version.name, report)
        return report

    def infer_suite(self, ref: RefLike) -> str:
        version = self.get_version(ref)
        label = version.schema.get("label")
        return _derive.infer_suite(self._blobs, self.manifest(version.ref), label)

    # --- preparation --------------------------------------------------------------------

    def prepare(
        self,
        ref: RefLike,
        transform: Transform,
        *,
        suite: SuiteLike = None,
        strict: bool = False,
        run_id: str | None = None,
        description: str | None = None,
    ) -> DatasetVersion:
        check_run_id(run_id)
        parent = self.get_version(ref)
        ingested, fitted = _derive.prepare(
            self._blobs, parent, self.manifest(parent.ref), transform, suite, self._batch
        )
        how = Provenance(
            "prepare",
            parent=parent,
            run_id=run_id,
            description=description,
            transform=fitted,
            strict=strict,
        )
        return self.commit(parent.name, ingested, how)

    def load_transform(self, ref: RefLike) -> Transform:
        version = self.get_version(ref)
        digest = version.lineage.transform_digest
        if digest is None:
            raise InvalidInputError(
                f"{version} was not made by a transform (it was made by "
                f"'{version.lineage.operation}').",
                hint="Pass a version that 'prepare' made.",
                details={"field": "ref"},
            )
        return _quality.load_transform(self._blobs.read_bytes(digest))

    # --- splits -------------------------------------------------------------------------

    def split(
        self,
        ref: RefLike,
        *,
        test: float = 0.2,
        val: float = 0.1,
        stratify: str | None = "label",
        seed: int = 0,
        near_duplicates: int = 10,
    ) -> DatasetSplit:
        version = self.get_version(ref)
        return _splitting.make_split(
            self._db,
            self._blobs,
            version,
            self.manifest(version.ref),
            _splitting.params(test, val, stratify, seed, near_duplicates),
        )

    def list_splits(self, ref: RefLike) -> list[DatasetSplit]:
        return _catalog.list_splits(self._db, as_ref(ref))

    def split_assignment(self, split: DatasetSplit) -> dict[str, str]:
        return _splitting.read_assignment(self._blobs, split.assignment_digest)

    # --- labels -------------------------------------------------------------------------

    def import_labels(
        self,
        ref: RefLike,
        path: str | Path,
        *,
        file_column: str | None = None,
        label_column: str | None = None,
        run_id: str | None = None,
    ) -> DatasetVersion:
        table = read_label_file(
            self.policy.local_path(path, field="labels"),
            file_column=file_column,
            label_column=label_column,
        )
        return self._apply_labels(ref, table, "import_labels", run_id)

    def import_label_text(
        self,
        ref: RefLike,
        text: str,
        *,
        name: str = "labels.csv",
        file_column: str | None = None,
        label_column: str | None = None,
        run_id: str | None = None,
    ) -> DatasetVersion:
        """``import_labels`` on CSV text (how the REST API receives a label file)."""
        table = read_label_csv(text, name=name, file_column=file_column, label_column=label_column)
        return self._apply_labels(ref, table, "import_labels", run_id)

    def relabel(
        self, ref: RefLike, labels: Mapping[str, str], *, run_id: str | None = None
    ) -> DatasetVersion:
        table = _derive.label_table_from_mapping(labels)
        return self._apply_labels(ref, table, "relabel", run_id)

    def _apply_labels(
        self, ref: RefLike, table: LabelTable, operation: str, run_id: str | None
    ) -> DatasetVersion:
        check_run_id(run_id)
        parent = self.get_version(ref)
        ingested = _derive.relabelled(
            self._blobs, parent, self.manifest(parent.ref), table, self.get_suite(parent.ref)
        )
        how = Provenance(operation, parent=parent, run_id=run_id)
        return self.commit(parent.name, ingested, how)

    def label_distribution(self, ref: RefLike) -> dict[str, int]:
        return dict(self.get_version(ref).label_counts)

    # --- records ------------------------------------------------------------------------

    def list_records(
        self,
        ref: RefLike,
        *,
        quarantined: bool = False,
        subset: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Record]:
        version = self.get_version(ref)
        ids = self._subset_ids(ref, version, subset)
        return _splitting.page_of_records(
            self._blobs, version, self.manifest(version.ref), quarantined, ids, limit, page_token
        )

    def read_record(self, ref: RefLike, record_id: str) -> bytes:
        version = self.get_version(ref)
        if version.kind != "images":
            raise InvalidInputError(
                f"{version} is a table: its records are rows, not files.",
                hint="Use load_table or list_records.",
                details={"field": "record_id"},
            )
        digest = find_image(self._blobs, self.manifest(version.ref), record_id, str(version))
        return self._blobs.read_bytes(digest)

    def load_table(
        self, ref: RefLike, *, subset: str | None = None, quarantined: bool = False
    ) -> pd.DataFrame:
        version = self.get_version(ref)
        if version.kind != "table":
            raise InvalidInputError(
                f"{version} holds images, not a table.",
                hint="Use export or list_records.",
                details={"field": "ref"},
            )
        ids = self._subset_ids(ref, version, subset)
        manifest = self.manifest(version.ref)
        return load_table(
            self._blobs,
            manifest,
            quarantined=quarantined,
            ids=None if ids is None else {int(i) for i in ids},
        )

    def export(self, ref: RefLike, dest: str | Path, *, subset: str | None = None) -> Path:
        version = self.get_version(ref)
        ids = self._subset_ids(ref, version, subset)
        return export_version(self._blobs, self.manifest(version.ref), Path(dest), ids)

    def _subset_ids(
        self, ref: RefLike, version: DatasetVersion, subset: str | None
    ) -> set[str] | None:
        if subset is None:
            return None
        split = ref if isinstance(ref, DatasetSplit) else None
        if split is None:
            splits = self.list_splits(version.ref)
            if not splits:
                raise InvalidInputError(
                    f"{version} has no split to take the '{subset}' subset from.",
                    hint=f"Run 'pomona data split {version}' first.",
                    details={"field": "subset"},
                )
            split = splits[-1]
        return _splitting.subset_ids(self._blobs, split, subset)

    def image_rows(self, ref: RefLike, *, quarantined: bool = False) -> list[dict[str, Any]]:
        """The record index of an image version (for the dashboard)."""
        return image_rows(self._blobs, self.manifest(ref), quarantined=quarantined)


def _with_report(version: DatasetVersion, report: ValidationReport) -> DatasetVersion:
    from dataclasses import replace

    return replace(version, report=report)
