"""``server.workers = 2``: ``pomona server`` runs two uvicorn worker processes that each
serve predictions and the dashboard (and OIP over gRPC on one shared port), and both write
their prediction logs on shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

import pomona
from pomona.testing._servers import free_port
from pomona.testing.serving import cancer_frame, register_cancer_model


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], limit_s: float = 90.0) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
        try:
            if httpx.get(url + "/v2/health/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("the server did not start")


async def _predict_from_many_connections(url: str, rounds: int = 40) -> tuple[set[str], int]:
    """Batches of 8 fresh connections at once until two workers answered (bounded)."""
    X, _ = cancer_frame()
    body = {"records": [X.iloc[0].to_dict()]}
    pids: set[str] = set()
    answered = 0
    for _ in range(rounds):
        clients = [httpx.AsyncClient(timeout=30) for _ in range(8)]
        try:
            responses = await asyncio.gather(
                *(c.post(url + "/v1/deployments/cancer-prod/predict", json=body) for c in clients)
            )
        finally:
            await asyncio.gather(*(c.aclose() for c in clients))
        for r in responses:
            assert r.status_code == 200, r.text
            assert r.json()["model"] == "cancer:1"
            pids.add(r.headers["X-Pomona-Worker"])
            answered += 1
        if len(pids) >= 2:
            break
    return pids, answered


def _infer_over_grpc(port: int) -> int:
    import numpy as np
    import tritonclient.grpc as triton

    X, _ = cancer_frame()
    client = triton.InferenceServerClient(f"127.0.0.1:{port}")
    try:
        tensor = triton.InferInput("input", [2, 30], "FP64")
        tensor.set_data_from_numpy(X.iloc[:2].to_numpy(dtype=np.float64))
        assert client.infer("cancer-prod", [tensor]).as_numpy("predictions").shape == (2,)
    finally:
        client.close()
    return 2


def test_two_workers_serve_predictions_and_the_dashboard(tmp_path: Path) -> None:
    home = tmp_path / "ws"
    ws = pomona.connect(home)
    register_cancer_model(ws)
    ws.deployments.create("cancer-prod", model="cancer:1")
    ws.close()
    port, grpc_port = free_port(), free_port()
    env = {
        **os.environ,
        "POMONA_SERVER_WORKERS": "2",
        "POMONA_SERVER_PORT": str(port),
        "POMONA_SERVING_GRPC_PORT": str(grpc_port),  # both workers share it (SO_REUSEPORT)
        "POMONA_SERVING_LOG_FLUSH_INTERVAL_S": "0.2",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pomona.cli.main", "server", "-w", str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, proc)
        pids, answered = asyncio.run(_predict_from_many_connections(url))
        assert len(pids) == 2 and str(proc.pid) not in pids  # two worker processes
        for page in ("/", "/deployments", "/deployments/cancer-prod"):
            r = httpx.get(url + page, timeout=30, follow_redirects=True)
            assert r.status_code == 200, page
            assert page == "/" or "cancer-prod" in r.text, page
            assert r.headers["X-Pomona-Worker"] in pids
        answered += _infer_over_grpc(grpc_port)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
    ws = pomona.connect(home)
    try:  # each worker wrote its pending prediction logs when it stopped
        logged = sum(f.rows for f in ws.deployments.log_files("cancer-prod"))
        assert logged == answered
    finally:
        ws.close()
