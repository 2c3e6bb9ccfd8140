"""Data validation (verification): suites of checks for tables and images, and their reports.

A suite says what the data must look like; validating gives a ``ValidationReport`` with
every check, pass or fail, counts and example record ids, and the records put in
quarantine with their reasons. Heavy libraries (pandas, pandera, Pillow) load on first use.
"""

from __future__ import annotations

from pomona.datasets.checks._image_props import ImageProperties, ImagePropertyTable
from pomona.datasets.checks._images import ImageValidation, ImageValidator, validate_images
from pomona.datasets.checks._infer import infer_table_suite
from pomona.datasets.checks._near import find_near_duplicates, hamming_distance
from pomona.datasets.checks._report import CheckResult, ValidationReport
from pomona.datasets.checks._suites import (
    IMAGE_CHECKS,
    TABLE_CHECKS,
    ColumnSpec,
    ImageSuite,
    TableSuite,
)
from pomona.datasets.checks._table import TableValidator, validate_table

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "CheckResult",
    "ColumnSpec",
    "IMAGE_CHECKS",
    "ImageProperties",
    "ImagePropertyTable",
    "ImageSuite",
    "ImageValidation",
    "ImageValidator",
    "TABLE_CHECKS",
    "TableSuite",
    "TableValidator",
    "ValidationReport",
    "find_near_duplicates",
    "hamming_distance",
    "infer_table_suite",
    "validate_images",
    "validate_table",
]
