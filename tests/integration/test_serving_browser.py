"""The upload page and the deployments pages in a real Chromium: upload a generated apple
photo, read the grade, send the true grade, find it stored as feedback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright import sync_api

import pomona
from pomona.client.workspace import Workspace
from pomona.server.app import create_app
from pomona.serving import Canary
from pomona.testing.live import CHROMIUM, CHROMIUM_ARGS, serve_in_thread
from pomona.testing.serving import apple_png, register_apple_model

if TYPE_CHECKING:
    from playwright.sync_api import Page


FAST = {"serving.poll_s": 0.2, "serving.log_flush_interval_s": 0.2}  # server settings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Workspace, str]]:
    ws = pomona.connect(tmp_path / "ws", **FAST)
    register_apple_model(ws, epochs=0)
    register_apple_model(ws, epochs=0)
    ws.deployments.create("apples-prod", model="apples:1", region="eu-west")
    ws.deployments.create("apples-us", model="apples:1", environment="staging", region="us-east")
    ws.deployments.rollout("apples-prod", model="apples:2", strategy=Canary(steps=(10, 100)))
    with serve_in_thread(create_app(ws)) as url:
        yield ws, url
    ws.close()


@pytest.fixture
def page(served: tuple[Workspace, str]) -> Iterator[Page]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=served[1])
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_upload_a_photo_read_the_grade_send_the_truth(
    page: Page, served: tuple[Workspace, str]
) -> None:
    ws, _ = served
    page.goto("/app/apples-prod")
    assert page.locator("h1").inner_text() == "Grade an apple"
    page.set_input_files(
        "#photo", files=[{"name": "apple.png", "mimeType": "image/png", "buffer": apple_png(11)}]
    )
    grade = page.locator("#grade")
    sync_api.expect(grade).not_to_be_empty(timeout=20_000)
    assert grade.inner_text() in ("good", "ok", "bad")
    rows = page.locator("#probabilities tbody tr")
    assert rows.count() == 3
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.grade)")) == [
        "bad",
        "good",
        "ok",
    ]
    request_id = page.locator("#request-id").inner_text()
    assert len(request_id) == 32

    truth = "ok" if grade.inner_text() != "ok" else "bad"
    page.select_option("#true-grade", truth)
    page.click("#feedback button[type=submit]")
    sync_api.expect(page.locator("#feedback-status")).to_contain_text("stored", timeout=10_000)
    stored = ws.deployments.get_feedback(request_id)
    assert (stored.deployment, stored.label, stored.source) == ("apples-prod", truth, "upload-page")


def test_a_broken_file_shows_the_servers_message(page: Page) -> None:
    page.goto("/app/apples-prod")
    page.set_input_files(
        "#photo", files=[{"name": "x.png", "mimeType": "image/png", "buffer": b"not a png"}]
    )
    sync_api.expect(page.locator("#error")).to_contain_text("cannot be decoded", timeout=20_000)


def test_deployments_pages_show_versions_and_decisions(page: Page) -> None:
    page.goto("/deployments")
    rows = page.locator("#deployments tbody tr")
    assert rows.count() == 2
    text = rows.all_inner_texts()
    assert any(
        "apples-prod" in t and "eu-west" in t and "apples:1" in t and "10%" in t for t in text
    )
    assert any("apples-us" in t and "staging" in t and "us-east" in t for t in text)
    page.click("text=apples-prod")
    sync_api.expect(page.locator("#serves")).to_have_text("apples:1")
    assert "start" in page.locator("#decisions").inner_text()
