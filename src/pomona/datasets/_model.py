"""The value objects of the datasets API: datasets, versions, lineage, splits, records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pomona.types import DatasetRef, Digest, RunId

if TYPE_CHECKING:
    from pomona.datasets.checks import ValidationReport

__all__ = [
    "SPLIT_NAMES",
    "DatasetInfo",
    "DatasetKind",
    "DatasetSplit",
    "DatasetVersion",
    "Lineage",
    "Record",
    "SplitParams",
]

DatasetKind = Literal["images", "table"]
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
"""The subsets a split assigns every record to."""


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """A dataset: its name, kind and newest version."""

    name: str
    kind: DatasetKind
    created_at: datetime
    latest_version: int
    num_versions: int


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a version came from: its parent, the operation, transform and run that made it."""

    operation: str
    """``ingest``, ``prepare``, ``import_labels`` or ``relabel``."""
    parent: DatasetRef | None = None
    source: str | None = None
    """What was read (a folder, URL or query; passwords hidden)."""
    run_id: RunId | None = None
    transform: str | None = None
    transform_params: Mapping[str, Any] = field(default_factory=dict)
    transform_digest: Digest | None = None
    """The fitted transform (JSON) in the artifact store."""


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """One immutable version of a dataset: the manifest's digest, summary and lineage.

    ``report`` is loaded by ``ingest``, ``get_version`` and the other calls that return
    one version, and left ``None`` in listings.
    """

    name: str
    version: int
    kind: DatasetKind
    created_at: datetime
    manifest_digest: Digest
    num_records: int
    """Clean records (files or rows), quarantined ones excluded."""
    num_quarantined: int
    num_new: int
    """Records whose content the parent version did not have."""
    size_bytes: int
    passed: bool
    """No blocking check failed."""
    label_counts: Mapping[str, int]
    schema: Mapping[str, Any]
    lineage: Lineage
    description: str | None = None
    report: ValidationReport | None = None

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(self.name, self.version)

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class SplitParams:
    """How a split was made; the same parameters on the same version give the same split."""

    test: float = 0.2
    val: float = 0.1
    stratify: str | None = "label"
    """``label`` (or a table's column) to keep class proportions; ``None`` not to."""
    seed: int = 0
    near_duplicates: int = 10
    """Images whose perceptual hashes (256 bits) differ in at most this many bits share a
    subset (a re-encoded or resized copy of a photo is about 9 bits away); ``-1``: only
    exact copies do."""


@dataclass(frozen=True, slots=True)
class DatasetSplit:
    """A train / val / test assignment stored with a version."""

    name: str
    version: int
    split_id: str
    params: SplitParams
    counts: Mapping[str, Mapping[str, int]]
    """Records per subset and label: ``{"train": {"good": 70, …}, …}``."""
    assignment_digest: Digest
    created_at: datetime

    @property
    def ref(self) -> DatasetRef:
        return DatasetRef(self.name, self.version)

    @property
    def sizes(self) -> dict[str, int]:
        """Records per subset."""
        return {name: sum(self.counts.get(name, {}).values()) for name in SPLIT_NAMES}


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a version: an image file, or a table row (``values``)."""

    record_id: str
    label: str | None
    digest: Digest | None = None
    size: int = 0
    reasons: tuple[str, ...] = ()
    """Why it is quarantined (empty for clean records)."""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    """Image properties (width, height, format, …) or a table row's values."""
