"""Aliases (moved only by ``set_alias``, every move kept) and gate reports, embedded."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select, update

from pomona._utils.clock import from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.artifacts.base import check_digest
from pomona.errors import InvalidInputError, NotFoundError
from pomona.metadata import upsert
from pomona.metadata.schema import (
    model_alias_history,
    model_aliases,
    model_gate_reports,
    registered_models,
)
from pomona.registry import _queries
from pomona.registry._checks import (
    check_actor,
    check_alias,
    check_limit,
    check_name,
    check_reason,
    parse_ref,
)
from pomona.registry._stores import Stores
from pomona.registry.base import Ref
from pomona.registry.records import AliasMove, GateReportInfo
from pomona.registry.signature import Signature, check_compatible
from pomona.types import Digest, ModelVersionRef, Page

__all__ = ["AliasOps"]


class AliasOps(Stores):
    """``set_alias``, ``delete_alias``, the alias history and gate reports."""

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        reason: str,
        actor: str | None = None,
        gate_report_digest: str | None = None,
        forced: bool = False,
        check_signature: bool = False,
    ) -> AliasMove:
        name, alias = check_name(name), check_alias(alias)
        reason = check_reason(reason)
        who = check_actor(actor, self._default_actor)
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInputError(
                f"version must be a number, got {version!r}.", details={"field": "version"}
            )
        digest = check_digest(gate_report_digest) if gate_report_digest else None
        with self._db.write() as conn:
            _queries.model_pk(conn, name, lock=True)  # one move at a time per model
            pk, row = _queries.resolve(conn, ModelVersionRef(name, version=version))
            if digest is not None:
                _check_report(conn, pk, name, version, digest)
            current = conn.execute(
                select(model_aliases.c.version).where(
                    model_aliases.c.model_pk == pk, model_aliases.c.alias == alias
                )
            ).scalar()
            if check_signature and current is not None and current != version:
                _, old = _queries.resolve(conn, ModelVersionRef(name, version=current))
                check_compatible(
                    Signature.from_dict(json.loads(row.signature)),
                    Signature.from_dict(json.loads(old.signature)),
                    new_name=f"{name}:{version}",
                    old_name=f"{name}@{alias} ({name}:{current})",
                )
            if current == version:
                last = _queries.last_move(conn, name, pk, alias)
                if last is not None:
                    return last
            now = now_ms()
            upsert(
                conn,
                model_aliases,
                [{"model_pk": pk, "alias": alias, "version": version, "updated_ms": now}],
                keys=["model_pk", "alias"],
                update=["version", "updated_ms"],
            )
            return self._record(
                conn, name, pk, alias, current, version, who, reason, forced, digest, now
            )

    def delete_alias(
        self, name: str, alias: str, *, reason: str, actor: str | None = None
    ) -> AliasMove | None:
        name, alias = check_name(name), check_alias(alias)
        reason = check_reason(reason)
        who = check_actor(actor, self._default_actor)
        with self._db.write() as conn:
            pk = _queries.model_pk(conn, name, lock=True)
            current = conn.execute(
                select(model_aliases.c.version).where(
                    model_aliases.c.model_pk == pk, model_aliases.c.alias == alias
                )
            ).scalar()
            if current is None:
                return None
            conn.execute(
                delete(model_aliases).where(
                    model_aliases.c.model_pk == pk, model_aliases.c.alias == alias
                )
            )
            return self._record(
                conn, name, pk, alias, current, None, who, reason, False, None, now_ms()
            )

    def _record(
        self,
        conn: Connection,
        name: str,
        pk: int,
        alias: str,
        before: int | None,
        after: int | None,
        actor: str,
        reason: str,
        forced: bool,
        digest: Digest | None,
        now: int,
    ) -> AliasMove:
        row = {
            "model_pk": pk,
            "alias": alias,
            "from_version": before,
            "to_version": after,
            "actor": actor,
            "reason": reason,
            "forced": bool(forced),
            "gate_report_digest": digest,
            "moved_ms": now,
        }
        conn.execute(model_alias_history.insert(), [row])
        conn.execute(
            update(registered_models).where(registered_models.c.pk == pk).values(updated_ms=now)
        )
        moved_at = from_ms(now)
        assert moved_at is not None
        return AliasMove(name, alias, before, after, actor, reason, moved_at, bool(forced), digest)

    def list_alias_history(
        self,
        name: str,
        *,
        alias: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[AliasMove]:
        name = check_name(name)
        limit, offset = check_limit(limit), decode_page_token(page_token)
        with self._db.read() as conn:
            pk = _queries.model_pk(conn, name)
            stmt = select(model_alias_history).where(model_alias_history.c.model_pk == pk)
            if alias is not None:
                stmt = stmt.where(model_alias_history.c.alias == check_alias(alias))
            stmt = stmt.order_by(model_alias_history.c.pk.desc()).limit(limit + 1).offset(offset)
            rows = conn.execute(stmt).all()
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return Page([_queries.alias_move(name, r) for r in rows[:limit]], token)

    # --- gate reports -------------------------------------------------------------------

    def put_gate_report(
        self,
        ref: Ref,
        report: Mapping[str, Any],
        *,
        target: str,
        passed: bool,
        actor: str | None = None,
    ) -> GateReportInfo:
        parsed = parse_ref(ref)
        target = check_alias(target)
        who = check_actor(actor, self._default_actor)
        try:
            data = json.dumps(report, sort_keys=True, allow_nan=False, default=str).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"The gate report is not JSON: {exc}.", details={"field": "report"}
            ) from exc
        with self._db.read() as conn:
            _queries.resolve(conn, parsed)  # fail before storing the blob
        digest, _ = self._blobs.put_bytes(data)
        now = now_ms()
        with self._db.write() as conn:
            pk, row = _queries.resolve(conn, parsed)
            conn.execute(
                model_gate_reports.insert(),
                [
                    {
                        "model_pk": pk,
                        "version": row.version,
                        "target": target,
                        "passed": bool(passed),
                        "digest": digest,
                        "actor": who,
                        "created_ms": now,
                    }
                ],
            )
        created = from_ms(now)
        assert created is not None
        return GateReportInfo(
            parsed.name, int(row.version), target, bool(passed), digest, who, created
        )

    def list_gate_reports(self, name: str, *, version: int | None = None) -> list[GateReportInfo]:
        name = check_name(name)
        with self._db.read() as conn:
            pk = _queries.model_pk(conn, name)
            stmt = select(model_gate_reports).where(model_gate_reports.c.model_pk == pk)
            if version is not None:
                stmt = stmt.where(model_gate_reports.c.version == version)
            rows = conn.execute(stmt.order_by(model_gate_reports.c.pk.desc()).limit(1000)).all()
        return [
            GateReportInfo(
                name,
                int(r.version),
                r.target,
                bool(r.passed),
                Digest(r.digest),
                r.actor,
                from_ms(r.created_ms),  # type: ignore[arg-type]
            )
            for r in rows
        ]

    def get_gate_report(self, name: str, digest: str) -> dict[str, Any]:
        name, digest = check_name(name), check_digest(digest)
        with self._db.read() as conn:
            pk = _queries.model_pk(conn, name)
            found = conn.execute(
                select(model_gate_reports.c.pk).where(
                    model_gate_reports.c.model_pk == pk, model_gate_reports.c.digest == digest
                )
            ).first()
        if found is None:
            raise NotFoundError(
                f"Model '{name}' has no gate report {digest}.",
                hint=f"Run 'pomona models show {name}' to list its gate reports.",
                details={"digest": digest},
            )
        report: dict[str, Any] = json.loads(self._blobs.read_bytes(Digest(digest)))
        return report


def _check_report(conn: Connection, pk: int, name: str, version: int, digest: Digest) -> None:
    found = conn.execute(
        select(model_gate_reports.c.version).where(
            model_gate_reports.c.model_pk == pk, model_gate_reports.c.digest == digest
        )
    ).scalar()
    if found != version:
        raise InvalidInputError(
            f"{digest} is not a gate report of {name}:{version}.",
            hint="Store the report with put_gate_report for this version first.",
            details={"field": "gate_report_digest"},
        )
