"""``pomona data`` as a user runs it: real processes in a fresh workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pomona.examples.apples import write_apple_folder


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("POMONA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("POMONA_CONFIG_DIR", str(tmp_path / "user-config"))
    monkeypatch.setenv("COLUMNS", "200")


def data(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "data", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def ok(cwd: Path, *args: str) -> str:
    result = data(cwd, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def user_error(cwd: Path, *args: str, code: int = 2) -> str:
    result = data(cwd, *args)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "init"],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder


def test_images_ingest_list_show_split_and_label(root: Path) -> None:
    photos = write_apple_folder(root / "photos", 30, seed=4, defective_fraction=0.1)
    out = ok(root, "ingest", "photos", "--name", "apples", "--labels", "subfolders")
    assert "apples:1: 27 records, 3 quarantined, 30 new." in out
    assert "decodable" in out
    assert "apples" in ok(root, "list")
    shown = json.loads(ok(root, "show", "apples:1", "--json"))
    assert (shown["num_records"], shown["num_quarantined"]) == (27, 3)
    assert set(shown["report"]["quarantined"]) == {d.path for d in photos.defective}
    split = json.loads(ok(root, "split", "apples", "--test", "0.2", "--val", "0.1", "--json"))
    assert sum(split["sizes"].values()) == 27
    assert "Split " + split["split_id"] in ok(root, "show", "apples")
    clean = [f for f in photos.files if f not in {d.path for d in photos.defective}]
    relabelled = json.loads(ok(root, "label", "apples:1", "--set", f"{clean[0]}=rotten", "--json"))
    assert relabelled["version"] == 2
    assert relabelled["label_counts"]["rotten"] == 1
    counts = json.loads(ok(root, "label", "apples:2", "--json"))
    assert counts["rotten"] == 1
    versions = ok(root, "list", "apples")
    assert "apples:2" in versions and "relabel" in versions


def test_tables_profile_into_a_suite_that_validates_later_data(root: Path) -> None:
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine.to_csv(root / "wine.csv", index=False)
    ok(root, "ingest", "wine.csv", "--name", "wine", "--labels", "target")
    ok(root, "profile", "wine:1", "--suite-out", "suite.yaml")
    suite = (root / "suite.yaml").read_text()
    assert "columns:" in suite and "alcohol" in suite
    bad = wine.copy()
    bad.loc[0, "alcohol"] = -5.0
    bad.to_csv(root / "bad.csv", index=False)
    out = ok(
        root, "ingest", "bad.csv", "--name", "wine", "--labels", "target", "--suite", "suite.yaml"
    )
    assert "wine:2: 177 records, 1 quarantined" in out
    report = json.loads(ok(root, "validate", "wine:2", "--json"))
    assert report["passed"] is True
    assert pd.read_csv(root / "bad.csv").shape == (178, 14)


def test_bad_input_fails_with_one_readable_line(root: Path) -> None:
    assert "does not exist" in user_error(root, "ingest", "nowhere", "--name", "x")
    (root / "labels.csv").write_text("file,label\nghost.png,good\n")
    write_apple_folder(root / "photos", 3, seed=1, layout="flat")
    err = user_error(root, "ingest", "photos", "--name", "x", "--labels", "labels.csv")
    assert "labels.csv, line 2: 'ghost.png' is not a file of the source" in err
    assert "Hint:" in err
    assert "does not exist" in user_error(root, "show", "pears:2", code=3)
    df = pd.DataFrame({"x": range(10), "y": ["a"] * 10})
    df.to_csv(root / "t.csv", index=False)
    (root / "strict.yaml").write_text(
        "columns:\n  y:\n    categories: [b]\nblocking: [categories]\n"
    )
    err = user_error(root, "ingest", "t.csv", "--name", "t", "--suite", "strict.yaml", "--strict")
    assert "failed 1 blocking check(s): categories:y. No version was made." in err
    assert "No datasets yet." in ok(root, "list")


def test_delete_refuses_a_parent_then_gc_frees_storage(root: Path) -> None:
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]}).to_csv(root / "t.csv", index=False)
    ok(root, "ingest", "t.csv", "--name", "t", "--labels", "y")
    ok(root, "label", "t:1", "--set", "0=b")
    err = user_error(root, "delete", "t:1", code=4)
    assert "t:1 is still referred to by version t:2 (made from it)" in err
    assert "--force" in err
    assert "Deleted t:2; 'pomona gc' frees its storage." in ok(root, "delete", "t:2")
    assert json.loads(ok(root, "delete", "t", "--json")) == {"deleted": "t"}
    gc = subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "gc", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(gc.stdout)["blobs_freed"] > 0
    assert "No datasets yet." in ok(root, "list")
