"""The dashboard in a real Chromium: filter the runs, compare two, open one and see its charts."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.server.app import create_app
from pomona.testing.live import CHROMIUM, CHROMIUM_ARGS, serve_in_thread

if TYPE_CHECKING:
    from playwright.sync_api import Page

from playwright import sync_api


def serve(ws: Workspace) -> AbstractContextManager[str]:
    """Serve the workspace over real HTTP on 127.0.0.1; yields the base URL."""
    return serve_in_thread(create_app(ws))


def _log_runs(ws: Workspace) -> None:
    specs = [
        ("rf-small", "apples", "rf", 50, 0.86),
        ("rf-large", "apples", "rf", 400, 0.93),
        ("logreg", "apples", "logreg", 0, 0.81),
        ("pear-rf", "pears", "rf", 200, 0.95),
    ]
    for name, experiment, model, trees, accuracy in specs:
        with ws.start_run(name, experiment=experiment, tags={"team": "orchard"}) as run:
            run.log_params({"model": model, "n_estimators": trees, "seed": 0})
            for step in range(200):
                run.log_metric("loss", 0.2 + 1 / (1 + step / (trees or 20)), step=step)
                run.log_metric("accuracy", accuracy * (1 - math.exp(-step / 30)), step=step)
            run.log_text(f"model {model} with {trees} trees\n", "model/summary.txt")


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    ws = pomona.connect(tmp_path / "ws")
    _log_runs(ws)
    with serve(ws) as url:
        yield url
    ws.close()


@pytest.fixture
def page(base_url: str) -> Iterator[Page]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=base_url)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_filter_compare_and_run_charts(page: Page, tmp_path: Path) -> None:
    page.goto("/runs")
    assert sorted(page.locator("td.name a").all_inner_texts()) == [
        "logreg",
        "pear-rf",
        "rf-large",
        "rf-small",
    ]

    page.fill("input[name=filter]", "metrics.accuracy > 0.9 and params.model = 'rf'")
    page.press("input[name=filter]", "Enter")
    page.wait_for_url("**/runs?filter=*")
    assert sorted(page.locator("td.name a").all_inner_texts()) == ["pear-rf", "rf-large"]
    page.screenshot(path=tmp_path / "runs.png", full_page=True)

    page.check("input[aria-label='Select pear-rf']")
    page.check("input[aria-label='Select rf-large']")
    page.click("#compare-button")
    page.wait_for_url("**/compare?*")
    assert page.locator("table.compare tr.differs th", has_text="n_estimators").count() == 1
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    page.screenshot(path=tmp_path / "compare.png", full_page=True)

    page.goto("/runs")
    page.click("text=rf-large")
    page.wait_for_url("**/runs/*")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 2  # accuracy and loss
    assert page.locator("a[download]", has_text="model/summary.txt").count() == 1
    page.screenshot(path=tmp_path / "run.png", full_page=True)
    assert (tmp_path / "run.png").stat().st_size > 10_000
