"""The SQL side of datasets: version rows, splits and referenced blobs, in one transaction each."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.dialects import postgresql, sqlite

from pomona._utils.clock import from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.datasets._model import (
    DatasetInfo,
    DatasetKind,
    DatasetSplit,
    DatasetVersion,
    Lineage,
    SplitParams,
)
from pomona.errors import ConflictError, InvalidInputError, NotFoundError
from pomona.metadata import MetadataStore
from pomona.metadata.schema import dataset_blobs, dataset_splits, dataset_versions, datasets
from pomona.types import DatasetRef, Digest, Page, RunId

__all__ = [
    "MAX_PAGE",
    "DatasetNotFoundError",
    "VersionRow",
    "commit_version",
    "find_latest",
    "insert_for",
    "known_digests",
    "list_datasets",
    "list_splits",
    "list_versions",
    "load_version",
    "save_split",
    "version_from_row",
]

MAX_PAGE = 1000


class DatasetNotFoundError(NotFoundError):
    """No dataset has this name, or it has no such version."""


@dataclass
class VersionRow:
    """The columns of a new version (everything but its number and dataset)."""

    operation: str
    manifest_digest: Digest
    report_digest: Digest
    num_records: int
    num_quarantined: int
    num_new: int
    size_bytes: int
    passed: bool
    label_counts: Mapping[str, int]
    schema: Mapping[str, Any]
    source: str | None = None
    description: str | None = None
    parent_version: int | None = None
    run_id: str | None = None
    profile_digest: Digest | None = None
    suite_digest: Digest | None = None
    transform_digest: Digest | None = None
    transform_name: str | None = None
    transform_params: Mapping[str, Any] = field(default_factory=dict)

    def values(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k not in ("label_counts", "schema")}
        out["label_counts"] = json.dumps(dict(self.label_counts))
        out["schema_json"] = json.dumps(dict(self.schema), sort_keys=True)
        out["transform_params"] = json.dumps(dict(self.transform_params), sort_keys=True)
        return out


def _not_found(ref: DatasetRef, latest: int | None) -> DatasetNotFoundError:
    if latest is None:
        return DatasetNotFoundError(
            f"Dataset '{ref.name}' does not exist.",
            hint="Run 'pomona data list' to see the datasets, or ingest one first.",
            details={"name": ref.name},
        )
    return DatasetNotFoundError(
        f"Dataset '{ref.name}' has no version {ref.version} (latest is {latest}).",
        hint=f"Run 'pomona data show {ref.name}' to list its versions.",
        details={"name": ref.name, "version": ref.version},
    )


def insert_for(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT (it has ``on_conflict_do_nothing``) for ``table``."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def known_digests(db: MetadataStore, digests: Iterable[str]) -> set[str]:
    """The digests among ``digests`` some dataset version already refers to."""
    wanted = list(set(digests))
    found: set[str] = set()
    with db.read() as conn:
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            stmt = select(dataset_blobs.c.digest).where(dataset_blobs.c.digest.in_(chunk))
            found.update(conn.execute(stmt).scalars())
    return found


def commit_version(
    db: MetadataStore,
    name: str,
    kind: DatasetKind,
    row: VersionRow,
    blobs: Mapping[str, int],
) -> int:
    """Insert the version (and the dataset on first ingest) with the blobs it refers to.

    Runs in one transaction: either the version exists with everything, or nothing does.
    Two writers racing for the same number (PostgreSQL) retry with the next one.
    Returns:
        The new version number.
    """
    for attempt in range(_ATTEMPTS):
        try:
            return _insert_version(db, name, kind, row, blobs)
        except ConflictError:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


_ATTEMPTS = 5


def _insert_version(
    db: MetadataStore, name: str, kind: DatasetKind, row: VersionRow, blobs: Mapping[str, int]
) -> int:
    now = now_ms()
    with db.write() as conn:
        found = conn.execute(
            select(datasets.c.pk, datasets.c.kind).where(datasets.c.name == name)
        ).first()
        if found is None:
            pk = conn.execute(
                datasets.insert()
                .values(name=name, kind=kind, created_ms=now)
                .returning(datasets.c.pk)
            ).scalar_one()
        else:
            pk, stored_kind = found
            if stored_kind != kind:
                raise InvalidInputError(
                    f"Dataset '{name}' holds {stored_kind}; this source holds {kind}.",
                    hint="Ingest it under another dataset name.",
                    details={"field": "name"},
                )
        latest = conn.execute(
            select(func.max(dataset_versions.c.version)).where(dataset_versions.c.dataset_pk == pk)
        ).scalar()
        version = int(latest or 0) + 1
        conn.execute(
            dataset_versions.insert().values(
                dataset_pk=pk, version=version, created_ms=now, **row.values()
            )
        )
        items = iter(blobs.items())  # a thousand at a time: blobs may be a compact table
        while rows := [{"digest": d, "size": s, "created_ms": now} for d, s in islice(items, 1000)]:
            conn.execute(insert_for(conn, dataset_blobs).on_conflict_do_nothing(), rows)
    return version


def find_latest(db: MetadataStore, name: str) -> DatasetVersion | None:
    """The newest version of ``name``, or ``None`` when the dataset does not exist."""
    with db.read() as conn:
        row = conn.execute(
            _version_stmt()
            .where(datasets.c.name == name)
            .order_by(dataset_versions.c.version.desc())
            .limit(1)
        ).first()
    return version_from_row(row) if row is not None else None


def _version_stmt() -> Any:
    return select(dataset_versions, datasets.c.name, datasets.c.kind).join(
        datasets, datasets.c.pk == dataset_versions.c.dataset_pk
    )


def load_version(conn: Connection, ref: DatasetRef) -> Row[Any]:
    """The version row ``ref`` names (the newest when it has no version)."""
    latest = conn.execute(
        select(func.max(dataset_versions.c.version))
        .join(datasets, datasets.c.pk == dataset_versions.c.dataset_pk)
        .where(datasets.c.name == ref.name)
    ).scalar()
    if latest is None:
        raise _not_found(ref, None)
    number = latest if ref.version is None else ref.version
    row = conn.execute(
        _version_stmt().where(datasets.c.name == ref.name, dataset_versions.c.version == number)
    ).first()
    if row is None:
        raise _not_found(ref, int(latest))
    return row


def version_from_row(row: Row[Any]) -> DatasetVersion:
    m = row._mapping
    parent = DatasetRef(m["name"], m["parent_version"]) if m["parent_version"] else None
    created = from_ms(m["created_ms"])
    assert created is not None
    return DatasetVersion(
        name=m["name"],
        version=m["version"],
        kind=m["kind"],
        created_at=created,
        manifest_digest=Digest(m["manifest_digest"]),
        num_records=m["num_records"],
        num_quarantined=m["num_quarantined"],
        num_new=m["num_new"],
        size_bytes=m["size_bytes"],
        passed=bool(m["passed"]),
        label_counts=json.loads(m["label_counts"]),
        schema=json.loads(m["schema_json"]),
        description=m["description"],
        lineage=Lineage(
            operation=m["operation"],
            parent=parent,
            source=m["source"],
            run_id=RunId(m["run_id"]) if m["run_id"] else None,
            transform=m["transform_name"],
            transform_params=json.loads(m["transform_params"] or "{}"),
            transform_digest=Digest(m["transform_digest"]) if m["transform_digest"] else None,
        ),
    )


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}, got {limit}.", details={"field": "limit"}
        )


def list_datasets(db: MetadataStore, limit: int, page_token: str | None) -> Page[DatasetInfo]:
    _check_limit(limit)
    offset = decode_page_token(page_token)
    stmt = (
        select(
            datasets.c.name,
            datasets.c.kind,
            datasets.c.created_ms,
            func.max(dataset_versions.c.version),
            func.count(dataset_versions.c.pk),
        )
        .join(dataset_versions, dataset_versions.c.dataset_pk == datasets.c.pk)
        .group_by(datasets.c.pk, datasets.c.name, datasets.c.kind, datasets.c.created_ms)
        .order_by(datasets.c.name)
        .limit(limit + 1)
        .offset(offset)
    )
    with db.read() as conn:
        rows = conn.execute(stmt).all()
        total = conn.execute(select(func.count()).select_from(datasets)).scalar_one()
    items = [
        DatasetInfo(name, kind, from_ms(created) or from_ms(0), int(latest), int(count))  # type: ignore[arg-type]
        for name, kind, created, latest, count in rows[:limit]
    ]
    token = encode_page_token(offset + limit) if len(rows) > limit else None
    return Page(items=items, next_page_token=token, total=total)


def list_versions(
    db: MetadataStore, name: str, limit: int, page_token: str | None
) -> Page[DatasetVersion]:
    """Versions of ``name``, newest first."""
    _check_limit(limit)
    offset = decode_page_token(page_token)
    with db.read() as conn:
        load_version(conn, DatasetRef(name))  # raises for an unknown dataset
        rows = conn.execute(
            _version_stmt()
            .where(datasets.c.name == name)
            .order_by(dataset_versions.c.version.desc())
            .limit(limit + 1)
            .offset(offset)
        ).all()
        total = conn.execute(
            select(func.count())
            .select_from(dataset_versions)
            .join(datasets, datasets.c.pk == dataset_versions.c.dataset_pk)
            .where(datasets.c.name == name)
        ).scalar_one()
    token = encode_page_token(offset + limit) if len(rows) > limit else None
    return Page([version_from_row(r) for r in rows[:limit]], token, total)


def _split_from_row(name: str, version: int, m: Mapping[str, Any]) -> DatasetSplit:
    params = SplitParams(**json.loads(m["params"]))
    created = from_ms(m["created_ms"])
    assert created is not None
    return DatasetSplit(
        name=name,
        version=version,
        split_id=m["split_key"][:12],
        params=params,
        counts=json.loads(m["counts"]),
        assignment_digest=Digest(m["assignment_digest"]),
        created_at=created,
    )


def save_split(
    db: MetadataStore,
    ref: DatasetRef,
    key: str,
    params: SplitParams,
    assignment: Digest,
    counts: Mapping[str, Mapping[str, int]],
) -> DatasetSplit:
    """Store a split of a version; an identical one stored before is returned instead."""
    with db.write() as conn:
        row = load_version(conn, ref)
        values = {
            "version_pk": row.pk,
            "split_key": key,
            "params": json.dumps(vars_of(params), sort_keys=True),
            "assignment_digest": assignment,
            "counts": json.dumps(counts, sort_keys=True),
            "created_ms": now_ms(),
        }
        conn.execute(insert_for(conn, dataset_splits).values(**values).on_conflict_do_nothing())
        stored = conn.execute(
            select(dataset_splits).where(
                dataset_splits.c.version_pk == row.pk, dataset_splits.c.split_key == key
            )
        ).first()
    if stored is None:
        raise ConflictError(f"The split of {ref} vanished while it was stored; retry.")
    return _split_from_row(row.name, row.version, dict(stored._mapping))


def list_splits(db: MetadataStore, ref: DatasetRef) -> list[DatasetSplit]:
    """The splits stored with a version, oldest first."""
    with db.read() as conn:
        row = load_version(conn, ref)
        rows = conn.execute(
            select(dataset_splits)
            .where(dataset_splits.c.version_pk == row.pk)
            .order_by(dataset_splits.c.pk)
        ).all()
    return [_split_from_row(row.name, row.version, dict(r._mapping)) for r in rows]


def vars_of(params: SplitParams) -> dict[str, Any]:
    return {
        "test": params.test,
        "val": params.val,
        "stratify": params.stratify,
        "seed": params.seed,
        "near_duplicates": params.near_duplicates,
    }
