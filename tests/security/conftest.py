"""Fixtures of the security tests: a real ``pomona server`` process to replay attacks on.

Each attack test starts ``pomona server`` in a subprocess over a workspace of its own,
sends the attack over real HTTP on 127.0.0.1, and then checks that nothing happened: no
file created, no request received by a listener, no row stored.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from _server import (
    SERVER_COMMAND,
    Listener,
    ServerProcess,
    StartServer,
    stop,
    wait_ready,
    write_settings,
)

import pomona
from pomona.testing._servers import free_port


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
                write_settings(home, settings)
            port = free_port()
            log_path = tmp_path / f"server-{port}.log"
            log_file = stack.enter_context(log_path.open("w"))
            proc = subprocess.Popen(
                [*SERVER_COMMAND, "--workspace", str(home), "--port", str(port)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                text=True,
                env={**os.environ, **(env or {})},
            )
            stack.callback(stop, proc)
            server = ServerProcess(f"http://127.0.0.1:{port}", home, proc, log_path)
            wait_ready(server)
            return server

        yield start


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A TCP socket on 127.0.0.1 that records connections and never answers."""
    sock = socket.create_server(("127.0.0.1", 0))
    found = Listener(sock)
    thread = threading.Thread(target=found.serve, daemon=True)
    thread.start()
    yield found
    sock.close()
    for conn in found.held:
        conn.close()
    thread.join(5)
