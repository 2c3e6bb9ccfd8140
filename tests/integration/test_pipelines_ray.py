"""The ray executor on a real two-node Ray cluster on 127.0.0.1: each step a Ray task,
the same artifacts as the local executor, failures and timeouts reported; tuning trials run
as Ray tasks too (one module, so that one cluster serves both under pytest-xdist).

The cluster runs without Ray's token authentication (``RAY_AUTH_MODE=disabled``, set for
``ray start`` and for this process), so a token left in ``~/.ray/auth_token`` by another
Ray cannot make ``ray start --address`` fail with InvalidAuthToken."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import pomona
from pomona.client import Workspace
from pomona.pipelines import RunState, load_pipeline
from pomona.testing._servers import free_port

RAY = str(Path(sys.executable).parent / "ray")

FLOW = """
from __future__ import annotations

import time

import numpy as np
import pandas as pd

import pomona as pm


@pm.step
def table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return pd.DataFrame({"x": rng.normal(size=n), "y": rng.integers(0, 3, size=n)})


@pm.step
def where(df: pd.DataFrame, pause: float) -> str:
    import ray

    time.sleep(pause)
    return ray.get_runtime_context().get_node_id()


@pm.step
def means(df: pd.DataFrame) -> np.ndarray:
    return df.groupby("y")["x"].mean().to_numpy()


@pm.step
def summary(m: np.ndarray) -> dict[str, float]:
    return {"first": float(m[0]), "n": float(m.size)}


@pm.pipeline
def spread(n: int = 50, pause: float = 0.0) -> None:
    df = table(n)
    summary(means(df))
    if pause:
        where(df, pause)
        where(df, pause + 0.01)


@pm.step
def boom(n: int) -> int:
    raise ValueError(f"boom {n}")


@pm.step(timeout_s=1.0)
def stuck() -> int:
    time.sleep(60)
    return 1


@pm.pipeline
def failing() -> None:
    boom(3)
    stuck()
"""


_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


def _ray(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_ENV}
    return subprocess.run(
        [RAY, *args], capture_output=True, text=True, timeout=180, check=False, env=env
    )


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """Two Ray nodes on 127.0.0.1 with one CPU each; always stopped afterwards."""
    port = free_port()
    address = f"127.0.0.1:{port}"
    patch = pytest.MonkeyPatch()
    for key, value in _ENV.items():
        patch.setenv(key, value)  # the driver (this process) connects without a token too
    try:
        head = _ray("start", "--head", f"--port={port}", "--num-cpus=1",
                    "--include-dashboard=false", "--node-ip-address=127.0.0.1")  # fmt: skip
        assert head.returncode == 0, head.stderr[-3000:]
        worker = _ray("start", f"--address={address}", "--num-cpus=1",
                      "--node-ip-address=127.0.0.1")  # fmt: skip
        assert worker.returncode == 0, worker.stderr[-3000:]
        yield address
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        _ray("stop", "--force")
        patch.undo()


@pytest.fixture
def ray_ws(tmp_path: Path, ray_address: str) -> Iterator[Workspace]:
    (tmp_path / "flow.py").write_text(FLOW)
    with pomona.connect(tmp_path / "ws", **{"pipelines.ray_address": ray_address}) as ws:
        yield ws


def test_the_same_pipeline_makes_the_same_artifacts_on_ray(
    ray_ws: Workspace, tmp_path: Path
) -> None:
    flow = load_pipeline(f"{tmp_path / 'flow.py'}:spread")
    local = ray_ws.pipelines.run(flow, {"n": 80}, executor="local")
    on_ray = ray_ws.pipelines.run(flow, {"n": 80}, executor="ray", no_cache=True)
    assert on_ray.state is RunState.SUCCEEDED, on_ray.error
    assert on_ray.executor == "ray"
    assert not any(s.cache_hit for s in on_ray.steps)
    assert {s.name: s.output().digest for s in on_ray.steps} == {
        s.name: s.output().digest for s in local.steps
    }
    assert ray_ws.pipelines.load_output(on_ray.run_id, "summary")["n"] == 3.0


def test_independent_steps_run_on_both_nodes(ray_ws: Workspace, tmp_path: Path) -> None:
    import ray

    flow = load_pipeline(f"{tmp_path / 'flow.py'}:spread")
    run = ray_ws.pipelines.run(flow, {"n": 10, "pause": 2.0}, executor="ray")
    assert run.state is RunState.SUCCEEDED, run.error
    nodes = {ray_ws.pipelines.load_output(run.run_id, name) for name in ("where", "where_2")}
    assert len(nodes) == 2
    assert nodes <= {n["NodeID"] for n in ray.nodes() if n["Alive"]}


def test_failures_and_timeouts_on_ray_are_reported(ray_ws: Workspace, tmp_path: Path) -> None:
    run = ray_ws.pipelines.run(f"{tmp_path / 'flow.py'}:failing", executor="ray")
    assert run.state is RunState.FAILED
    boom = run.step("boom")
    assert boom.error == "ValueError: boom 3"
    assert boom.traceback and 'raise ValueError(f"boom {n}")' in boom.traceback
    assert "did not finish within its timeout of 1 s" in (run.step("stuck").error or "")


def test_tuning_trials_run_as_ray_tasks_on_the_cluster(ray_ws: Workspace, ray_address: str) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    from pomona import training
    from pomona.executors import open_executor

    X, y = load_breast_cancer(return_X_y=True)
    spec = training.sklearn(RandomForestClassifier, random_state=0)
    space = {"n_estimators": (40, 80), "max_depth": (2, 10)}  # slow enough for all to work
    executor = open_executor("ray", address=ray_address)
    try:  # a first study warms the Ray workers up (their imports take seconds) ...
        ray_ws.tune(spec, space, (X, y), n_trials=1, workers=3, executor=executor, folds=3,
                    study="warm-up", refit=False)  # fmt: skip
        study = ray_ws.tune(  # ... so that they take their share of this one
            spec, space, (X, y), n_trials=16, workers=3, executor=executor, folds=3,
            study="on-ray", refit=False,
        )  # fmt: skip
    finally:
        executor.close()
    assert 16 <= study.n_trials <= 18  # a helper may start one more before it sees the last
    assert [h["number"] for h in study.history] == list(range(study.n_trials))
    trials = ray_ws.runs.search_runs(f"parent_run_id = '{study.run_id}'", limit=100).items
    assert len(trials) == study.n_trials
    assert all(t.status.value == "finished" for t in trials)
    workers = {t.tags["trial.worker"] for t in trials}
    assert str(os.getpid()) in workers  # this process is worker 0
    assert len(workers) >= 2  # and Ray tasks (other processes) ran trials of the same study
