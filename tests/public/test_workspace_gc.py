"""``pomona gc`` frees what a killed ingest left behind, and nothing any record needs.

An ingest stores its files' blobs batch by batch and its version row last; ``kill -9``
between the two leaves blobs no record refers to. ``gc`` frees them once they are older
than the grace period (``artifacts.gc_grace_hours``, ``--grace``), keeps younger ones (an
ingest in flight), and never touches a blob a run, model, dataset or pipeline refers to.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pomona
import pomona as pm
from pomona.client.workspace import Workspace
from pomona.datasets.transforms import Scale
from pomona.examples.apples import write_apple_folder
from pomona.metadata.schema import dataset_versions
from pomona.testing.serving import cancer_frame, register_cancer_model

DAY = 86_400


@pm.step
def _numbers(n: int) -> np.ndarray:
    return np.arange(n, dtype=float)


@pm.step
def _total(values: np.ndarray) -> float:
    return float(values.sum())


@pm.pipeline
def gc_pipeline(n: int = 5) -> None:
    _total(_numbers(n))


def _blob_files(home: Path) -> set[Path]:
    return {p for p in (home / ".pomona" / "artifacts" / "sha256").rglob("*") if p.is_file()}


def _fill(ws: Workspace, scratch: Path) -> dict[str, object]:
    """A run with an artifact, a model, an image and a table dataset (prepared, split) and a
    pipeline run: something behind every kind of blob reference."""
    (scratch / "notes.txt").write_text("kept notes\n")
    with ws.start_run("kept", experiment="gc") as run:
        run.log_artifact(scratch / "notes.txt")
    register_cancer_model(ws)
    write_apple_folder(scratch / "photos", 12, seed=3)
    photos = ws.datasets.ingest("photos", scratch / "photos", labels="subfolders")
    X, y = cancer_frame()
    X.iloc[:60, :4].assign(target=y[:60].astype(str)).to_csv(scratch / "t.csv", index=False)
    table = ws.datasets.ingest("table", scratch / "t.csv", labels="target")
    prepared = ws.datasets.prepare(table, Scale(method="minmax"))
    ws.datasets.split(prepared, test=0.25, seed=0)
    piped = ws.pipelines.run(gc_pipeline, {"n": 4})
    assert piped.state.value == "succeeded", piped.error
    return {"run": run.run_id, "photos": photos, "prepared": prepared, "pipeline": piped.run_id}


def _reads_back(ws: Workspace, known: dict[str, object], scratch: Path) -> None:
    """Every record's blobs are still there and verify."""
    dest = ws.runs.download_artifact(str(known["run"]), "notes.txt", scratch / "notes.out")
    assert dest.read_text() == "kept notes\n"
    model = ws.models.load("cancer:1")
    X, _ = cancer_frame()
    assert len(model.predict(X.iloc[:3])) == 3
    records = list(ws.datasets.list_records("photos:1", limit=100))
    assert len(records) == 12
    for record in records:
        assert ws.datasets.read_record("photos:1", record.record_id)
    assert len(ws.datasets.load_table("table:2")) == 60
    split = ws.datasets.list_splits("table:2")[0]
    assert len(ws.datasets.split_assignment(split)) == 60
    ws.datasets.load_transform("table:2")
    ws.datasets.get_profile("photos:1")
    assert ws.pipelines.get_run(str(known["pipeline"])).state.value == "succeeded"
    assert ws.artifact_store is not None
    for digest in ws.artifact_store.iter_digests():
        ws.artifact_store.read_bytes(digest)  # every blob left verifies


