"""Shared fixtures: real PostgreSQL and S3-compatible servers, live HTTP servers, workspaces."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pomona
from pomona.client import Workspace
from pomona.testing._servers import PostgresServer, S3Server
from pomona.testing.live import serve_in_thread

# Every test gets short background intervals so runs flush quickly.
FAST = {"tracking.flush_interval_s": 0.05, "tracking.retry_max_s": 20.0}


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return postgres.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def s3_settings(s3: S3Server) -> dict[str, Any]:
    """Workspace settings that put artifacts in a fresh bucket on the S3 server."""
    bucket = s3.create_bucket(f"b-{uuid.uuid4().hex[:12]}")
    opts = s3.options
    return {
        "artifacts.url": f"s3://{bucket}/artifacts",
        "artifacts.endpoint_url": opts["endpoint_url"],
        "artifacts.key": opts["key"],
        "artifacts.secret": opts["secret"],
        "artifacts.region": opts.get("region", "us-east-1"),
    }


@pytest.fixture(autouse=True)
def _isolated_user_config(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep the developer's own ~/.config/pomona and POMONA_* variables out of tests."""
    import os

    for key in list(os.environ):
        if key.startswith("POMONA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("POMONA_CONFIG_DIR", str(tmp_path_factory.mktemp("user-config")))


@pytest.fixture
def live_app() -> Iterator[Callable[[Workspace], str]]:
    """Serve a workspace over real HTTP on 127.0.0.1; returns its base URL."""
    from contextlib import ExitStack

    from pomona.server import create_app

    with ExitStack() as stack:

        def start(ws: Workspace, token: str | None = None) -> str:
            return stack.enter_context(serve_in_thread(create_app(ws, token=token)))

        yield start


_BACKENDS = ["sqlite-file", "postgres-s3", "remote-sqlite"]


@pytest.fixture(params=_BACKENDS)
def ws(
    request: pytest.FixtureRequest, tmp_path: Path, live_app: Callable[[Workspace], str]
) -> Iterator[Workspace]:
    """The same tests on each transport and backend pair: embedded SQLite + local files,
    embedded PostgreSQL + S3, and the remote SDK talking to a server over SQLite."""
    kind = request.param
    overrides: dict[str, Any] = dict(FAST)
    if kind == "postgres-s3":
        overrides["metadata.url"] = request.getfixturevalue("pg_url")
        overrides.update(request.getfixturevalue("s3_settings"))
    if kind.startswith("remote"):  # a server reads from its disk only under allowed roots
        overrides["datasets.allowed_roots"] = [str(tmp_path)]
        # and schedules only pipelines of its workspace folder or of modules it trusts
        overrides["pipelines.trusted_modules"] = [request.module.__name__]
    local = pomona.connect(tmp_path / "ws", **overrides)
    if kind.startswith("remote"):
        url = live_app(local)
        remote = pomona.connect(url, **FAST)
        yield remote
        remote.close()
    else:
        yield local
    local.close()
