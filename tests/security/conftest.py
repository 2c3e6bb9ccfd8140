"""Fixtures of the security tests: a real ``pomona server`` process to replay attacks on.

Each attack test starts ``pomona server`` in a subprocess over a workspace of its own,
sends the attack over real HTTP on 127.0.0.1, and then checks that nothing happened: no
file created, no request received by a listener, no row stored.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

import pomona
from pomona.testing._servers import free_port

_SERVER = [sys.executable, "-m", "pomona.cli", "server"]
TOKEN = "t" * 8 + "-security-test-token-0123456789abcdef"
"""A token long enough for the server to accept (32 characters or more)."""


@dataclass
class ServerProcess:
    """A running ``pomona server``: its base URL, workspace folder and output."""

    url: str
    home: Path
    proc: subprocess.Popen[str]
    log_path: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        """An HTTP client on this server (no credential unless given in ``headers``)."""
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


class StartServer(Protocol):
    def __call__(
        self,
        home: Path,
        *,
        env: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> ServerProcess: ...


@pytest.fixture
def workspace_dir(tmp_path: Path) -> Path:
    """An initialised, empty workspace folder (closed again: the server opens it)."""
    home = tmp_path / "ws"
    pomona.connect(home).close()
    return home


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Start ``pomona server`` processes; each is stopped when the test ends.

    ``env`` adds environment variables (``POMONA_TOKEN`` …); ``settings`` are written to the
    workspace's ``pomona.toml`` as dotted keys before the server starts.
    """
    with ExitStack() as stack:

        def start(
            home: Path,
            *,
            env: Mapping[str, str] | None = None,
            settings: Mapping[str, Any] | None = None,
        ) -> ServerProcess:
            if settings:
                _write_settings(home, settings)
            port = free_port()
            log_path = tmp_path / f"server-{port}.log"
            log_file = stack.enter_context(log_path.open("w"))
            proc = subprocess.Popen(
                [*_SERVER, "--workspace", str(home), "--port", str(port)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **(env or {})},
            )
            stack.callback(_stop, proc)
            server = ServerProcess(f"http://127.0.0.1:{port}", home, proc, log_path)
            _wait_ready(server)
            return server

        yield start


def _write_settings(home: Path, settings: Mapping[str, Any]) -> None:
    import tomllib

    import tomli_w

    path = home / "pomona.toml"
    data = tomllib.loads(path.read_text()) if path.is_file() else {}
    for dotted, value in settings.items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    path.write_text(tomli_w.dumps(data))


def _wait_ready(server: ServerProcess, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"pomona server exited:\n{server.log()[-4000:]}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"pomona server did not start:\n{server.log()[-4000:]}")


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
