"""Committing a version: blobs first (manifest, report, profile, suite), the row last."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pomona.artifacts.base import ArtifactStore
from pomona.datasets import _catalog, _derive
from pomona.datasets._catalog import VersionRow
from pomona.datasets._manifest import Ingested, load_manifest, put_json, write_manifest
from pomona.datasets._model import DatasetKind, DatasetVersion
from pomona.datasets._refs import check_run_id
from pomona.errors import DatasetValidationError
from pomona.metadata import MetadataStore
from pomona.types import DatasetRef, Digest

if TYPE_CHECKING:
    from pomona.datasets.checks import ValidationReport

__all__ = ["Provenance", "commit", "validation_error"]


@dataclass(frozen=True)
class Provenance:
    """What a version records about how it was made, besides its content."""

    operation: str
    parent: DatasetVersion | None = None
    source: str | None = None
    run_id: str | None = None
    description: str | None = None
    transform: _derive.FittedTransform | None = None
    strict: bool = False


def validation_error(name: str, report: ValidationReport) -> DatasetValidationError:
    failed = [c.name for c in report.checks if c.blocking and not c.passed]
    return DatasetValidationError(
        f"Dataset '{name}' failed {len(failed)} blocking check(s): {', '.join(failed)}. "
        "No version was made.",
        hint="Read the report (error.report, or the details); fix the data, "
        "or mark the checks non-blocking in the suite.",
        details={"dataset": name, "failed_checks": failed, "report": report.to_dict()},
        report=report,
    )


def _unchanged(db: MetadataStore, parent: DatasetVersion, manifest: Digest, report: Digest) -> bool:
    with db.read() as conn:
        row = _catalog.load_version(conn, parent.ref)._mapping
    return bool(row["manifest_digest"] == manifest and row["report_digest"] == report)


def _num_new(blobs: ArtifactStore, ingested: Ingested, parent: DatasetVersion | None) -> int:
    if parent is None:
        return ingested.manifest.num_records + ingested.manifest.num_quarantined
    before = _derive.content_digests(blobs, load_manifest(blobs, parent.manifest_digest))
    return _derive.count_new(blobs, ingested, before)


def commit(
    db: MetadataStore, blobs: ArtifactStore, name: str, ingested: Ingested, how: Provenance
) -> DatasetRef:
    """Store what an ingest or derivation produced as the next version of ``name``.

    An ingest whose content and report equal the parent's makes no version: the parent's
    reference comes back.
    Raises:
        DatasetValidationError: ``how.strict`` and a blocking check failed (nothing stored).
    """
    check_run_id(how.run_id)
    report = ingested.report
    if how.strict and not report.passed:
        raise validation_error(name, report)
    manifest_digest = write_manifest(blobs, ingested.manifest)
    report_digest = put_json(blobs, report.to_dict())
    parent = how.parent
    if (
        parent is not None
        and how.operation == "ingest"
        and _unchanged(db, parent, manifest_digest, report_digest)
    ):
        return parent.ref
    suite = ingested.suite_yaml
    row = VersionRow(
        operation=how.operation,
        manifest_digest=manifest_digest,
        report_digest=report_digest,
        profile_digest=put_json(blobs, ingested.profile),
        suite_digest=blobs.put_bytes(suite.encode())[0] if suite else None,
        num_records=ingested.manifest.num_records,
        num_quarantined=ingested.manifest.num_quarantined,
        num_new=_num_new(blobs, ingested, parent),
        size_bytes=ingested.size_bytes,
        passed=bool(report.passed),
        label_counts=ingested.label_counts,
        schema=ingested.schema,
        source=how.source,
        description=how.description,
        parent_version=parent.version if parent is not None else None,
        run_id=how.run_id,
    )
    if how.transform is not None:
        row.transform_name, row.transform_params = how.transform.name, how.transform.params
        row.transform_digest = how.transform.digest
    kind: DatasetKind = "images" if ingested.manifest.kind == "images" else "table"
    return DatasetRef(name, _catalog.commit_version(db, name, kind, row, ingested.blobs))
