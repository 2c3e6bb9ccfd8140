"""Reading registry rows into records, and resolving references, inside a transaction."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, func, select

from pomona._utils.clock import from_ms
from pomona.metadata.schema import (
    model_alias_history,
    model_aliases,
    model_version_files,
    model_versions,
    registered_models,
)
from pomona.registry.errors import ModelNotFoundError, ModelVersionNotFoundError
from pomona.registry.records import AliasMove, Lineage, ModelVersion, RegisteredModel
from pomona.registry.signature import Signature
from pomona.types import ArtifactInfo, Digest, ModelVersionRef

__all__ = [
    "alias_move",
    "last_move",
    "latest_version",
    "model_pk",
    "models_from_rows",
    "resolve",
    "versions_from_rows",
]


def _time(ms: int) -> Any:
    return from_ms(ms)


def model_pk(conn: Connection, name: str, *, lock: bool = False) -> int:
    """The model's primary key (row-locked on PostgreSQL when ``lock``)."""
    stmt = select(registered_models.c.pk).where(registered_models.c.name == name)
    if lock:
        stmt = stmt.with_for_update()
    pk = conn.execute(stmt).scalar()
    if pk is None:
        raise ModelNotFoundError(name)
    return int(pk)


def latest_version(conn: Connection, pk: int) -> int | None:
    stmt = select(func.max(model_versions.c.version)).where(model_versions.c.model_pk == pk)
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def resolve(conn: Connection, ref: ModelVersionRef) -> tuple[int, Row[Any]]:
    """The model pk and the ``model_versions`` row a reference names."""
    pk = model_pk(conn, ref.name)
    number = ref.version
    if ref.alias is not None:
        number = conn.execute(
            select(model_aliases.c.version).where(
                model_aliases.c.model_pk == pk, model_aliases.c.alias == ref.alias
            )
        ).scalar()
        if number is None:
            raise ModelVersionNotFoundError(
                f"Model '{ref.name}' has no alias '{ref.alias}'.",
                name=ref.name,
                hint=f"Set it with 'pomona models alias {ref.name} {ref.alias} VERSION "
                "--reason …'.",
                details={"alias": ref.alias},
            )
    elif number is None:
        number = latest_version(conn, pk)
        if number is None:
            raise ModelVersionNotFoundError(
                f"Model '{ref.name}' has no versions yet.", name=ref.name
            )
    row = conn.execute(
        select(model_versions).where(
            model_versions.c.model_pk == pk, model_versions.c.version == number
        )
    ).first()
    if row is None:
        latest = latest_version(conn, pk)
        tail = f"latest is {latest}" if latest is not None else "it has no versions"
        raise ModelVersionNotFoundError(
            f"Model '{ref.name}' has no version {number} ({tail}).",
            name=ref.name,
            details={"version": number},
        )
    return pk, row


def versions_from_rows(conn: Connection, name: str, rows: Sequence[Row[Any]]) -> list[ModelVersion]:
    """Records for ``model_versions`` rows of one model, with files and aliases bulk-loaded."""
    if not rows:
        return []
    pks = [r.pk for r in rows]
    files: dict[int, list[ArtifactInfo]] = {pk: [] for pk in pks}
    for f in conn.execute(
        select(model_version_files)
        .where(model_version_files.c.version_pk.in_(pks))
        .order_by(model_version_files.c.path)
    ):
        files[f.version_pk].append(ArtifactInfo(f.path, Digest(f.digest), int(f.size)))
    aliases: dict[int, list[str]] = {}
    for a in conn.execute(
        select(model_aliases.c.alias, model_aliases.c.version)
        .where(model_aliases.c.model_pk == rows[0].model_pk)
        .order_by(model_aliases.c.alias)
    ):
        aliases.setdefault(int(a.version), []).append(a.alias)
    return [_version(name, r, files[r.pk], aliases.get(r.version, [])) for r in rows]


def _version(
    name: str, row: Row[Any], files: list[ArtifactInfo], aliases: list[str]
) -> ModelVersion:
    metrics = {k: math.nan if v is None else float(v) for k, v in json.loads(row.metrics).items()}
    return ModelVersion(
        name=name,
        version=int(row.version),
        flavor=row.flavor,
        files=tuple(files),
        signature=Signature.from_dict(json.loads(row.signature)),
        created_at=_time(row.created_ms),
        created_by=row.created_by,
        metrics=metrics,
        lineage=Lineage(
            run_id=row.run_id,
            pipeline_run_id=row.pipeline_run_id,
            dataset_versions=tuple(json.loads(row.dataset_versions)),
            parent_version=row.parent_version,
        ),
        tags=json.loads(row.tags),
        description=row.description,
        card=row.card,
        aliases=tuple(aliases),
    )


def models_from_rows(conn: Connection, rows: Sequence[Row[Any]]) -> list[RegisteredModel]:
    """Records for ``registered_models`` rows, with latest versions and aliases bulk-loaded."""
    if not rows:
        return []
    pks = [r.pk for r in rows]
    latest = dict(
        conn.execute(
            select(model_versions.c.model_pk, func.max(model_versions.c.version))
            .where(model_versions.c.model_pk.in_(pks))
            .group_by(model_versions.c.model_pk)
        ).all()
    )
    aliases: dict[int, dict[str, int]] = {pk: {} for pk in pks}
    for a in conn.execute(select(model_aliases).where(model_aliases.c.model_pk.in_(pks))):
        aliases[a.model_pk][a.alias] = int(a.version)
    return [
        RegisteredModel(
            name=r.name,
            created_at=_time(r.created_ms),
            updated_at=_time(r.updated_ms),
            description=r.description,
            tags=json.loads(r.tags),
            latest_version=latest.get(r.pk),
            aliases=dict(sorted(aliases[r.pk].items())),
        )
        for r in rows
    ]


def alias_move(name: str, row: Row[Any]) -> AliasMove:
    """A record for a ``model_alias_history`` row."""
    digest = row.gate_report_digest
    return AliasMove(
        name=name,
        alias=row.alias,
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        reason=row.reason,
        moved_at=_time(row.moved_ms),
        forced=bool(row.forced),
        gate_report_digest=Digest(digest) if digest else None,
    )


def last_move(conn: Connection, name: str, pk: int, alias: str) -> AliasMove | None:
    row = conn.execute(
        select(model_alias_history)
        .where(model_alias_history.c.model_pk == pk, model_alias_history.c.alias == alias)
        .order_by(model_alias_history.c.pk.desc())
        .limit(1)
    ).first()
    return None if row is None else alias_move(name, row)
