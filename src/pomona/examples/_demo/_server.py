"""A demo's workspace settings, its server process, and patience."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from pomona.errors import BackendError

__all__ = ["DemoTimeoutError", "demo_server", "demo_settings", "wait_for"]

T = TypeVar("T")


class DemoTimeoutError(BackendError):
    """A step of the demo did not happen in time."""


def demo_settings(name: str, port: int, *, accuracy: float, latency_p99_ms: float) -> str:
    """The ``pomona.toml`` of a demo's workspace: its targets, a server that runs the
    monitors and the scheduler itself, and short polling so a day takes seconds."""
    return f"""# The {name} demo's workspace. Every setting: 'pomona config show'.
[project]
name = "{name}"

[[project.targets]]
name = "accuracy"
direction = "maximize"
priority = 1
threshold = {accuracy}

[project.budgets]
latency_p99_ms = {latency_p99_ms}

[server]
host = "127.0.0.1"
port = {port}

[pipelines]
scheduler_in_server = true
scheduler_poll_s = 1

[monitoring]
runner_in_server = true
poll_s = 1
"""


def wait_for(check: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll ``check`` until it returns something truthy; raise after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise DemoTimeoutError(
                f"Waited {timeout_s:.0f} s for {what}.",
                hint="Look at the server's log and at 'pomona pipelines runs'; "
                "a busy machine may need a longer --timeout.",
            )
        time.sleep(0.5)


@contextmanager
def demo_server(root: Path, port: int, *, log: Path | None = None) -> Iterator[str]:
    """``pomona server`` for the workspace at ``root`` in its own process, until the block
    ends; yields its base URL once ``/healthz`` answers."""
    import httpx

    url = f"http://127.0.0.1:{port}"
    out = open(log, "ab") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "pomona.cli", "server", "--workspace", str(root)]
    proc = subprocess.Popen(
        [*command, "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env
    )
    try:

        def healthy() -> bool:
            if proc.poll() is not None:
                raise DemoTimeoutError(
                    f"The server exited with code {proc.returncode} while starting.",
                    hint=f"Is port {port} free? Try --port.",
                )
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60, "the server to start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None and hasattr(out, "close"):
            out.close()