def _kill_an_ingest(home: Path, folder: Path) -> None:
    """Start an ingest of ``folder`` in another process and ``kill -9`` it mid-way."""
    before = len(_blob_files(home))
    script = (
        "import pomona\n"
        f"ws = pomona.connect({str(home)!r}, **{{'datasets.batch_size': 8}})\n"
        f"ws.datasets.ingest('killed', {str(folder)!r}, labels='subfolders')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 120
        while len(_blob_files(home)) < before + 100:
            assert proc.poll() is None, "the ingest ended before it could be killed"
            assert time.monotonic() < deadline, "the ingest stored no blobs"
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _gc(home: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "gc", "--json", *args],
        cwd=home,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _age(paths: set[Path], seconds: float) -> None:
    then = time.time() - seconds
    for path in paths:
        os.utime(path, (then, then))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "ws"


def test_gc_frees_a_killed_ingests_blobs_after_the_grace_period(home: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pomona.connect(home) as ws:
        known = _fill(ws, scratch)
    kept = _blob_files(home)
    write_apple_folder(tmp_path / "many", 1000, seed=5)

    _kill_an_ingest(home, tmp_path / "many")

    with pomona.connect(home) as ws:
        assert ws.metadata_store is not None
        with ws.metadata_store.read() as conn:  # the version row never came
            assert len(conn.execute(dataset_versions.select()).all()) == 3
    orphans = _blob_files(home) - kept
    assert len(orphans) >= 100
    # within the grace period (24 h by default) an ingest may still be running: kept
    assert _gc(home)["unreferenced_freed"] == 0
    assert _blob_files(home) == kept | orphans

    _age(kept | orphans, 2 * DAY)
    with pomona.connect(home) as ws:  # an ingest in flight: its first blob, just stored
        assert ws.artifact_store is not None
        young, _ = ws.artifact_store.put_bytes(b"a batch of a running ingest")
    partial = home / ".pomona" / "artifacts" / "tmp" / "put-killed"
    partial.write_bytes(b"half a blob")
    _age({partial}, 2 * DAY)

    result = _gc(home)

    assert result["unreferenced_freed"] == len(orphans) == result["blobs_freed"]
    left = _blob_files(home)
    assert left & orphans == set()
    assert kept <= left
    assert [p for p in left - kept] == [
        home / ".pomona" / "artifacts" / "sha256" / young[7:9] / young[9:]
    ]
    assert not partial.exists()
    with pomona.connect(home) as ws:
        _reads_back(ws, known, scratch)


def test_gc_grace_option_and_setting(home: Path, tmp_path: Path) -> None:
    with pomona.connect(home) as ws:
        assert ws.artifact_store is not None
        orphan, _ = ws.artifact_store.put_bytes(b"left by a killed upload")
        with ws.start_run("kept") as run:
            (tmp_path / "a.txt").write_text("a")
            run.log_artifact(tmp_path / "a.txt")
    _age(_blob_files(home), 3600)

    assert _gc(home, "--grace", "2h")["unreferenced_freed"] == 0
    (home / "pomona.toml").write_text(
        (home / "pomona.toml").read_text() + "\n[artifacts]\ngc_grace_hours = 0.5\n"
    )
    assert _gc(home) == {
        "runs_purged": 0,
        "blobs_freed": 1,
        "unreferenced_freed": 1,
        "grace_s": 1800.0,
    }
    with pomona.connect(home) as ws:
        assert ws.artifact_store is not None and not ws.artifact_store.exists(orphan)
        assert ws.runs.download_artifact(run.run_id, "a.txt", tmp_path / "b.txt").read_text()
    bad = subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "gc", "--grace", "soon"],
        cwd=home,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "--grace" in bad.stderr


def test_a_blob_stored_again_is_young_again(home: Path) -> None:
    """An ingest that finds its content already stored (an old orphan) makes it young, so
    gc cannot free it between that write and the record that will refer to it."""
    with pomona.connect(home) as ws:
        assert ws.artifact_store is not None
        orphan, _ = ws.artifact_store.put_bytes(b"an old orphan, about to be reused")
    _age(_blob_files(home), 2 * DAY)
    with pomona.connect(home) as ws:
        assert ws.artifact_store is not None
        ws.artifact_store.put_bytes(b"an old orphan, about to be reused")
    assert _gc(home)["unreferenced_freed"] == 0
    with pomona.connect(home) as ws:
        assert ws.artifact_store is not None and ws.artifact_store.exists(orphan)
