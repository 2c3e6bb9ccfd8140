"""The real ``pomona server`` process the security tests replay attacks on (see conftest)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

SERVER_COMMAND = [sys.executable, "-m", "pomona.cli", "server"]
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


def write_settings(home: Path, settings: Mapping[str, Any]) -> None:
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


def wait_ready(server: ServerProcess, timeout_s: float = 60) -> None:
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


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (``VmHWM``), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@dataclass
class Listener:
    """A TCP socket on 127.0.0.1 that records every connection and never answers."""

    sock: socket.socket
    connections: int = 0
    held: list[socket.socket] = field(default_factory=list)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)  # accepted, never answered
