"""Deleting versions and datasets; their blobs become garbage that ``collect_garbage`` frees.

A version is refused while another version was made from it or something outside datasets
(a model's lineage) names it, unless forced. Deleting removes the version rows and their
splits in one transaction, drops the ``dataset_blobs`` rows no remaining version needs and
records every digest the versions held in ``dataset_garbage``; ``collect_garbage`` (run by
``pomona gc``) then deletes the blobs no record refers to any more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, select

from pomona._utils.clock import now_ms
from pomona.artifacts.base import ArtifactStore
from pomona.datasets._catalog import insert_for
from pomona.datasets._derive import content_digests
from pomona.datasets._hooks import Referrers
from pomona.datasets._manifest import load_manifest
from pomona.errors import ConflictError
from pomona.metadata import MetadataStore
from pomona.metadata.schema import (
    blob_ref_columns,
    dataset_blobs,
    dataset_garbage,
    dataset_splits,
    dataset_versions,
    datasets,
)
from pomona.types import Digest

__all__ = ["collect_garbage", "delete_versions"]

_ROW_DIGESTS = ("manifest_digest", "report_digest", "profile_digest", "suite_digest")


def _rows(conn: Connection, name: str, version: int | None) -> list[Mapping[str, Any]]:
    stmt = (
        select(dataset_versions)
        .join(datasets, datasets.c.pk == dataset_versions.c.dataset_pk)
        .where(datasets.c.name == name)
    )
    if version is not None:
        stmt = stmt.where(dataset_versions.c.version == version)
    return [dict(r._mapping) for r in conn.execute(stmt).all()]


def _blockers(
    conn: Connection, name: str, version: int | None, referrers: Referrers | None
) -> list[str]:
    found = list(referrers(name, version)) if referrers is not None else []
    if version is not None:
        children = conn.execute(
            select(dataset_versions.c.version)
            .join(datasets, datasets.c.pk == dataset_versions.c.dataset_pk)
            .where(datasets.c.name == name, dataset_versions.c.parent_version == version)
            .order_by(dataset_versions.c.version)
        ).scalars()
        found += [f"version {name}:{child} (made from it)" for child in children]
    return found


def _held(blobs: ArtifactStore, row: Mapping[str, Any], splits: Iterable[str]) -> set[str]:
    """Every digest a version row refers to: its manifest's blobs and content, and more."""
    manifest = load_manifest(blobs, row["manifest_digest"])
    held = {p.digest for p in manifest.blobs()} | content_digests(blobs, manifest)
    held |= {row[c] for c in (*_ROW_DIGESTS, "transform_digest") if row[c]}
    return held | set(splits)


def delete_versions(
    db: MetadataStore,
    blobs: ArtifactStore,
    name: str,
    version: int | None,
    *,
    force: bool,
    referrers: Referrers | None,
) -> list[int]:
    """Delete one version of ``name`` (every version when ``version`` is ``None``).

    Returns:
        The versions deleted (none when there was nothing to delete).
    Raises:
        ConflictError: something refers to the version(s) and ``force`` is false.
    """
    with db.write() as conn:
        rows = _rows(conn, name, version)
        if not rows:
            return []
        blockers = [] if force else _blockers(conn, name, version, referrers)
        if blockers:
            what = f"{name}:{version}" if version is not None else f"Dataset '{name}'"
            raise ConflictError(
                f"{what} is still referred to by {', '.join(blockers)}.",
                hint="Delete those first, or pass force=True (CLI: --force) to delete anyway.",
                details={"name": name, "version": version, "referrers": blockers},
            )
        pks = [r["pk"] for r in rows]
        splits = conn.execute(
            select(dataset_splits.c.assignment_digest).where(dataset_splits.c.version_pk.in_(pks))
        ).scalars()
        held = set(splits)
        for row in rows:
            held |= _held(blobs, row, ())
        conn.execute(delete(dataset_splits).where(dataset_splits.c.version_pk.in_(pks)))
        conn.execute(delete(dataset_versions).where(dataset_versions.c.pk.in_(pks)))
        _drop_empty_dataset(conn, name)
        _release(conn, blobs, held)
    return sorted(int(r["version"]) for r in rows)


def _drop_empty_dataset(conn: Connection, name: str) -> None:
    left = conn.execute(
        select(func.count())
        .select_from(dataset_versions)
        .join(datasets, datasets.c.pk == dataset_versions.c.dataset_pk)
        .where(datasets.c.name == name)
    ).scalar_one()
    if not left:
        conn.execute(delete(datasets).where(datasets.c.name == name))


def _release(conn: Connection, blobs: ArtifactStore, held: set[str]) -> None:
    """Drop ``dataset_blobs`` rows no remaining version needs; record ``held`` as garbage."""
    still: set[str] = set()
    for row in conn.execute(select(dataset_versions)).all():
        still |= _held(blobs, dict(row._mapping), ()) & held
    gone = sorted(held - still)
    for i in range(0, len(gone), 500):
        conn.execute(delete(dataset_blobs).where(dataset_blobs.c.digest.in_(gone[i : i + 500])))
    now = now_ms()
    rows = [{"digest": d, "created_ms": now} for d in sorted(held)]
    for i in range(0, len(rows), 1000):
        conn.execute(insert_for(conn, dataset_garbage).on_conflict_do_nothing(), rows[i : i + 1000])


def collect_garbage(db: MetadataStore, blobs: ArtifactStore) -> list[Digest]:
    """Free the blobs of deleted versions that no record refers to any more.

    Returns:
        The digests whose storage was freed.
    """
    with db.write() as conn:
        garbage = sorted(conn.execute(select(dataset_garbage.c.digest)).scalars())
        used: set[str] = set()
        for i in range(0, len(garbage), 500):
            chunk = garbage[i : i + 500]
            for col in blob_ref_columns():
                used.update(conn.execute(select(col).where(col.in_(chunk))).scalars())
        conn.execute(delete(dataset_garbage))
    freed = [Digest(d) for d in garbage if d not in used]
    for digest in freed:
        blobs.delete(digest)
    return freed
