"""The registry's dashboard pages over real HTTP: models, a model, a version."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pomona
from pomona.server.app import create_app
from pomona.testing.live import serve_in_thread

CARD = "# Cancer screening\n\n- fast\n- <script>alert('x')</script>\n\n```\ncode\n```\n"


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    ws = pomona.connect(Path(tmp_path_factory.mktemp("models-dashboard")))
    for _ in range(2):
        ws.models.register(
            "cancer", model, input_example=X.iloc[:5], metrics={"accuracy": 0.97},
            run_id="b" * 32, dataset_versions=["cancer-data:3"], pipeline_run_id="c" * 32,
            parent_version=None if _ == 0 else 1,
        )  # fmt: skip
    ws.models.update_version("cancer:2", card=CARD)
    ws.models.set_alias("cancer", "champion", 1, reason="first", actor="alice")
    report = ws.models.put_gate_report(
        "cancer:2", {"passed": False}, target="champion", passed=False
    )
    ws.models.set_alias("cancer", "champion", 2, reason="hotfix <b>now</b>", forced=True,
                        gate_report_digest=report.digest)  # fmt: skip
    with serve_in_thread(create_app(ws)) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client
    ws.close()


def test_the_models_page_lists_models_with_their_aliases(http: httpx.Client) -> None:
    page = http.get("/models")
    assert page.status_code == 200
    assert 'href="/models/cancer"' in page.text and "champion → 2" in page.text
    assert 'href="/models" aria-current="page"' in page.text


def test_a_models_page_shows_versions_and_the_alias_history(http: httpx.Client) -> None:
    page = http.get("/models/cancer").text
    assert 'href="/models/cancer/versions/2"' in page
    assert "alice" in page and "first" in page
    assert html.escape("hotfix <b>now</b>", quote=False) in page and "<b>now</b>" not in page
    assert "forced" in page


def test_a_version_page_renders_card_lineage_and_gate_reports(http: httpx.Client) -> None:
    page = http.get("/models/cancer/versions/2").text
    assert "<h1>Cancer screening</h1>" in page and "<li>fast</li>" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "<pre><code>code" in page
    assert '<svg class="graph"' in page
    assert 'href="/datasets/cancer-data/3"' in page and 'href="/runs/' + "b" * 32 + '"' in page
    assert 'href="/models/cancer/versions/1"' in page  # the parent
    assert 'href="/gate-reports/cancer/sha256' in page
    assert "accuracy" in page and "0.97" in page
    assert "/api/v1/models/cancer/blobs/sha256" in page


def test_unknown_models_and_versions_are_404_pages(http: httpx.Client) -> None:
    missing = http.get("/models/cancer/versions/9")
    assert missing.status_code == 404 and "no version 9 (latest is 2)" in missing.text
    assert http.get("/models/nope").status_code == 404
    assert http.get("/models/cancer/versions/x").status_code == 422
