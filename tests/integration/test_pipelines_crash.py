"""kill -9 in the middle of a pipeline: the run is marked dead, no half-written artifact is
ever visible, and the next run reuses the steps that had finished."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pomona
from pomona.client import init_workspace
from pomona.pipelines import RunState, StepState

FLOW = """
from __future__ import annotations

import os
import time

import pomona as pm


@pm.step
def first(n: int) -> list[int]:
    return list(range(n))


@pm.step
def second(xs: list[int]) -> int:
    return sum(xs)


@pm.step
def third(total: int, size_mb: int) -> bytes:
    print("third is running", flush=True)
    time.sleep(0.5)
    return os.urandom(size_mb * 1024 * 1024) + str(total).encode()


@pm.pipeline
def crashing(n: int = 10, size_mb: int = 40) -> None:
    third(second(first(n)), size_mb)
"""

ENV = {
    "POMONA_PIPELINES_HEARTBEAT_INTERVAL_S": "0.2",
    "POMONA_PIPELINES_HEARTBEAT_TIMEOUT_S": "300",
}


def _run_cli(root: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.Popen(
        [sys.executable, "-m", "pomona.cli.main", "run", f"{root / 'flow.py'}:crashing",
         "--workspace", str(root), *args],
        env={**env, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _third_state(root: Path) -> str | None:
    with pomona.connect(root) as ws:
        page = ws.pipelines.list_runs(limit=1)
        if not page.items:
            return None
        return ws.pipelines.get_run(page.items[0].run_id).step("third").state.value


def _every_blob_is_whole(root: Path) -> int:
    """Each blob's bytes hash to its name; returns how many there are."""
    blobs = [p for p in (root / ".pomona" / "artifacts" / "sha256").glob("*/*") if p.is_file()]
    for blob in blobs:
        digest = hashlib.sha256(blob.read_bytes()).hexdigest()
        assert digest == blob.parent.name + blob.name, f"{blob} is half-written"
    return len(blobs)


def test_kill_9_mid_pipeline_then_run_again(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path)
    (root / "flow.py").write_text(FLOW)
    proc = _run_cli(root)
    deadline = time.monotonic() + 120
    while _third_state(root) != "running":
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the third step never started"
        time.sleep(0.05)
    time.sleep(0.6)  # inside the step or while its 40 MB output is being stored
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    _every_blob_is_whole(root)

    time.sleep(1.5)
    with pomona.connect(root, **{"pipelines.heartbeat_timeout_s": 1.0}) as ws:
        [killed] = list(ws.pipelines.list_runs())
        killed = ws.pipelines.get_run(killed.run_id)
        assert killed.state is RunState.DEAD
        assert killed.ended_at is not None
        assert "stopped sending heartbeats" in (killed.error or "")
        states = {s.name: s.state for s in killed.steps}
        assert states == {
            "first": StepState.SUCCEEDED,
            "second": StepState.SUCCEEDED,
            "third": StepState.DEAD,
        }
        assert killed.step("third").outputs == ()

    again = _run_cli(root)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    with pomona.connect(root) as ws:
        latest = ws.pipelines.get_run(ws.pipelines.list_runs(limit=1).items[0].run_id)
        assert latest.state is RunState.SUCCEEDED
        assert {s.name: s.cache_hit for s in latest.steps} == {
            "first": True,
            "second": True,
            "third": False,
        }
        output = ws.pipelines.load_output(latest.run_id, "third")
        assert len(output) == 40 * 1024 * 1024 + 2 and output.endswith(b"45")
    assert _every_blob_is_whole(root) >= 4
