"""The runnable examples in docs/ run: each page's first ```python block, in a fresh folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
PAGES = [
    "tracking.md",
    "data.md",
    "data-quality.md",
    "pipelines.md",
    "registry.md",
    "serving.md",
    "features.md",
    "training.md",
    "monitoring.md",
    "server.md",
]


def _first_python_block(page: Path) -> str:
    match = re.search(r"```python\n(.*?)```", page.read_text(), re.S)
    assert match, f"{page.name} has no python example"
    return match.group(1)


@pytest.mark.parametrize("page", PAGES)
def test_the_example_runs(page: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(_first_python_block(DOCS / page))
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "pomona.toml").is_file()
