"""Making versions: ingest from a source or from uploaded files, commit, announce."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _catalog, _quality, _uploads
from pomona.datasets._commit import Provenance, commit
from pomona.datasets._hooks import VERSION_CREATED, EventSink
from pomona.datasets._ingest_images import ingest_images
from pomona.datasets._ingest_table import ingest_table
from pomona.datasets._labels import LabelTable, check_known, read_label_csv, read_label_file
from pomona.datasets._labels import subfolder_label as _subfolder_label
from pomona.datasets._manifest import Ingested
from pomona.datasets._model import DatasetVersion
from pomona.datasets._policy import SourcePolicy
from pomona.datasets._quality import SuiteLike
from pomona.datasets._refs import RefLike, check_dataset_name, check_run_id
from pomona.datasets._sources import FileSource, SqlSource, open_source
from pomona.errors import PomonaError
from pomona.metadata import MetadataStore
from pomona.types import Digest

__all__ = ["IngestMixin"]

log = logging.getLogger("pomona.datasets")
TABLE_BATCH_FACTOR = 128

Labeler = Callable[[str], "str | None"]


class IngestMixin:
    """``ingest``, ``ingest_upload`` and ``commit`` of ``DatasetService``."""

    _db: MetadataStore
    _blobs: ArtifactStore
    policy: SourcePolicy
    _batch: int
    events: EventSink | None

    if TYPE_CHECKING:

        def get_version(self, ref: RefLike) -> DatasetVersion: ...
        def get_suite(self, ref: RefLike) -> str | None: ...

    def ingest(
        self,
        name: str,
        source: str | Path,
        *,
        labels: str | Path | None = None,
        label_column: str | None = None,
        query: str | None = None,
        suite: SuiteLike = None,
        strict: bool = False,
        storage_options: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        description: str | None = None,
        policy: SourcePolicy | None = None,
    ) -> DatasetVersion:
        """See ``DatasetsAPI.ingest``; ``policy`` is what the caller may read (a server
        passes its own for API clients; the default is the service's ``policy``)."""
        check_dataset_name(name)
        check_run_id(run_id)
        policy = policy or self.policy
        src = open_source(source, query=query, storage_options=storage_options, policy=policy)
        try:
            labeler = (
                self._labeler(src, labels, label_column, policy)
                if isinstance(src, FileSource) and _is_images(src)
                else None
            )
        except BaseException:
            src.close()
            raise
        table_label = None if labels is None or labeler is not None else str(labels)
        return self._ingest(name, src, labeler, table_label, suite, strict, run_id, description)

    def ingest_upload(
        self,
        name: str,
        files: Sequence[tuple[str, str]],
        *,
        source: str,
        labels: str | None = None,
        label_text: str | None = None,
        label_name: str = "labels.csv",
        label_column: str | None = None,
        suite: SuiteLike = None,
        strict: bool = False,
        run_id: str | None = None,
        description: str | None = None,
        policy: SourcePolicy | None = None,
    ) -> DatasetVersion:
        """A version from uploaded files: (record id, digest) pairs stored before.

        ``labels``: ``"subfolders"`` or a table's label column; ``label_text``: a label
        CSV's text (images), ``label_name`` its file name (for errors). The raw files of a
        table are released once it is stored. A label file named by path is read as
        ``policy`` allows (default: the service's).
        """
        check_dataset_name(name)
        check_run_id(run_id)
        src = _uploads.upload_source(self._blobs, files, source)
        labeler: Labeler | None = None
        try:
            if _is_images(src) and label_text is not None:
                table = read_label_csv(label_text, name=label_name, label_column=label_column)
                labeler = _known_labels(src, table)
            elif _is_images(src):
                labeler = self._labeler(src, labels, label_column, policy or self.policy)
        except BaseException:
            src.close()
            raise
        table_label = None if labels is None or _is_images(src) else labels
        version = self._ingest(
            name, src, labeler, table_label, suite, strict, run_id, description, uploaded=True
        )
        if not _is_images(src):
            _uploads.release(self._db, self._blobs, [Digest(f.location) for f in src.files])
        return version

    def missing_blobs(self, digests: Sequence[str]) -> list[str]:
        """The digests (of files to upload) the server's artifact store lacks."""
        return _uploads.missing_blobs(self._db, self._blobs, digests)

    def receive_blobs(self, items: Sequence[tuple[str, BinaryIO]]) -> list[Digest]:
        """Store uploaded files named by their digests (verified)."""
        return _uploads.receive_blobs(self._blobs, items)

    def _ingest(
        self,
        name: str,
        src: FileSource | SqlSource,
        labeler: Labeler | None,
        table_label: str | None,
        suite: SuiteLike,
        strict: bool,
        run_id: str | None,
        description: str | None,
        *,
        uploaded: bool = False,
    ) -> DatasetVersion:
        parent = self._source_parent(_catalog.find_latest(self._db, name))
        try:
            if isinstance(src, FileSource) and labeler is not None:
                known: Callable[[list[str]], set[str]] = (
                    set if uploaded else (lambda ds: _catalog.known_digests(self._db, ds))
                )
                ingested = ingest_images(
                    src,
                    blobs=self._blobs,
                    known=known,
                    labeler=labeler,
                    suite=_quality.image_suite(suite),
                    batch_size=self._batch,
                )
            else:
                ingested = ingest_table(
                    src,
                    blobs=self._blobs,
                    suite=self._table_suite(suite, parent),
                    label=table_label,
                    batch_rows=self._batch * TABLE_BATCH_FACTOR,
                )
        finally:
            src.close()
        how = Provenance(
            "ingest",
            parent=parent,
            source=src.description,
            run_id=run_id,
            description=description,
            strict=strict,
        )
        return self.commit(name, ingested, how)

    def _labeler(
        self,
        src: FileSource,
        labels: str | Path | None,
        label_column: str | None,
        policy: SourcePolicy,
    ) -> Labeler:
        if labels is None:
            return lambda _: None
        if str(labels) == "subfolders":
            return _subfolder_label
        path = policy.local_path(labels, field="labels")
        return _known_labels(src, read_label_file(path, label_column=label_column))

    def _source_parent(self, latest: DatasetVersion | None) -> DatasetVersion | None:
        """What a new ingest follows: the latest version read from a source, not one
        ``prepare`` derived from it (whose columns and content are the transform's)."""
        version = latest
        while (
            version is not None
            and version.lineage.operation == "prepare"
            and version.lineage.parent is not None
        ):
            version = self.get_version(version.lineage.parent)
        return version

    def _table_suite(self, suite: SuiteLike, parent: DatasetVersion | None) -> Any:
        given = _quality.table_suite(suite)
        if given is not None or parent is None:
            return given
        stored = self.get_suite(parent.ref)
        return _quality.table_suite(stored) if stored else None

    def commit(self, name: str, ingested: Ingested, how: Provenance) -> DatasetVersion:
        """Store what an ingest or derivation produced as the next version of ``name``.

        A new version is announced as the event ``dataset.version_created``.
        """
        ref = commit(self._db, self._blobs, name, ingested, how)
        version = self.get_version(ref)
        if how.parent is None or ref != how.parent.ref:
            self._announce(version)
        return version

    def _announce(self, version: DatasetVersion) -> None:
        if self.events is None:
            return
        payload = {"dataset": version.name, "version": version.version, "ref": str(version.ref)}
        try:
            self.events.emit_event(VERSION_CREATED, payload)
        except PomonaError as exc:  # the version stands; only triggers miss it
            log.warning("Could not emit %s for %s: %s", VERSION_CREATED, version.ref, exc)


def _is_images(src: FileSource | SqlSource) -> bool:
    return isinstance(src, FileSource) and src.kind == "images"


def _known_labels(src: FileSource, table: LabelTable) -> Labeler:
    check_known(table, (f.record_id for f in src.files), f"the source '{src.description}'")
    return table.labels.get
