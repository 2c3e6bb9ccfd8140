"""Tables of the metadata database, one module per domain, all in one ``MetaData``.

Migrations in ``migrations/`` must build exactly these (a test compares them). A domain
adds its tables in a module of its own here and imports it below.
"""

from __future__ import annotations

from pomona.metadata.schema._meta import blob_ref_columns, metadata
from pomona.metadata.schema.tracking import (
    idempotency_keys,
    latest_metrics,
    metrics,
    params,
    run_artifacts,
    runs,
    tags,
)

__all__ = [
    "blob_ref_columns",
    "idempotency_keys",
    "latest_metrics",
    "metadata",
    "metrics",
    "params",
    "run_artifacts",
    "runs",
    "tags",
]
