"""Alembic, driven programmatically over an open connection."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Connection, inspect

_SCRIPTS = Path(__file__).parent / "migrations"


@cache
def _script():  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(_SCRIPTS))


def head_revision() -> str:
    """The newest schema revisions this Pomona knows: one per domain branch, joined by '+'."""
    return _join(_script().get_heads())


def _join(revisions: object) -> str:
    return "+".join(sorted(str(r) for r in revisions))  # type: ignore[attr-defined]


def all_revisions() -> list[str]:
    """Every known revision, oldest first."""
    return [rev.revision for rev in reversed(list(_script().walk_revisions()))]


def is_known(current: str) -> bool:
    """Whether every revision in ``current`` (``a+b``) is one this Pomona knows."""
    known = set(all_revisions())
    return all(part in known for part in current.split("+"))


def current_revision(conn: Connection) -> str | None:
    """The revision stored in the database (``None`` when it has no version table)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    from alembic.runtime.migration import MigrationContext

    heads = MigrationContext.configure(conn).get_current_heads()
    return _join(heads) if heads else None


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` inside the caller's transaction."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "heads" if revision == "head" else revision)
