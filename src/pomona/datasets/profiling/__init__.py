"""Profiles of tables and images: statistics to show, store with a version, and compare.

Every profile is built batch by batch (``merge``, or the ``TableProfiler``), so memory is
bounded by the batch; counts and histogram edges are exact, and serialise to small JSON
(``to_dict`` / ``from_dict``). Drift monitoring uses a version's profile as its reference.
"""

from __future__ import annotations

from pomona.datasets.profiling._columns import MAX_CATEGORIES, QUANTILES, ColumnProfile
from pomona.datasets.profiling._histogram import Histogram
from pomona.datasets.profiling._images import IMAGE_MEASURES, ImageProfile, profile_images
from pomona.datasets.profiling._sketch import QuantileSketch
from pomona.datasets.profiling._table import TableProfile, TableProfiler, profile_table

__all__ = [  # noqa: RUF022 - plain sorted(), as tests/test_exported_members.py checks
    "ColumnProfile",
    "Histogram",
    "IMAGE_MEASURES",
    "ImageProfile",
    "MAX_CATEGORIES",
    "QUANTILES",
    "QuantileSketch",
    "TableProfile",
    "TableProfiler",
    "profile_images",
    "profile_table",
]
