"""Free blobs no record refers to: what a killed ingest, upload or training run left behind.

Every table column that holds a blob digest is marked ``blob_ref`` in the metadata schema
(a dataset version's manifest, report, profile, suite and transform; every blob a
manifest lists, in ``dataset_blobs``; split assignments; run artifacts; model files, gate
reports and exports; pipeline step outputs and logs; feature tables; prediction logs), so
the reference set is the union of those columns, whoever owns them. A blob is freed only
when none refers to it AND it was stored before the grace period: a write in flight stores
its blobs before the record that refers to them, and storing existing content again counts
as storing it (file and memory stores), so a blob an ingest is reusing is young again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from pomona._utils.clock import now_ms
from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore
from pomona.metadata.schema import blob_ref_columns
from pomona.types import Digest

__all__ = ["Sweep", "sweep_unreferenced"]

log = logging.getLogger("pomona.gc")

_BATCH = 500


@dataclass(frozen=True)
class Sweep:
    """What one sweep freed and kept."""

    freed: tuple[Digest, ...]
    """Unreferenced blobs stored before the grace period: deleted."""
    young: int
    """Unreferenced or not, blobs stored within the grace period: not looked at."""
    unknown_age: int
    """Blobs whose backend cannot tell when they were stored: kept."""
    partial: int
    """Temporary files of unfinished writes older than the grace period: deleted."""


def sweep_unreferenced(
    db: MetadataStore, blobs: ArtifactStore, *, grace_s: float, at_ms: int | None = None
) -> Sweep:
    """Delete every blob no ``blob_ref`` column names that was stored ``grace_s`` or more
    before ``at_ms`` (now), and unfinished writes as old.
    """
    cutoff = (now_ms() if at_ms is None else at_ms) - int(grace_s * 1000)
    freed: list[Digest] = []
    young = unknown = 0
    batch: list[Digest] = []
    for digest, stored_ms in blobs.iter_stored():
        if stored_ms is None:
            unknown += 1
        elif stored_ms >= cutoff:
            young += 1
        else:
            batch.append(digest)
            if len(batch) >= _BATCH:
                freed += _free_unreferenced(db, blobs, batch, cutoff)
                batch = []
    freed += _free_unreferenced(db, blobs, batch, cutoff)
    if unknown:
        log.info("%d blob(s) of %s have no stored time; kept", unknown, blobs.url)
    partial = blobs.discard_partial(cutoff)
    return Sweep(tuple(freed), young, unknown, partial)


def _free_unreferenced(
    db: MetadataStore, blobs: ArtifactStore, candidates: list[Digest], cutoff: int
) -> list[Digest]:
    if not candidates:
        return []
    used = referenced(db, candidates)
    freed = []
    for digest in candidates:
        if digest in used:
            continue
        stored_ms = blobs.stored_at_ms(digest)  # again: a write may have stored it since
        if stored_ms is None or stored_ms >= cutoff:
            continue
        blobs.delete(digest)
        freed.append(digest)
    return freed


def referenced(db: MetadataStore, digests: Iterable[str]) -> set[str]:
    """The digests among ``digests`` that some record refers to."""
    wanted = sorted(set(digests))
    used: set[str] = set()
    with db.read() as conn:
        for i in range(0, len(wanted), _BATCH):
            chunk = wanted[i : i + _BATCH]
            for col in blob_ref_columns():
                used.update(conn.execute(select(col).where(col.in_(chunk))).scalars())
    return used
