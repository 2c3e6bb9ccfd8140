"""Where code runs from: the entry script and its git commit."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path

__all__ = ["source_info"]


@cache
def source_info() -> tuple[str | None, str | None, bool | None]:
    """``(source, commit, dirty)`` of the running program; commit and dirty are ``None``
    outside a git repository. Computed once per process."""
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    source = str(script.resolve()) if script and script.is_file() else None
    folder = script.resolve().parent if source and script else Path.cwd()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=5
        )
        if commit.returncode != 0:
            return source, None, None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return source, None, None
    return source, commit.stdout.strip(), bool(status.stdout.strip())
