"""The pipeline pages and REST API over real HTTP: runs, a run's graph, lineage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import pomona as pm
from pomona.client import Workspace


@pm.step
def raw(n: int) -> list[int]:
    print(f"raw data: {n} rows")
    return list(range(n))


@pm.step
def clean(rows: list[int]) -> list[int]:
    return [r for r in rows if r % 2 == 0]


@pm.step
def model(rows: list[int], explode: bool = False) -> dict[str, float]:
    if explode:
        raise ZeroDivisionError("division by zero in training")
    return {"weight": float(sum(rows))}


@pm.pipeline
def training(n: int = 10, explode: bool = False) -> None:
    model(clean(raw(n)), explode=explode)


@pytest.fixture
def site(tmp_path: Path, live_app: Callable[[Workspace], str]) -> Iterator[tuple[Workspace, str]]:
    with pm.connect(tmp_path / "ws") as ws:
        yield ws, live_app(ws)


def test_runs_list_run_graph_and_lineage_pages(site: tuple[Workspace, str]) -> None:
    ws, url = site
    ok = ws.pipelines.run(training, {"n": 10})
    cached = ws.pipelines.run(training, {"n": 10})
    failed = ws.pipelines.run(training, {"n": 10, "explode": True})
    listing = httpx.get(f"{url}/pipelines")
    assert listing.status_code == 200
    assert 'href="/pipelines"' in listing.text and "Pipelines" in listing.text
    for run in (ok, cached, failed):
        assert f'/pipelines/runs/{run.run_id}"' in listing.text
    only_failed = httpx.get(f"{url}/pipelines", params={"state": "failed"}).text
    assert failed.run_id in only_failed and ok.run_id not in only_failed

    page = httpx.get(f"{url}/pipelines/runs/{cached.run_id}")
    assert page.status_code == 200
    assert '<svg class="graph"' in page.text
    for name in ("raw", "clean", "model"):
        assert f'data-node="{name}"' in page.text
    assert page.text.count('class="node state-cached"') == 3
    assert "raw data: 10 rows" in page.text  # the step's logs

    broken = httpx.get(f"{url}/pipelines/runs/{failed.run_id}").text
    assert 'class="node state-failed"' in broken
    assert "ZeroDivisionError: division by zero in training" in broken
    assert "raise ZeroDivisionError" in broken  # the traceback

    digest = ok.step("model").output().digest
    lineage = httpx.get(f"{url}/pipelines/lineage/{digest}")
    assert lineage.status_code == 200
    assert "training.raw" in lineage.text and "training.clean" in lineage.text
    assert 'class="node lineage-root"' in lineage.text
    first = ok.step("raw").output().digest
    down = httpx.get(f"{url}/pipelines/lineage/{first}", params={"direction": "downstream"})
    assert "training.model" in down.text


def test_unknown_pages_are_404_pages(site: tuple[Workspace, str]) -> None:
    _, url = site
    missing = httpx.get(f"{url}/pipelines/runs/{'0' * 32}")
    assert missing.status_code == 404
    assert "does not exist" in missing.text and "<html" in missing.text
    bad = httpx.get(f"{url}/pipelines/lineage/not-a-digest")
    assert bad.status_code == 422
    assert "is not an artifact digest" in bad.text


def test_the_rest_api_checks_what_it_is_sent(site: tuple[Workspace, str]) -> None:
    ws, url = site
    run = ws.pipelines.run(training, {"n": 4})
    got = httpx.get(f"{url}/api/v1/pipelines/runs/{run.run_id}").json()
    assert [s["name"] for s in got["steps"]] == ["raw", "clean", "model"]
    bad = httpx.put(f"{url}/api/v1/pipelines/runs/{run.run_id}/steps/raw", json={"name": "raw"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_input"
    event = httpx.post(f"{url}/api/v1/pipelines/events", json={"type": "alert.fired"})
    assert event.status_code == 201 and event.json()["type"] == "alert.fired"
    blob = httpx.get(f"{url}/api/v1/pipelines/blobs/{run.step('raw').output().digest}")
    assert blob.content == b"[0,1,2,3]"


def test_the_server_can_run_the_scheduler(
    tmp_path: Path, live_app: Callable[[Workspace], str]
) -> None:
    import time

    settings = {
        "pipelines.scheduler_in_server": True,
        "pipelines.scheduler_poll_s": 0.2,
        "pipelines.trusted_modules": [training.fn.__module__],  # outside the workspace folder
    }
    with pm.connect(tmp_path / "ws", **settings) as ws:
        ws.pipelines.create_schedule("often", training, interval_s=1, params={"n": 3})
        live_app(ws)
        deadline = time.monotonic() + 60
        while not ws.pipelines.list_runs().items:
            assert time.monotonic() < deadline, "the server's scheduler started no run"
            time.sleep(0.2)
        [run, *_] = ws.pipelines.list_runs().items
        assert run.trigger.startswith("schedule:often@")
