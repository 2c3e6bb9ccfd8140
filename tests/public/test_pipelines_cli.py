"""``pomona run`` and ``pomona pipelines …`` as a user runs them: real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pomona.client import init_workspace

FLOW = """
from __future__ import annotations

import pomona as pm


@pm.step
def numbers(n: int) -> list[int]:
    return list(range(n))


@pm.step
def report(xs: list[int], fail: bool) -> str:
    if fail:
        raise RuntimeError("the report server is down")
    return f"{len(xs)} numbers"


@pm.pipeline
def flow(n: int = 3, fail: bool = False) -> None:
    report(numbers(n), fail)
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("POMONA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    folder, _ = init_workspace(tmp_path / "project")
    (folder / "flow.py").write_text(FLOW)
    (folder / "params.yaml").write_text("n: 6\n")
    return folder


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_run_caches_reports_failures_and_shows_lineage(root: Path) -> None:
    first = cli(root, "run", "flow.py:flow", "--params-file", "params.yaml", "--param", "n=4")
    assert first.returncode == 0, first.stderr
    assert "of 'flow': succeeded" in first.stdout
    again = cli(root, "run", "flow.py:flow", "--param", "n=4", "--json")
    data = json.loads(again.stdout)
    assert [s["cache_hit"] for s in data["steps"]] == [True, True]
    assert data["params"] == {"n": 4, "fail": False}

    failed = cli(root, "run", "flow.py:flow", "--param", "fail=true")
    assert failed.returncode == 1
    assert "Step 'report' failed: RuntimeError: the report server is down" in failed.stderr
    assert "Traceback (most recent call last)" in failed.stderr
    assert "skipped" not in failed.stdout

    runs = json.loads(cli(root, "pipelines", "runs", "--json").stdout)
    assert [r["state"] for r in runs["items"]] == ["failed", "succeeded", "succeeded"]
    failed_id = runs["items"][0]["run_id"]
    shown = cli(root, "pipelines", "show", failed_id[:8])
    assert shown.returncode == 0
    assert "raise RuntimeError" in shown.stderr
    assert "report" in shown.stdout and "failed" in shown.stdout

    digest = data["steps"][0]["outputs"][0]["digest"]
    down = cli(root, "pipelines", "lineage", digest, "--down")
    assert down.returncode == 0, down.stderr
    assert "/report" in down.stdout and "made from" in down.stdout
    up = json.loads(cli(root, "pipelines", "lineage", digest, "--json").stdout)
    assert [n["attrs"]["params"] for n in up["nodes"] if n["kind"] == "step"] == [{"n": 4}]


def test_bad_parameters_are_refused_before_anything_runs(root: Path) -> None:
    result = cli(root, "run", "flow.py:flow", "--param", "bogus=1")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: Pipeline 'flow' has no parameter 'bogus'.")
    assert "Hint: Its parameters: n, fail." in result.stderr
    typed = cli(root, "run", "flow.py:flow", "--param", "n=many")
    assert typed.returncode == 2
    assert "parameter 'n' expects int, got 'many'" in typed.stderr
    assert json.loads(cli(root, "pipelines", "runs", "--json").stdout)["total"] == 0
