"""The datasets interface both transports (embedded and remote) implement."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pomona.datasets._model import (
    DatasetInfo,
    DatasetSplit,
    DatasetVersion,
    Record,
)
from pomona.datasets._quality import SuiteLike
from pomona.datasets._refs import RefLike
from pomona.types import Page

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

    from pomona.datasets.checks import ValidationReport
    from pomona.datasets.transforms import Transform

__all__ = ["DatasetsAPI"]


class DatasetsAPI(Protocol):
    """Versioned datasets: ingest, validate, profile, prepare, split, label, read back.

    A ``ref`` is ``"apples:3"``, ``"apples"`` (the newest version), a ``DatasetRef``,
    a ``DatasetVersion`` or a ``DatasetSplit``. Calls that make a version never change
    another one; a call that fails makes none.
    """

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
    ) -> DatasetVersion:
        """Read a source into a new version of ``name`` (created on first ingest).

        Args:
            source: a folder or file (images, CSV, Parquet), an ``s3://`` prefix, a
                SQLAlchemy URL with ``query``, or ``sql:<name>`` (a URL of the setting
                ``datasets.sql_sources``, opened read-only) with ``query``. A server reads
                only what its settings allow (docs/data.md, "Sources a server reads").
            labels: images: ``"subfolders"`` or a CSV (file, label); tables: the label column.
            label_column: the label column of a label CSV, when not obvious.
            suite: the checks (a suite, its YAML or a YAML file); default: image checks, or
                for tables the latest version's suite, else one inferred from the first rows.
            strict: raise ``DatasetValidationError`` (and make no version) when a blocking
                check fails.
            storage_options: fsspec options for object storage (``endpoint_url``, ``key``…).
        Returns:
            The new version; the same content as the latest version returns that version.
        Raises:
            InvalidInputError: a missing, empty, unreadable or disallowed source; files
                whose schemas disagree; a label file naming unknown files.
            DatasetValidationError: ``strict`` and a blocking check failed.
        """
        ...

    def delete_version(self, ref: RefLike, *, force: bool = False) -> None:
        """Delete one version (``"apples:3"``); deleting a missing one is not an error.

        Its blobs no other version holds are freed by ``pomona gc``.
        Raises:
            ConflictError: a version was made from it, or a model's lineage names it, and
                ``force`` is false.
        """
        ...

    def delete(self, name: str, *, force: bool = False) -> None:
        """Delete a dataset with every version (refused while a model names one, unless
        ``force``); deleting a missing one is not an error."""
        ...

    def list_datasets(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[DatasetInfo]:
        """Datasets by name."""
        ...

    def list_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[DatasetVersion]:
        """Versions of a dataset, newest first (without their reports)."""
        ...

    def get_version(self, ref: RefLike) -> DatasetVersion:
        """The version with its report; ``DatasetNotFoundError`` when there is none."""
        ...

    def get_profile(self, ref: RefLike) -> dict[str, Any]:
        """The profile stored with the version (column statistics, class counts, images)."""
        ...

    def infer_suite(self, ref: RefLike) -> str:
        """A suite (YAML a person can read and edit) inferred from the version's data."""
        ...

    def validate(
        self, ref: RefLike, suite: SuiteLike = None, *, strict: bool = False
    ) -> ValidationReport:
        """Check the version's clean records against ``suite`` (default: its own suite)."""
        ...

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
        """Fit ``transform`` on the version, apply it, store the result as a new version.

        The fitted transform is stored with the new version: ``load_transform`` returns it.
        """
        ...

    def load_transform(self, ref: RefLike) -> Transform:
        """The fitted transform that made a prepared version (for serving)."""
        ...

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
        """Assign every clean record to train / val / test and store it with the version.

        The same parameters on the same version return the same split. Copies of one
        content, and near-duplicate images, always land in the same subset.
        """
        ...

    def list_splits(self, ref: RefLike) -> list[DatasetSplit]:
        """The splits stored with a version."""
        ...

    def split_assignment(self, split: DatasetSplit) -> dict[str, str]:
        """Record id -> ``train`` / ``val`` / ``test``."""
        ...

    def import_labels(
        self,
        ref: RefLike,
        path: str | Path,
        *,
        file_column: str | None = None,
        label_column: str | None = None,
        run_id: str | None = None,
    ) -> DatasetVersion:
        """A new version with the labels of a CSV (file, label) applied.

        Raises:
            InvalidInputError: the CSV names a file the version does not hold (file and
                line named), or holds an empty label.
        """
        ...

    def relabel(
        self, ref: RefLike, labels: Mapping[str, str], *, run_id: str | None = None
    ) -> DatasetVersion:
        """A new version where the given records (by id) carry new labels."""
        ...

    def label_distribution(self, ref: RefLike) -> dict[str, int]:
        """Clean records per label, most frequent first (``(none)``: unlabelled)."""
        ...

    def list_records(
        self,
        ref: RefLike,
        *,
        quarantined: bool = False,
        subset: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Record]:
        """Records of a version: clean ones, or the quarantined ones with their reasons."""
        ...

    def read_record(self, ref: RefLike, record_id: str) -> bytes:
        """The bytes of an image file of the version (clean or quarantined)."""
        ...

    def load_table(
        self, ref: RefLike, *, subset: str | None = None, quarantined: bool = False
    ) -> pd.DataFrame:
        """A table version's rows, indexed by record id."""
        ...

    def export(self, ref: RefLike, dest: str | Path, *, subset: str | None = None) -> Path:
        """Write a version's clean records to a folder (images by label, or data.parquet)."""
        ...
