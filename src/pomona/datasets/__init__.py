"""Datasets: immutable, content-addressed versions that are ingested, validated, profiled,
prepared, split and labelled.

``DatasetService`` works on a workspace's stores; ``pomona.connect().datasets`` is the
same interface (``DatasetsAPI``), embedded or over HTTP. The checks, profiling and
transforms live in ``pomona.datasets.checks``, ``.profiling`` and ``.transforms``.
"""

from __future__ import annotations

from pomona.datasets._catalog import DatasetNotFoundError
from pomona.datasets._model import (
    SPLIT_NAMES,
    DatasetInfo,
    DatasetSplit,
    DatasetVersion,
    Lineage,
    Record,
    SplitParams,
)
from pomona.datasets._refs import parse_ref
from pomona.datasets.base import DatasetsAPI
from pomona.datasets.service import DatasetService

# Plain sorted() order, as tests/test_exported_members.py checks.
__all__ = [  # noqa: RUF022
    "DatasetInfo",
    "DatasetNotFoundError",
    "DatasetService",
    "DatasetSplit",
    "DatasetVersion",
    "DatasetsAPI",
    "Lineage",
    "Record",
    "SPLIT_NAMES",
    "SplitParams",
    "parse_ref",
]
