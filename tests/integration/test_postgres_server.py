"""PostgresServer starts a real PostgreSQL, hands out databases, and cleans up."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from pomona.testing._servers import PostgresServer


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


def _scalar(url: str, query: str) -> object:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).scalar_one()
    finally:
        engine.dispose()


def test_server_accepts_connections(postgres: PostgresServer) -> None:
    assert postgres.url == f"postgresql+psycopg://postgres@127.0.0.1:{postgres.port}/postgres"
    assert _scalar(postgres.url, "SELECT 1") == 1


def test_create_database_gives_an_isolated_database(postgres: PostgresServer) -> None:
    url = postgres.create_database("pomona_isolated")
    assert url.endswith("/pomona_isolated")
    assert _scalar(url, "SELECT current_database()") == "pomona_isolated"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE runs (id int)"))
    engine.dispose()
    assert _scalar(postgres.url, "SELECT to_regclass('public.runs') IS NULL") is True


def test_stop_ends_the_server_and_removes_its_files() -> None:
    server = PostgresServer().start()
    port, tmpdir = server.port, server._tmpdir
    assert tmpdir is not None
    assert tmpdir.exists()
    server.stop()
    server.stop()  # idempotent
    assert not tmpdir.exists()
    with pytest.raises(sa.exc.OperationalError):
        _scalar(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", "SELECT 1")
