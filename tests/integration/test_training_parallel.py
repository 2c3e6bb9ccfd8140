"""Hyperparameter trials in parallel processes on one study in the metadata database:
two workers on the SQLite default (no "database is locked"), and the journal under two
concurrent writer processes on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

import pomona
from pomona import training
from pomona.metadata import open_metadata_store
from pomona.training.journal import StudyJournal

_WRITER = """
import sys
from pomona.metadata import open_metadata_store
from pomona.training.journal import StudyJournal

url, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open_metadata_store(url) as store:
    journal, cursor = StudyJournal(store), 0
    for i in range(n):
        cursor += len(journal.append_entries("race", [{"w": me, "i": i}], read_from=cursor))
"""


def test_two_worker_processes_share_one_study_on_sqlite(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    spec = training.sklearn(RandomForestClassifier, random_state=0)
    space = {"n_estimators": (40, 80), "max_depth": (2, 10)}  # slow enough for both to work
    with pomona.connect(tmp_path / "ws", **{"tracking.flush_interval_s": 0.05}) as ws:
        study = ws.tune(
            spec, space, (X, y), n_trials=20, workers=2, folds=3, study="par", refit=False
        )
        assert 20 <= study.n_trials <= 21  # a worker may start one more before it sees the last
        assert set(study.states) <= {"complete", "pruned"}
        assert [h["number"] for h in study.history] == list(range(study.n_trials))
        trials = ws.runs.search_runs("tags.`pomona.kind` = 'trial'", limit=100).items
        assert len(trials) == study.n_trials
        assert {t.parent_run_id for t in trials} == {study.run_id}
        assert len({t.tags["trial.worker"] for t in trials}) == 2  # both processes worked
        assert all(t.status.value == "finished" for t in trials)


def _race(url: str, n: int) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, url, me, str(n)], stderr=subprocess.PIPE)
        for me in ("a", "b")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()[-2000:]
    with open_metadata_store(url) as store:
        entries = StudyJournal(store).read_entries("race")
    assert len(entries) == 2 * n
    for me in ("a", "b"):
        assert [e["i"] for e in entries if e["w"] == me] == list(range(n))


def test_concurrent_journal_writers_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    with open_metadata_store(url) as store:
        store.initialize()
    _race(url, 150)


@pytest.mark.usefixtures("postgres")
def test_concurrent_journal_writers_on_postgres(pg_url: str) -> None:
    with open_metadata_store(pg_url) as store:
        store.initialize()
    _race(pg_url, 150)
