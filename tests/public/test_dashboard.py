"""The dashboard over real HTTP: the pages a person opens, and what they see on them."""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

import pomona
from pomona.client.workspace import Workspace
from pomona.metadata.schema import latest_metrics, metrics, params, runs
from pomona.server.app import create_app
from pomona.testing.live import serve_in_thread
from pomona.types import Metric, RunStatus


def serve(ws: Workspace) -> AbstractContextManager[str]:
    """Serve the workspace over real HTTP on 127.0.0.1; yields the base URL."""
    return serve_in_thread(create_app(ws))


@dataclass
class Site:
    http: httpx.Client
    ids: dict[str, str]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ws = pomona.connect(tmp_path_factory.mktemp("dashboard"))
    ids: dict[str, str] = {}
    specs: list[tuple[str, str, dict[str, object], float]] = [
        ("rf-small", "apples", {"model": "rf", "n_estimators": 50}, 0.85),
        ("rf-large", "apples", {"model": "rf", "n_estimators": 400}, 0.93),
        ("logreg", "apples", {"model": "logreg", "C": 1.0}, 0.80),
        ("pear-rf", "pears", {"model": "rf", "n_estimators": 100}, 0.95),
    ]
    for name, experiment, values, accuracy in specs:
        with ws.start_run(name, experiment=experiment) as run:
            run.log_params(values)
            for step in range(10):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_metric("accuracy", accuracy, step=9)
            if name == "rf-large":
                run.log_text("hello apples", "notes/readme.txt")
                with ws.start_run("fold-1", experiment=experiment) as child:
                    child.log_metric("accuracy", 0.91)
            ids[name] = run.run_id
    broken = ws.start_run("broken", experiment="apples")
    broken.end(RunStatus.FAILED)
    ids["broken"] = broken.run_id
    ids["fold-1"] = next(iter(ws.runs.search_runs("name = 'fold-1'"))).run_id
    with serve(ws) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Site(http, ids)
    ws.close()


def names_in_order(page: str) -> list[str]:
    """Run names as the runs table lists them."""
    return re.findall(r'<td class="name"><a href="/runs/[0-9a-f]{32}">([^<]+)</a>', page)


def link(page: str, text: str) -> str:
    """The href of the link whose text is ``text``."""
    found = re.search(r'<a [^>]*href="([^"]+)"[^>]*>' + re.escape(text) + "<", page)
    assert found, f"no link '{text}'"
    return html.unescape(found.group(1))


def test_home_redirects_to_runs(site: Site) -> None:
    response = site.http.get("/")
    assert response.status_code == 307
    assert response.headers["location"] == "/runs"


def test_runs_page_lists_every_run_with_columns(site: Site) -> None:
    response = site.http.get("/runs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert set(names_in_order(page)) == {
        "rf-small",
        "rf-large",
        "fold-1",
        "logreg",
        "pear-rf",
        "broken",
    }
    assert "of 6 runs" in page
    assert ">accuracy</a>" in page
    assert ">n_estimators</a>" in page
    assert 'class="badge badge-failed"' in page
    assert '<option value="pears">pears</option>' in page


def test_filter_keeps_only_matching_runs(site: Site) -> None:
    query = "metrics.accuracy > 0.9 and params.model = 'rf'"
    page = site.http.get("/runs", params={"filter": query}).text
    assert sorted(names_in_order(page)) == ["pear-rf", "rf-large"]
    assert "of 2 runs" in page
    typed = re.search(r'name="filter" value="([^"]*)"', page)
    assert typed, "the filter box keeps what was typed"
    assert html.unescape(typed.group(1)) == query


def test_experiment_select_narrows_the_list(site: Site) -> None:
    page = site.http.get("/runs", params={"experiment": "pears"}).text
    assert names_in_order(page) == ["pear-rf"]


def test_clicking_a_metric_header_sorts_by_it(site: Site) -> None:
    first = site.http.get("/runs", params={"filter": "params.model is not null"}).text
    by_accuracy = site.http.get(link(first, "accuracy")).text
    assert names_in_order(by_accuracy) == ["pear-rf", "rf-large", "rf-small", "logreg"]
    ascending = site.http.get(link(by_accuracy, "accuracy")).text
    assert names_in_order(ascending) == ["logreg", "rf-small", "rf-large", "pear-rf"]


