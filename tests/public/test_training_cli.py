"""``pomona models promote`` and ``pomona studies``, as a user runs them in a terminal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pomona
from pomona import training


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run ``pomona …`` in this process (the CLI's own entry point, its error rendering)."""
    monkeypatch.setenv("COLUMNS", "200")

    def run(cwd: Path, *args: str) -> Result:
        from pomona.cli.main import main

        monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A workspace with a tuned study and two registered versions of 'cancer'."""
    root = tmp_path / "project"
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    spec = training.sklearn(make_pipeline(StandardScaler(), LogisticRegression()))
    with pomona.connect(root) as ws:
        study = ws.tune(
            spec,
            {"logisticregression__C": (0.1, 1.0)},
            (X, y),
            n_trials=2,
            folds=2,
            study="cli-study",
            pruner="none",
        )
        assert study.best is not None
        ws.models.register(
            "cancer", study.best.model, input_example=X.head(2), run_id=study.best.run_id
        )
        narrow = X.drop(columns=["worst area"])
        other = ws.train(spec, (narrow, y.to_numpy()))
        ws.models.register("cancer", other.model, input_example=narrow.head(2), run_id=other.run_id)
    return root


def test_promote_from_the_command_line(project: Path, cli: Callable[..., Result]) -> None:
    ok = cli(project, "models", "promote", "cancer", "1", "--to", "champion", "--json")
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["passed"] is True and report["to"] == "champion"
    refused = cli(project, "models", "promote", "cancer", "2")
    assert refused.returncode == 4, refused.stderr
    assert refused.stderr.startswith("Error: Promotion of cancer:2 to 'champion' refused")
    assert "signature" in refused.stderr and "Traceback" not in refused.stderr
    no_reason = cli(project, "models", "promote", "cancer", "2", "--force")
    assert no_reason.returncode == 2 and "--force needs --reason" in no_reason.stderr
    unknown = cli(project, "models", "promote", "cancer", "9")
    assert unknown.returncode == 3 and "no version 9" in unknown.stderr
    forced = cli(project, "models", "promote", "cancer", "2", "--force", "--reason", "new layout")
    assert forced.returncode == 0, forced.stderr
    assert "FORCED" in forced.stdout and "signature" in forced.stdout
    with pomona.connect(project) as ws:
        assert ws.models.get_model("cancer").aliases == {"champion": 2}


def test_studies_list_and_show(project: Path, cli: Callable[..., Result]) -> None:
    listed = cli(project, "studies", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)["items"]
    assert (item["study"], item["n_trials"]) == ("cli-study", 2)
    shown = cli(project, "studies", "show", "cli-study")
    assert shown.returncode == 0, shown.stderr
    assert "logisticregression__C" in shown.stdout and "2 complete" in shown.stdout
    missing = cli(project, "studies", "show", "nope")
    assert missing.returncode == 3 and missing.stderr.startswith("Error: No study is named")
