"""The one door to the checks, profiling and transforms library (imported lazily).

Ingestion calls validation through these functions only, so the storage and versioning
code does not depend on how checks are written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

    from pomona.datasets.checks import (
        ImageSuite,
        ImageValidation,
        ImageValidator,
        TableSuite,
        TableValidator,
        ValidationReport,
    )
    from pomona.datasets.profiling import TableProfiler
    from pomona.datasets.transforms import Transform

__all__ = [
    "SuiteLike",
    "chunk_properties",
    "empty_report",
    "image_profile",
    "image_suite",
    "image_validator",
    "infer_table_suite",
    "load_transform",
    "merge_reports",
    "profile_dict",
    "profile_images",
    "read_suite_text",
    "report_from_dict",
    "schema_suite",
    "suite_yaml",
    "table_profiler",
    "table_suite",
    "table_validator",
    "validate_images",
    "validate_table",
]

SuiteLike: TypeAlias = "str | Path | ImageSuite | TableSuite | None"
"""A suite object, its YAML text, or the path of a YAML file."""


def validate_images(
    records: Iterable[tuple[str, Path]], suite: ImageSuite | None
) -> ImageValidation:
    from pomona.datasets import checks

    return checks.validate_images(records, suite)


def validate_table(df: pd.DataFrame, suite: TableSuite) -> ValidationReport:
    from pomona.datasets import checks

    return checks.validate_table(df, suite)


def table_validator(suite: TableSuite) -> TableValidator:
    """A validator fed batch by batch (uniqueness and fractions span the batches)."""
    from pomona.datasets import checks

    return checks.TableValidator(suite)


def infer_table_suite(df: pd.DataFrame, label: str | None = None) -> TableSuite:
    """The full suite ``df`` passes (ranges, categories, classes): for people to review."""
    from pomona.datasets import checks

    return checks.infer_table_suite(df, label=label)


def schema_suite(df: pd.DataFrame) -> TableSuite:
    """Only the columns and their types of ``df``: the default checks of a table ingest.

    Ranges and categories seen in the first rows are not rules for the rest; a person
    adopts those with ``pomona data profile`` and passes the suite to later ingests.
    """
    from pomona.datasets import checks

    inferred = checks.infer_table_suite(df)
    columns = {name: checks.ColumnSpec(dtype=spec.dtype) for name, spec in inferred.columns.items()}
    return checks.TableSuite(columns=columns)


def read_suite_text(suite: str | Path) -> str:
    if isinstance(suite, Path) or ("\n" not in suite and suite.endswith((".yaml", ".yml"))):
        try:
            return Path(suite).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot read the suite file '{suite}': {exc}.", details={"field": "suite"}
            ) from exc
    return suite


def table_suite(suite: SuiteLike) -> TableSuite | None:
    """The table suite ``suite`` stands for (``None`` stays ``None``)."""
    from pomona.datasets import checks

    if suite is None or isinstance(suite, checks.TableSuite):
        return suite
    if isinstance(suite, checks.ImageSuite):
        raise InvalidInputError("An image suite cannot check a table.", details={"field": "suite"})
    return checks.TableSuite.from_yaml(read_suite_text(suite))


def image_suite(suite: SuiteLike) -> ImageSuite | None:
    """The image suite ``suite`` stands for (``None`` stays ``None``: the default checks)."""
    from pomona.datasets import checks

    if suite is None or isinstance(suite, checks.ImageSuite):
        return suite
    if isinstance(suite, checks.TableSuite):
        raise InvalidInputError("A table suite cannot check images.", details={"field": "suite"})
    return checks.ImageSuite.from_yaml(read_suite_text(suite))


def suite_yaml(suite: ImageSuite | TableSuite | None) -> str | None:
    return None if suite is None else suite.to_yaml()


def report_from_dict(data: Mapping[str, Any]) -> ValidationReport:
    from pomona.datasets.checks import ValidationReport

    return ValidationReport.from_dict(dict(data))


def empty_report() -> ValidationReport:
    """A report with no checks: nothing failed, nothing quarantined."""
    from pomona.datasets.checks import ValidationReport

    return ValidationReport(checks=[], quarantined={})


def merge_reports(reports: Sequence[ValidationReport]) -> ValidationReport:
    """One report for records validated in several parts (counts add up per check)."""
    from pomona.datasets.checks import ValidationReport

    return reports[0] if len(reports) == 1 else ValidationReport.merge(reports)


def table_profiler(label: str | None) -> TableProfiler:
    """A profiler fed batch by batch (exact counts and histograms, memory of one batch)."""
    from pomona.datasets.profiling import TableProfiler

    return TableProfiler(label=label)


def profile_dict(profile: Any) -> dict[str, Any]:
    """A profile's ``to_dict()`` as plain JSON."""
    return _jsonable(profile.to_dict())


def profile_images(
    properties: Mapping[str, Any], labels: Mapping[str, str | None]
) -> dict[str, Any]:
    return profile_dict(image_profile(properties, labels))


def image_profile(properties: Mapping[str, Any], labels: Mapping[str, str | None]) -> Any:
    """The ``ImageProfile`` of some images (merge those of batches with ``merge``)."""
    from pomona.datasets.profiling import profile_images as _profile

    return _profile(properties, labels=labels)


def image_validator(suite: ImageSuite | None) -> ImageValidator:
    """A validator fed batch by batch that keeps no per-image measurements: read them
    from ``update_chunks`` (``chunk_properties``)."""
    from pomona.datasets import checks

    return checks.ImageValidator(suite, keep_properties=False)


def chunk_properties(stats: Any) -> Mapping[str, Any]:
    """Record id -> ``ImageProperties`` of one chunk ``update_chunks`` gave."""
    from pomona.datasets.checks import ImagePropertyTable

    return ImagePropertyTable([stats])


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    """The profile through a JSON round trip (numpy scalars become plain numbers)."""
    return dict(json.loads(json.dumps(data, default=_plain)))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def load_transform(data: bytes | Mapping[str, Any]) -> Transform:
    from pomona.datasets.transforms import load_transform as _load

    return _load(data if isinstance(data, bytes) else json.dumps(dict(data)).encode())
