"""``pomona models`` as a user runs it: real processes on a workspace with real models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pomona


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with two versions of 'cancer' (the second on 10 features)."""
    monkeypatch.setenv("COLUMNS", "200")
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with pomona.connect(tmp_path) as ws:
        for n in (30, 10):
            model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
            model.fit(X.iloc[:, :n], y)
            ws.models.register(
                "cancer", model, input_example=X.iloc[:5, :n], metrics={"accuracy": 0.9 + n / 1000}
            )
    return tmp_path


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", *args],
        cwd=cwd,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_list_show_alias_and_export(root: Path) -> None:
    listed = cli(root, "models", "list")
    assert listed.returncode == 0, listed.stderr
    assert "cancer" in listed.stdout
    versions = json.loads(cli(root, "models", "list", "cancer", "--json").stdout)
    assert [v["version"] for v in versions["items"]] == [2, 1]
    moved = cli(root, "models", "alias", "cancer", "champion", "1", "--reason", "first model")
    assert moved.returncode == 0, moved.stderr
    assert "cancer@champion → version 1" in moved.stdout
    refused = cli(
        root, "models", "alias", "cancer", "champion", "2", "--reason", "x", "--check-signature"
    )
    assert refused.returncode == 4 and "does not match" in refused.stderr
    shown = cli(root, "models", "show", "cancer@champion")
    assert shown.returncode == 0, shown.stderr
    assert "cancer:1" in shown.stdout and "first model" in shown.stdout
    assert "Alias history" in shown.stdout
    card = cli(root, "models", "show", "cancer:1", "--card")
    assert card.stdout.startswith("# cancer — version 1")
    exported = cli(root, "models", "export", "cancer:1", "--bundle", str(root / "edge"), "--json")
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["parity_max_abs_diff"] < 1e-6 and data["bundle"] == str(root / "edge")
    assert (root / "edge" / "predict.py").is_file()


def test_bad_input_exits_with_a_readable_error(root: Path) -> None:
    unknown = cli(root, "models", "alias", "cancer", "champion", "7", "--reason", "typo")
    assert unknown.returncode == 3
    assert unknown.stderr.startswith("Error: Model 'cancer' has no version 7 (latest is 2).")
    assert "Hint: " in unknown.stderr and "Traceback" not in unknown.stderr
    no_reason = cli(root, "models", "alias", "cancer", "champion", "1")
    assert no_reason.returncode == 2 and "reason" in no_reason.stderr
    history = json.loads(cli(root, "models", "show", "cancer", "--json").stdout)
    assert history["alias_history"] == [] and history["aliases"] == []
