"""The datasets pages over real HTTP: lists, a version's charts, report, quarantine, labelling."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.examples.apples import AppleFolderSummary, write_apple_folder
from pomona.server.app import create_app
from pomona.testing.live import serve_in_thread


@dataclass
class Site:
    http: httpx.Client
    ws: Workspace
    photos: AppleFolderSummary


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("datasets-dashboard")
    photos = write_apple_folder(root / "photos", 24, seed=12, defective_fraction=0.15)
    ws = pomona.connect(root / "ws")
    ws.datasets.ingest("apples", root / "photos", labels="subfolders")
    (root / "t.csv").write_text("x,y\n1,a\n2,b\n3,a\n")
    ws.datasets.ingest("tiny", root / "t.csv", labels="y")
    with serve_in_thread(create_app(ws)) as url, httpx.Client(base_url=url) as http:
        yield Site(http, ws, photos)
    ws.close()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_datasets_page_lists_every_dataset_in_the_navigation(site: Site) -> None:
    page = site.http.get("/datasets")
    assert page.status_code == 200
    assert 'href="/datasets" aria-current="page"' in page.text
    assert 'href="/datasets/apples/1"' in page.text
    assert "tiny" in _text(page.text)
    versions = site.http.get("/datasets/apples")
    assert "apples:1" in _text(versions.text) and "ingest" in _text(versions.text)


def test_a_version_page_shows_charts_the_report_and_quarantined_thumbnails(site: Site) -> None:
    page = site.http.get("/datasets/apples/1")
    assert page.status_code == 200
    text = _text(page.text)
    for check in ("decodable", "format", "resolution"):
        assert check in text
    figures = re.findall(
        r'<script type="application/json" id="profile-\d+">(.*?)</script>', page.text, re.S
    )
    keys = [json.loads(html.unescape(f))["data"][0]["type"] for f in figures]
    assert len(keys) >= 4 and set(keys) == {"bar"}
    thumbnails = re.findall(r'<img src="([^"]+)" alt="([^"]+)"', page.text)
    assert {alt for _, alt in thumbnails} == {d.path for d in site.photos.defective}
    for src, alt in thumbnails:
        image = site.http.get(html.unescape(src))
        assert image.status_code == 200
        assert image.content == (site.photos.root / alt).read_bytes()
    table = site.http.get("/datasets/tiny/1")
    assert table.status_code == 200 and "No record was quarantined." in table.text


def test_unknown_datasets_render_a_not_found_page(site: Site) -> None:
    page = site.http.get("/datasets/pears/3")
    assert page.status_code == 404
    assert "Dataset 'pears' does not exist." in _text(page.text)


def test_clicking_a_grade_relabels_the_image_as_a_new_version(site: Site) -> None:
    page = site.http.get("/datasets/apples/1/label")
    assert page.status_code == 200
    record = re.search(r'name="record_id" value="([^"]+)"', page.text)
    assert record is not None
    record_id = html.unescape(record.group(1))
    buttons = re.findall(r'<button type="submit" name="label" value="([^"]+)"', page.text)
    assert sorted(buttons) == ["bad", "good", "ok"]
    assert f'alt="{record_id}"' in page.text
    current = next(r.label for r in site.ws.datasets.list_records("apples:1", limit=1000)
                   if r.record_id == record_id)  # fmt: skip
    new = next(b for b in buttons if b != current)
    answer = site.http.post(
        "/datasets/apples/1/label", data={"record_id": record_id, "label": new, "next_id": ""}
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/datasets/apples/2/label?record=")
    version = site.ws.datasets.get_version("apples:2")
    assert version.lineage.operation == "relabel"
    [relabelled] = [r for r in site.ws.datasets.list_records(version, limit=1000)
                    if r.record_id == record_id]  # fmt: skip
    assert relabelled.label == new
    assert site.http.get(answer.headers["location"]).status_code == 200


def test_the_rest_api_answers_errors_in_the_envelope(site: Site) -> None:
    answer = site.http.get("/api/v1/datasets/apples/versions/x")
    assert answer.status_code == 422
    assert answer.json()["error"]["details"] == {"field": "version"}
    answer = site.http.post("/api/v1/datasets/new/versions", json={"source": "/no/such/dir"})
    assert answer.status_code == 422  # a server without allowed roots reads no local path
    assert "reads no files from its own disk" in answer.json()["error"]["message"]
    assert answer.json()["error"]["details"] == {"field": "source"}
    listing = site.http.get("/api/v1/datasets").json()
    assert [d["name"] for d in listing["items"]] == ["apples", "tiny"]
