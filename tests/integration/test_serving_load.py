"""Under load over real HTTP: no errors, no lost prediction logs, and traffic-policy changes
(new model, canary, promotion) while requests fly, without one failed request."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.server.app import create_app
from pomona.serving import Canary
from pomona.testing.live import serve_in_thread
from pomona.testing.serving import cancer_frame, hammer, register_cancer_model

CONNECTIONS = 64
SECONDS = 6.0


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    ws = pomona.connect(
        tmp_path / "ws",
        **{"serving.poll_s": 0.1, "serving.log_flush_interval_s": 0.3, "serving.analysis": False},
    )
    register_cancer_model(ws, c=1.0)
    register_cancer_model(ws, c=0.5)
    ws.models.set_alias("cancer", "champion", 1, reason="first")
    ws.deployments.create("cancer-prod", model="cancer@champion")
    with serve_in_thread(create_app(ws)) as url:
        yield ws, url
    ws.close()


def _body(rows: int = 1) -> bytes:
    X, _ = cancer_frame()
    return orjson.dumps({"records": X.iloc[:rows].to_dict("records")})


def _logged_rows(ws: Workspace, start_ms: int, want: int) -> int:
    deadline = time.monotonic() + 20
    rows = 0
    while time.monotonic() < deadline:
        rows = sum(f.rows for f in ws.deployments.log_files("cancer-prod", start_ms=start_ms))
        if rows >= want:
            break
        time.sleep(0.2)
    return rows


def test_64_connections_no_errors_no_lost_logs(served: tuple[Workspace, str]) -> None:
    ws, url = served
    start = int(time.time() * 1000)
    result = asyncio.run(
        hammer(
            url + "/v1/deployments/cancer-prod/predict",
            _body(),
            connections=CONNECTIONS,
            duration_s=SECONDS,
        )
    )
    assert result.errors == [] and set(result.statuses) == {200}, result.statuses
    assert result.ok > CONNECTIONS
    assert _logged_rows(ws, start, result.ok) == result.ok  # every answer logged, once
    status = ws.deployments.get("cancer-prod")
    assert status.served == {"model": "cancer:1"}


def test_policy_changes_under_load_fail_no_request(served: tuple[Workspace, str]) -> None:
    ws, url = served
    models: set[str] = set()

    def change_policies() -> None:
        time.sleep(0.8)
        ws.deployments.update("cancer-prod", model="cancer:2")  # a new model, no restart
        time.sleep(0.8)
        ws.deployments.update("cancer-prod", model="cancer@champion")
        ws.deployments.rollout("cancer-prod", model="cancer:2", strategy=Canary(steps=(50,)))
        time.sleep(0.8)
        ws.deployments.promote("cancer-prod")  # moves the champion alias to version 2
        time.sleep(0.8)
        ws.deployments.update("cancer-prod", options={"max_batch_size": 8, "logging": "sync"})

    changer = threading.Thread(target=change_policies)
    changer.start()

    async def run() -> object:
        import httpx

        url_ = url + "/v1/deployments/cancer-prod/predict"
        load = asyncio.create_task(
            hammer(url_, _body(), connections=CONNECTIONS, duration_s=SECONDS)
        )
        async with httpx.AsyncClient() as client:  # watch which model answers
            while not load.done():
                r = await client.post(
                    url_, content=_body(), headers={"Content-Type": "application/json"}
                )
                models.add(r.json()["model"])
                await asyncio.sleep(0.05)
        return await load

    result = asyncio.run(run())
    changer.join()
    assert result.errors == [] and set(result.statuses) == {200}, result.statuses  # type: ignore[attr-defined]
    assert models == {"cancer:1", "cancer:2"}
    assert ws.deployments.get("cancer-prod").served == {"model": "cancer:2"}
    actions = [d.action for d in ws.deployments.decisions("cancer-prod")]
    assert actions == ["set_options", "promote", "start", "set_model", "set_model"]
