"""Tracking across processes: concurrent writers, dead processes, a server that restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

import pomona
from pomona.client import init_workspace
from pomona.metadata.schema import metrics, params
from pomona.testing._servers import free_port
from pomona.types import RunStatus


def _python(code: str, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


WRITER = """
import sys, pomona
ws = pomona.connect(sys.argv[1], **{"tracking.flush_interval_s": 0.01})
with ws.start_run(f"worker-{sys.argv[2]}") as run:
    run.log_params({f"p{i}": i for i in range(5)})
    for step in range(2000):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
        if step % 500 == 0:
            run.flush()
ws.close()
"""


def test_eight_processes_log_into_one_sqlite_workspace(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path)
    procs = [_python(WRITER, str(root), str(i)) for i in range(8)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
    with pomona.connect(root) as ws:
        runs = ws.runs.search_runs(limit=100)
        assert sorted(r.name for r in runs) == [f"worker-{i}" for i in range(8)]
        assert all(r.status is RunStatus.FINISHED for r in runs)
        assert ws.metadata_store is not None
        with ws.metadata_store.read() as conn:
            assert conn.execute(select(func.count()).select_from(metrics)).scalar_one() == 16_000
            assert conn.execute(select(func.count()).select_from(params)).scalar_one() == 40


DIES = """
import os, signal, sys, pomona
ws = pomona.connect(sys.argv[1], **{"tracking.heartbeat_interval_s": 0.2,
                                     "tracking.flush_interval_s": 0.05})
run = ws.start_run("doomed")
run.log_metric("loss", 0.5)
run.flush()
print(run.run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_run_whose_process_dies_is_marked_dead(tmp_path: Path) -> None:
    root, _ = init_workspace(tmp_path)
    fast = {"tracking.heartbeat_interval_s": 0.2, "tracking.flush_interval_s": 0.05}
    with pomona.connect(root, **fast) as ws:
        alive = ws.start_run("alive", nested=False)
        proc = _python(DIES, str(root))
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        doomed_id = out.decode().split()[0]
        time.sleep(2.0)
        with pomona.connect(root, **{"tracking.heartbeat_timeout_s": 1.0}) as other:
            assert other.runs.get_run(doomed_id).status is RunStatus.DEAD
            assert other.runs.get_run(alive.run_id).status is RunStatus.RUNNING
        alive.end()


SERVER = """
import sys, pomona
from pomona.server import serve
serve(pomona.connect(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), token=None,
      log_level="warning")
"""


def _start_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    proc = _python(SERVER, str(root), str(port))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError(proc.communicate()[1].decode()[-2000:])


@pytest.fixture
def server_root(tmp_path: Path) -> Path:
    root, _ = init_workspace(tmp_path)
    return root


def test_training_survives_a_server_restart(server_root: Path) -> None:
    port = free_port()
    server = _start_server(server_root, port)
    client = pomona.connect(
        f"http://127.0.0.1:{port}",
        **{"tracking.flush_interval_s": 0.05, "tracking.retry_max_s": 60},
    )
    try:
        run = client.start_run("resilient")
        for step in range(100):
            run.log_metric("loss", float(step), step=step)
        run.flush()
        server.send_signal(signal.SIGKILL)
        server.wait(10)
        for step in range(100, 200):  # the server is down: logging must not fail or block
            run.log_metric("loss", float(step), step=step)
        time.sleep(0.5)
        server = _start_server(server_root, port)
        run.end()
        history = client.runs.get_metric_history(run.run_id, "loss")
        assert [p.step for p in history] == list(range(200))
        assert client.runs.get_run(run.run_id).status is RunStatus.FINISHED
    finally:
        client.close()
        server.send_signal(signal.SIGTERM)
        server.wait(10)
