"""The study journal in the metadata database, and Optuna's journal storage on top of it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from pomona.errors import InvalidInputError
from pomona.metadata import open_metadata_store
from pomona.training._optuna import JournalBackend, open_study
from pomona.training.journal import StudyJournal


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[StudyJournal]:
    with open_metadata_store(f"sqlite:///{tmp_path / 'meta.db'}") as store:
        store.initialize()
        yield StudyJournal(store)


def test_appends_are_dense_and_return_what_others_wrote(journal: StudyJournal) -> None:
    assert journal.append_entries("s", [{"n": 0}, {"n": 1}], read_from=0) == [{"n": 0}, {"n": 1}]
    # a writer that last read at 1 gets entry 1 back, then its own (seq 2)
    assert journal.append_entries("s", [{"n": 2}], read_from=1) == [{"n": 1}, {"n": 2}]
    assert journal.read_entries("s") == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert journal.read_entries("s", 2) == [{"n": 2}]
    assert journal.read_entries("s", 1, limit=1) == [{"n": 1}]
    assert journal.read_entries("other") == []
    journal.delete_study("s")
    journal.delete_study("s")
    assert journal.read_entries("s") == []


@pytest.mark.parametrize(
    ("study", "match"), [("", "not a study name"), ("a/b", "not a study name")]
)
def test_bad_names_and_reads_are_refused(journal: StudyJournal, study: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        journal.read_entries(study)
    with pytest.raises(InvalidInputError, match="0 <= start <= "):
        journal.read_entries("s", -1)
    with pytest.raises(InvalidInputError, match="Nothing to append"):
        journal.append_entries("s", [], read_from=0)


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -2, 2)
    for step in range(3):
        trial.report(x * step, step)
    return x * x


def test_two_workers_share_one_study(journal: StudyJournal) -> None:
    """Two storages on one journal (as two processes would), taking turns."""
    a, backend_a = open_study(
        journal, "shared", metric="mae", sampler="random", pruner="none", steps=3, seed=1
    )
    b, backend_b = open_study(
        journal, "shared", metric="mae", sampler="random", pruner="none", steps=3, seed=2
    )
    for _ in range(5):
        a.optimize(_objective, n_trials=1)
        b.optimize(_objective, n_trials=1)
    backend_a.flush()
    backend_b.flush()
    fresh = optuna.load_study(
        study_name="shared",
        storage=optuna.storages.JournalStorage(JournalBackend(journal, "shared")),
    )
    trials = fresh.get_trials()
    assert sorted(t.number for t in trials) == list(range(10))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert all(t.intermediate_values == {s: t.params["x"] * s for s in range(3)} for t in trials)
    assert fresh.best_value == min(t.params["x"] ** 2 for t in trials)
    b.optimize(_objective, n_trials=1)
    backend_b.flush()
    backend_a.flush()  # a reads the database on its next look
    assert len(a.get_trials()) == 11  # each worker sees the other's trials
