"""Training benchmark: hyperparameter tuning speed and storage overhead (no assertions).

    .venv/bin/python bench/training.py [--trials 50] [--overhead-trials 300]

1. Storage overhead per trial: a trivial objective (3 params, 5 reported values) run with
   Optuna's in-memory storage, with Pomona's study journal in the workspace's metadata
   database (SQLite), and with Optuna's own RDB storage on a SQLite file; the overhead is
   each one's time per trial minus the in-memory time. Also the cost of the nested tracked
   run every Pomona trial adds.
2. A 50-trial study on breast_cancer (random forest, 5-fold CV, median pruning) with 1 and
   with 2 workers, each in a fresh process (so the helper's process server starts cold, as
   in a user's first study), in the order 1, 2, 1, 2 (the machine's speed drifts; each
   ratio pairs neighbouring runs): trials per minute, how much more work 2 workers do, the
   time a trial takes per tree and fold fitted (1 and 2 workers sample different params, so
   trials differ in size), and when each worker started its first trial (the helper process
   imports scikit-learn, Optuna and Pomona first: seconds). A last process runs two
   2-worker studies: the second shows the helper's process server already warm.

Targets on a 2-core machine: storage overhead <= 2 ms per trial on the metadata database;
2 workers >= 1.7x the trials per minute of one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import optuna

import pomona
from pomona import training
from pomona.client import Workspace
from pomona.training._optuna import JournalBackend

SPACE = {"n_estimators": (10, 120), "max_depth": (2, 12), "min_samples_leaf": (1, 20)}


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1, 1)
    trial.suggest_int("n", 1, 100)
    trial.suggest_categorical("c", ["a", "b"])
    for step in range(5):
        trial.report(x * step, step)
    return x * x


def _per_trial_ms(storage: Any, n: int, name: str) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds per trial (CPU time is what a loaded machine's
    other processes do not inflate)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    wall, cpu = time.perf_counter(), time.process_time()
    study.optimize(_objective, n_trials=n)
    return (time.perf_counter() - wall) / n * 1000, (time.process_time() - cpu) / n * 1000


def bench_overhead(ws: Workspace, n: int, folder: Path) -> None:
    from optuna.storages import InMemoryStorage, RDBStorage
    from optuna.storages.journal import JournalStorage

    memory = _per_trial_ms(InMemoryStorage(), n, "memory")
    journal = JournalStorage(JournalBackend(ws.study_journal, "bench-overhead"))
    ours = _per_trial_ms(journal, n, "bench-overhead")
    n_rdb = max(20, n // 10)
    rdb = RDBStorage(f"sqlite:///{folder / 'optuna.db'}")
    theirs = _per_trial_ms(rdb, n_rdb, "rdb")
    rdb.engine.dispose()
    print(f"storage overhead per trial (trivial objective, {n} trials; RDB: {n_rdb})")
    print("                                      wall ms/trial  overhead   CPU ms/trial  overhead")
    for label, (wall, cpu) in (
        ("in-memory (reference)", memory),
        ("Pomona journal, metadata DB", ours),
        ("Optuna RDBStorage, SQLite file", theirs),
    ):
        print(
            f"  {label:32} {wall:10.2f} {wall - memory[0]:9.2f} {cpu:14.2f} {cpu - memory[1]:9.2f}"
        )
    print("  target: Pomona's overhead <= 2 ms per trial")
    with ws.start_run("bench-tracking") as parent:
        start = time.perf_counter()
        for i in range(50):
            with ws.start_run(f"trial-{i}", parent=parent, params={"x": i}) as run:
                for fold in range(5):
                    run.log_metric("cv.accuracy", 0.9, step=fold)
                run.set_tag("trial.state", "complete")
                run.log_metric("value", 0.9)
        tracked = (time.perf_counter() - start) / 50 * 1000
    print(f"  nested tracked run per trial (start, 6 metrics, tag, end): {tracked:.2f} ms wall")


def _steady_rate(ws: Workspace, study_run_id: str) -> float:
    """Trials per minute once every worker ran its first trial (start-up left out)."""
    trials = ws.runs.search_runs(f"parent_run_id = '{study_run_id}'", limit=1000).items
    first: dict[str, float] = {}
    for t in trials:
        w = t.tags["trial.worker"]
        first[w] = min(first.get(w, float("inf")), t.start_at.timestamp())
    begin = max(first.values())
    end = max(t.end_at.timestamp() for t in trials if t.end_at is not None)
    done = [t for t in trials if t.start_at.timestamp() >= begin]
    return len(done) / max(end - begin, 1e-9) * 60


def bench_study(
    ws: Workspace, n_trials: int, workers: int, name: str = ""
) -> tuple[float, float, float]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_breast_cancer(return_X_y=True)
    spec = training.sklearn(RandomForestClassifier, random_state=0)
    start = time.perf_counter()
    result = ws.tune(
        spec,
        SPACE,
        (X, y),
        n_trials=n_trials,
        workers=workers,
        pruner="median",
        folds=5,
        refit=False,
        study=name or f"bench-{workers}w",
    )
    seconds = time.perf_counter() - start
    rate = result.n_trials / seconds * 60
    steady = _steady_rate(ws, result.run_id)
    per_trial, per_unit, units = _trial_times(ws, result.run_id)
    started = _worker_starts(ws, result.run_id, start)
    print(
        f"{workers} worker(s): {result.n_trials} trials ({result.states}) in {seconds:6.1f} s "
        f"= {rate:6.1f} trials/min wall; {steady:6.1f} trials/min once all workers run; "
        f"best accuracy {result.best_value:.4f}"
    )
    print(
        f"  a trial takes {per_trial:.2f} s in its worker ({per_unit:.2f} ms per tree per fold); "
        f"first trial of each worker started after (s): {started}"
    )
    return rate, steady, units / seconds


def _trial_times(ws: Workspace, study_run_id: str) -> tuple[float, float, int]:
    """Mean wall time of a trial's run, and milliseconds per tree per fold fitted: trials
    differ in size (n_estimators, folds done before pruning), so 1 and 2 workers, which
    sample different params, compare fairly only per unit of work; and how many units."""
    trials = ws.runs.search_runs(f"parent_run_id = '{study_run_id}'", limit=1000).items
    spans, units = [], 0
    for t in trials:
        if t.end_at is None:
            continue
        spans.append(t.end_at.timestamp() - t.start_at.timestamp())
        folds = len(ws.runs.get_metric_history(t.run_id, "cv.accuracy"))
        units += int(t.params["n_estimators"]) * folds
    return sum(spans) / max(1, len(spans)), sum(spans) / max(1, units) * 1000, units


def _worker_starts(ws: Workspace, study_run_id: str, start: float) -> list[float]:
    trials = ws.runs.search_runs(f"parent_run_id = '{study_run_id}'", limit=1000).items
    first: dict[str, float] = {}
    for t in trials:
        w = t.tags["trial.worker"]
        first[w] = min(first.get(w, float("inf")), t.start_at.timestamp())
    origin = time.time() - (time.perf_counter() - start)
    return sorted(round(v - origin, 2) for v in first.values())


def _burn(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i * i
    return time.perf_counter() - start


def _burn_together(barrier: Any, n: int, out: Any) -> None:
    barrier.wait()  # both start burning at once, after their (slow) spawn and imports
    out.put(_burn(n))


def control_parallelism() -> float:
    """How much more pure CPU work two processes do than one on this machine right now."""
    import multiprocessing

    n = 10_000_000
    alone = _burn(n)
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_burn_together, args=(barrier, n, out)) for _ in range(2)]
    for proc in procs:
        proc.start()
    both = max(float(out.get(timeout=300)) for _ in procs)
    for proc in procs:
        proc.join()
    return 2 * alone / both


def _study_process(home: Path, n_trials: int, workers: list[int]) -> list[dict[str, float]]:
    """Runs one study per entry of ``workers`` in a fresh Python process; their numbers."""
    args = ["--study", str(home), "--trials", str(n_trials), "--workers"]
    done = subprocess.run(
        [sys.executable, __file__, *args, ",".join(map(str, workers))],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith("{")), flush=True)
    return [json.loads(line) for line in lines if line.startswith("{")]


def study_main(home: Path, n_trials: int, workers: list[int]) -> None:
    """The ``--study`` child: the studies, their lines, then one JSON line each."""
    results = []
    with pomona.connect(home) as ws:
        for i, w in enumerate(workers):
            name = f"bench-{w}w-{os.getpid()}-{i}"
            rate, steady, unit = bench_study(ws, n_trials, w, name)
            results.append({"workers": w, "rate": rate, "steady": steady, "unit": unit})
    for row in results:
        print(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--overhead-trials", type=int, default=300)
    parser.add_argument("--study", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", default="1", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.study is not None:
        study_main(args.study, args.trials, [int(w) for w in args.workers.split(",")])
        return
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start\n")
    with tempfile.TemporaryDirectory(prefix="pomona-bench-") as tmp:
        folder = Path(tmp)
        with pomona.connect(folder / "ws") as ws:
            bench_overhead(ws, args.overhead_trials, folder)
        print(
            f"\n{args.trials}-trial study on breast_cancer (random forest, 5-fold CV, "
            "median pruning), each in a fresh process:"
        )
        runs = [_study_process(folder / "ws", args.trials, [w])[0] for w in (1, 2, 1, 2)]
        ones, twos = runs[0::2], runs[1::2]
        pairs = [(ones[0], twos[0]), (ones[1], twos[0]), (ones[1], twos[1])]
        wall = [b["rate"] / a["rate"] for a, b in pairs]
        steady = [b["steady"] / a["steady"] for a, b in pairs]
        unit = [b["unit"] / a["unit"] for a, b in pairs]
        print(
            "2 workers against the neighbouring 1-worker runs (cold helper): "
            f"{_span(wall)} the trials per minute in wall-clock time (target >= 1.7x), "
            f"{_span(steady)} once both run; trees x folds per second {_span(unit)}"
        )
        print("two 2-worker studies in one process (the second with the helper already warm):")
        warm = _study_process(folder / "ws", args.trials, [2, 2])[1]
        one = sum(r["rate"] for r in ones) / 2
        one_unit = sum(r["unit"] for r in ones) / 2
        print(
            f"warm helper: 2 workers do {warm['rate'] / one:.2f}x the trials of one (mean of "
            f"the 1-worker runs); trees x folds per second: {warm['unit'] / one_unit:.2f}x"
        )
    print(
        f"control: 2 processes of pure Python arithmetic do {control_parallelism():.2f}x the "
        "work of one on this machine now (2.0x on an idle 2-core machine)"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}x (mean {sum(values) / len(values):.2f}x)"


if __name__ == "__main__":
    main()
