"""Versioned definitions in the metadata database: a new version only when a spec changes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, func, select, update

from pomona.errors import NotFoundError
from pomona.features.base import AppliedObject
from pomona.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    definition_from_spec,
)
from pomona.metadata.schema import feature_object_versions as versions_t
from pomona.metadata.schema import feature_objects as objects_t

__all__ = ["KINDS", "Stored", "kind_of", "load", "load_all", "page", "stamp", "store"]

Kind = Literal["entity", "feature_view", "feature_service"]
KINDS: dict[Kind, str] = {
    "entity": "entity",
    "feature_view": "feature view",
    "feature_service": "feature service",
}
_LIST_HINT: dict[Kind, str] = {
    "entity": "Run 'pomona features list' to see the entities.",
    "feature_view": "Run 'pomona features list' to see the feature views.",
    "feature_service": "Run 'pomona features list' to see the feature services.",
}


@dataclass(frozen=True)
class Stored:
    """A definition at one version, with the object's times (epoch ms)."""

    kind: Kind
    name: str
    version: int
    latest_version: int
    definition: Definition
    created_ms: int
    updated_ms: int


def kind_of(definition: Definition) -> Kind:
    if isinstance(definition, Entity):
        return "entity"
    if isinstance(definition, FeatureView):
        return "feature_view"
    assert isinstance(definition, FeatureService)
    return "feature_service"


def _spec_text(definition: Definition) -> str:
    return json.dumps(definition.to_spec(), sort_keys=True, separators=(",", ":"))


def store(conn: Connection, definitions: Sequence[Definition], now: int) -> list[AppliedObject]:
    """Insert new objects and new versions of changed ones, in the caller's transaction."""
    applied = []
    for definition in definitions:
        kind = kind_of(definition)
        text = _spec_text(definition)
        digest = hashlib.sha256(text.encode()).hexdigest()
        row = conn.execute(
            select(objects_t.c.pk, objects_t.c.latest_version).where(
                objects_t.c.kind == kind, objects_t.c.name == definition.name
            )
        ).first()
        if row is None:
            pk = conn.execute(
                objects_t.insert()
                .values(
                    kind=kind,
                    name=definition.name,
                    latest_version=1,
                    created_ms=now,
                    updated_ms=now,
                )
                .returning(objects_t.c.pk)
            ).scalar_one()
            version, status = 1, "created"
        else:
            pk, latest = row
            current = conn.execute(
                select(versions_t.c.spec_hash).where(
                    versions_t.c.object_pk == pk, versions_t.c.version == latest
                )
            ).scalar_one()
            if current == digest:
                applied.append(AppliedObject(kind, definition.name, latest, "unchanged"))
                continue
            version, status = latest + 1, "updated"
            conn.execute(
                update(objects_t)
                .where(objects_t.c.pk == pk)
                .values(latest_version=version, updated_ms=now)
            )
        conn.execute(
            versions_t.insert().values(
                object_pk=pk, version=version, spec=text, spec_hash=digest, created_ms=now
            )
        )
        applied.append(AppliedObject(kind, definition.name, version, status))  # type: ignore[arg-type]
    return applied


def _select(kind: Kind):  # type: ignore[no-untyped-def]
    return (
        select(
            objects_t.c.name,
            objects_t.c.latest_version,
            objects_t.c.created_ms,
            objects_t.c.updated_ms,
            versions_t.c.version,
            versions_t.c.spec,
        )
        .join(versions_t, versions_t.c.object_pk == objects_t.c.pk)
        .where(objects_t.c.kind == kind)
    )


def _stored(kind: Kind, row: Any) -> Stored:
    name, latest, created, updated, version, spec = tuple(row)
    return Stored(
        kind=kind,
        name=str(name),
        version=int(version),
        latest_version=int(latest),
        definition=definition_from_spec(json.loads(spec)),
        created_ms=int(created),
        updated_ms=int(updated),
    )


def load(conn: Connection, kind: Kind, name: str, version: int | None = None) -> Stored:
    """One definition (the latest version unless ``version``); raises ``NotFoundError``."""
    stmt = _select(kind).where(objects_t.c.name == name)
    if version is None:
        stmt = stmt.where(versions_t.c.version == objects_t.c.latest_version)
    else:
        stmt = stmt.where(versions_t.c.version == version)
    row = conn.execute(stmt).first()
    if row is None:
        what = KINDS[kind]
        if version is not None and load_all(conn, kind).get(name) is not None:
            raise NotFoundError(
                f"The {what} '{name}' has no version {version}.",
                hint=f"Run 'pomona features show {name}' to see its latest version.",
                details={"name": name, "version": version},
            )
        raise NotFoundError(
            f"No {what} is named '{name}'.",
            hint=_LIST_HINT[kind],
            details={"kind": kind, "name": name},
        )
    return _stored(kind, row)


def stamp(conn: Connection) -> tuple[int, int, int]:
    """Changes whenever a definition is stored: (objects, sum of versions, newest update)."""
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(objects_t.c.latest_version), 0),
            func.coalesce(func.max(objects_t.c.updated_ms), 0),
        ).select_from(objects_t)
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def load_all(conn: Connection, kind: Kind) -> dict[str, Stored]:
    """The latest version of every object of ``kind``, by name."""
    stmt = _select(kind).where(versions_t.c.version == objects_t.c.latest_version)
    return {s.name: s for s in (_stored(kind, r) for r in conn.execute(stmt))}


def page(conn: Connection, kind: Kind, offset: int, limit: int) -> tuple[list[Stored], int]:
    """Latest versions sorted by name, and how many objects of ``kind`` there are."""
    stmt = (
        _select(kind)
        .where(versions_t.c.version == objects_t.c.latest_version)
        .order_by(objects_t.c.name)
        .offset(offset)
        .limit(limit)
    )
    total = conn.execute(
        select(func.count()).select_from(objects_t).where(objects_t.c.kind == kind)
    ).scalar_one()
    return [_stored(kind, r) for r in conn.execute(stmt)], int(total)
