"""Two ``pomona scheduler`` processes on one SQLite workspace: exactly one run per tick."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pomona
from pomona.client import init_workspace
from pomona.pipelines import SqlPipelineStore

FLOW = """
from __future__ import annotations

import pomona as pm


@pm.step
def stamp(label: str) -> str:
    return label


@pm.pipeline
def ticking(label: str = "tick") -> None:
    stamp(label)
"""


def _scheduler(root: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.Popen(
        [sys.executable, "-m", "pomona.cli.main", "scheduler", "--poll", "0.2",
         "--workspace", str(root)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_two_scheduler_processes_run_each_tick_once(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path)
    (root / "flow.py").write_text(FLOW)
    with pomona.connect(root) as ws:
        ws.pipelines.create_schedule("every-second", f"{root / 'flow.py'}:ticking", interval_s=1)
    procs = [_scheduler(root), _scheduler(root)]
    for proc in procs:  # starting takes a few seconds (imports, connecting)
        assert proc.stdout is not None
        assert "Ctrl-C stops it" in proc.stdout.readline()
    time.sleep(5)
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 130), err[-2000:]  # 130: stopped by Ctrl-C
    with pomona.connect(root) as ws:
        store = ws.pipelines.store
        assert isinstance(store, SqlPipelineStore)
        ticks = store.list_ticks("every-second")
        runs = list(ws.pipelines.list_runs(limit=1000))
    assert len(ticks) >= 3
    assert all(t["outcome"] == "run" and t["run_id"] for t in ticks)
    per_tick = collections.Counter(r.trigger for r in runs)
    assert len(per_tick) == len(runs) == len(ticks)
    assert max(per_tick.values()) == 1
    assert {t["run_id"] for t in ticks} == {r.run_id for r in runs}
