"""Fixtures of the integration tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pomona.testing._servers import free_port


@pytest.fixture
def demo_cli() -> Callable[[str, Path], str]:
    """Run ``pomona demo NAME --quick --no-serve`` in ``folder``; its output (it must exit 0)."""

    def run(name: str, folder: Path) -> str:
        command = [sys.executable, "-m", "pomona.cli", "demo", name, "--quick", "--no-serve"]
        done = subprocess.run(
            [*command, "--port", str(free_port()), "--workspace", str(folder)],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "COLUMNS": "200"},
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        return output

    return run
