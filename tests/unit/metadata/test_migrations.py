"""Schema migrations: every earlier schema upgrades to the current one, data intact."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

import pomona
from pomona.client import init_workspace, upgrade_database
from pomona.errors import ConfigError, SchemaOutdatedError
from pomona.metadata import open_metadata_store
from pomona.metadata._migrations import all_revisions, head_revision
from pomona.metadata.schema import metadata as schema


def _urls(tmp_path: Path, pg_url: str) -> dict[str, str]:
    return {"sqlite": f"sqlite:///{tmp_path / 'm.db'}", "postgresql": pg_url}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_declared_schema(
    tmp_path: Path, pg_url: str, dialect: str
) -> None:
    with open_metadata_store(_urls(tmp_path, pg_url)[dialect]) as store:
        store.initialize()
        with store.read() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), schema)
    assert diffs == []


@pytest.mark.parametrize("revision", all_revisions()[:-1])
def test_every_earlier_schema_upgrades_with_its_data(tmp_path: Path, revision: str) -> None:
    root, _ = init_workspace(tmp_path)
    db = root / ".pomona" / "pomona.db"
    db.unlink()
    with open_metadata_store(f"sqlite:///{db}") as store:
        store.upgrade(revision)
        with store.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO runs (run_id, name, experiment, status, start_ms) "
                    "VALUES ('" + "e" * 32 + "', 'old', 'default', 'finished', 1)"
                )
            )
    with pytest.raises(SchemaOutdatedError, match="pomona db upgrade"):
        pomona.connect(root)
    result = upgrade_database(root)
    assert (result.before, result.after) == (revision, head_revision())
    assert Path(result.backup).is_file()
    with pomona.connect(root) as ws:
        assert [r.name for r in ws.runs.search_runs()] == ["old"]


def test_a_database_from_a_newer_pomona_is_refused(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path)
    with open_metadata_store(f"sqlite:///{root / '.pomona' / 'pomona.db'}") as store:
        with store.write() as conn:
            conn.execute(text("DELETE FROM alembic_version"))
            conn.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
    with pytest.raises(ConfigError, match="newer Pomona"):
        pomona.connect(root)


def test_upgrade_never_creates_a_missing_database(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path)
    db = root / ".pomona" / "pomona.db"
    db.unlink()
    with pytest.raises(ConfigError, match="nothing to upgrade"):
        upgrade_database(root)
    assert not db.exists()
    with pytest.raises(ConfigError, match="has no database"):
        pomona.connect(root)
    assert not db.exists()


def test_postgres_upgrade_prints_the_dump_command(tmp_path: Path, pg_url: str) -> None:
    init_workspace(tmp_path, **{"metadata.url": pg_url})
    result = upgrade_database(tmp_path, **{"metadata.url": pg_url})
    assert result.backup.startswith("pg_dump ")
    assert result.after == head_revision()