def test_sort_by_name(site: Site) -> None:
    page = site.http.get("/runs", params={"order_by": "name"}).text
    assert names_in_order(page) == sorted(names_in_order(page))


def test_next_and_previous_pages(site: Site) -> None:
    first = site.http.get("/runs", params={"limit": 4, "order_by": "name"}).text
    assert names_in_order(first) == ["broken", "fold-1", "logreg", "pear-rf"]
    assert "1\u20134 of 6" in first
    second = site.http.get(link(first, "Next →")).text
    assert names_in_order(second) == ["rf-large", "rf-small"]
    assert "5\u20136 of 6" in second
    back = site.http.get(link(second, "← Previous")).text
    assert names_in_order(back) == names_in_order(first)


def test_bad_filter_shows_the_error_and_hint(site: Site) -> None:
    response = site.http.get("/runs", params={"filter": "metrics.accuracy >> 0.9"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    page = html.unescape(response.text)
    assert "Bad run filter at character" in page
    assert "Example: metrics.accuracy > 0.9 and params.model = 'rf'" in page
    assert names_in_order(response.text) == []


def test_run_page_shows_attributes_params_metrics_and_charts(site: Site) -> None:
    response = site.http.get(f"/runs/{site.ids['rf-large']}")
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert "<h1>rf-large" in page
    assert "n_estimators" in page
    assert ">400<" in page
    assert ">0.93<" in page  # latest accuracy
    assert 'data-chart="chart-1"' in page  # loss was logged at ten steps
    assert '<script src="/static/plotly.min.js" defer>' in page
    assert "fold-1" in page  # the child run
    assert 'class="badge badge-finished"' in page


def test_child_run_links_to_its_parent(site: Site) -> None:
    page = site.http.get(f"/runs/{site.ids['fold-1']}").text
    assert f'<a href="/runs/{site.ids["rf-large"]}">rf-large</a>' in page


def test_artifact_link_downloads_the_bytes(site: Site) -> None:
    page = site.http.get(f"/runs/{site.ids['rf-large']}").text
    href = link(page, "notes/readme.txt")
    assert href == f"/api/v1/runs/{site.ids['rf-large']}/artifacts/notes/readme.txt"
    download = site.http.get(href)
    assert download.status_code == 200
    assert download.content == b"hello apples"


def test_unknown_run_is_a_404_page(site: Site) -> None:
    response = site.http.get(f"/runs/{'0' * 32}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert f"Run &#39;{'0' * 32}&#39; does not exist." in response.text


def test_compare_shows_both_runs_side_by_side(site: Site) -> None:
    response = site.http.get(
        "/compare", params=[("run_id", site.ids["rf-small"]), ("run_id", site.ids["rf-large"])]
    )
    assert response.status_code == 200
    page = response.text
    assert ">rf-small</a>" in page
    assert ">rf-large</a>" in page
    differing = re.search(
        r'<tr class="differs">\s*<th scope="row">n_estimators</th>(.*?)</tr>', page, re.S
    )
    assert differing, "n_estimators differs and is highlighted"
    assert ">50<" in differing.group(1)
    assert ">400<" in differing.group(1)
    assert re.search(r'<tr>\s*<th scope="row">model</th>', page)  # both rf: not highlighted
    assert 'data-chart="overlay-1"' in page  # loss is shared


def test_compare_with_an_unknown_run_is_a_404_page(site: Site) -> None:
    response = site.http.get("/compare", params={"run_id": "nope"})
    assert response.status_code == 404
    assert "does not exist" in response.text


def test_plotly_is_served_from_the_installed_package(site: Site) -> None:
    response = site.http.get("/static/plotly.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "plotly.js" in response.text[:400]
    css = site.http.get("/static/dashboard.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def _bulk_runs(ws: Workspace, count: int) -> None:
    """Insert ``count`` finished runs with two params and two metrics each, in bulk."""
    assert ws.metadata_store is not None
    start = int(time.time() * 1000) - count * 1000
    with ws.metadata_store.write() as conn:
        conn.execute(
            runs.insert(),
            [
                {
                    "pk": i + 1,
                    "run_id": uuid.uuid4().hex,
                    "name": f"bulk-{i:05d}",
                    "experiment": f"exp-{i % 5}",
                    "status": "finished",
                    "start_ms": start + i * 1000,
                    "end_ms": start + i * 1000 + 500,
                    "heartbeat_ms": start + i * 1000 + 500,
                }
                for i in range(count)
            ],
        )
        conn.execute(
            params.insert(),
            [
                {"run_pk": i + 1, "key": key, "value": value}
                for i in range(count)
                for key, value in (("model", ("rf", "logreg")[i % 2]), ("seed", str(i)))
            ],
        )
        conn.execute(
            latest_metrics.insert(),
            [
                {"run_pk": i + 1, "key": key, "step": 0, "ts_ms": start, "value": value}
                for i in range(count)
                for key, value in (("accuracy", (i % 1000) / 1000), ("loss", 1 / (i + 1)))
            ],
        )


def _count_queries(ws: Workspace) -> list[str]:
    assert ws.metadata_store is not None
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(ws.metadata_store.engine, "before_cursor_execute", record)
    return statements


def test_ten_thousand_runs_page_quickly_without_a_query_per_run(tmp_path: Path) -> None:
    ws = pomona.connect(tmp_path)
    started = time.perf_counter()
    _bulk_runs(ws, 10_000)
    print(f"\ninserted 10,000 runs in {time.perf_counter() - started:.2f} s")
    statements = _count_queries(ws)
    with serve(ws) as url, httpx.Client(base_url=url, timeout=60) as http:
        for label, query in [
            ("runs page", {}),
            ("filtered", {"filter": "metrics.accuracy > 0.9 and params.model = 'rf'"}),
            ("sorted", {"order_by": "metrics.accuracy desc"}),
        ]:
            statements.clear()
            started = time.perf_counter()
            response = http.get("/runs", params=query)
            elapsed = time.perf_counter() - started
            print(f"{label}: {elapsed * 1000:.0f} ms, {len(statements)} SQL statements")
            assert response.status_code == 200
            assert len(names_in_order(response.text)) == 50
            assert len(statements) < 10  # one per table for the page, never one per run
        page = http.get("/runs", params={"filter": "params.model = 'rf'"}).text
        assert "of 5,000 runs" in page
        second = http.get(link(page, "Next →")).text
        assert "51\u2013100 of 5,000" in second
    ws.close()


def test_a_million_point_metric_is_charted_from_buckets(tmp_path: Path) -> None:
    ws = pomona.connect(tmp_path)
    assert ws.metadata_store is not None
    with ws.start_run("long") as run:
        run_id = run.run_id
    ws.runs.log_batch(run_id, metrics=[Metric("loss", 0.0, step=999_999)])
    started = time.perf_counter()
    with ws.metadata_store.write() as conn:
        pk = conn.execute(sa.select(runs.c.pk).where(runs.c.run_id == run_id)).scalar_one()
        steps = sa.select(sa.literal(0).label("x")).cte("steps", recursive=True)
        steps = steps.union_all(sa.select(steps.c.x + 1).where(steps.c.x < 999_998))
        values = sa.select(
            sa.literal(pk),
            sa.literal("loss"),
            steps.c.x,
            steps.c.x,
            sa.literal(1.0) / (steps.c.x + 1),
        )
        conn.execute(
            metrics.insert().from_select(["run_pk", "key", "step", "ts_ms", "value"], values)
        )
    print(f"\ninserted 1,000,000 points in {time.perf_counter() - started:.2f} s")
    with serve(ws) as url, httpx.Client(base_url=url, timeout=60) as http:
        started = time.perf_counter()
        response = http.get(f"/runs/{run_id}")
        print(f"run page: {(time.perf_counter() - started) * 1000:.0f} ms")
    assert response.status_code == 200
    # past 250,000 points the store samples one point per bucket (no min-max band)
    assert "band: min\u2013max" not in response.text
    figure = re.search(
        r'<script type="application/json" id="chart-1">(.*?)</script>', response.text
    )
    assert figure is not None
    assert len(figure.group(1)) < 200_000  # about a thousand points, not a million
    ws.close()
