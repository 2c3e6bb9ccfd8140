"""Monitors declared in pomona.toml, run by the server's runner, seen in the dashboard and
acknowledged there; and the ``pomona monitors`` / ``pomona alerts`` commands."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import pomona as pm
from pomona.client import Workspace, init_workspace
from pomona.testing.monitoring import synthetic_log, write_log

HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
TOML = """
[monitoring]
poll_s = 0.2

[[monitors]]
deployment = "shop"
window = "1h"
max_error_rate = 0.05
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("POMONA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    folder, _ = init_workspace(tmp_path / "project")
    with (folder / "pomona.toml").open("a") as f:
        f.write(TOML)
    with pm.connect(folder) as ws:
        assert ws.metadata_store is not None and ws.artifact_store is not None
        for i, errors in enumerate([0.0, 0.3]):
            rows = synthetic_log(
                500, T0 + i * HOUR, T0 + (i + 1) * HOUR, deployment="shop", error_rate=errors
            )
            write_log(ws.metadata_store, ws.artifact_store, rows)
    return folder


def _pomona(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pomona.cli", *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_runs_reports_and_handles_alerts(root: Path) -> None:
    listed = _pomona(root, "monitors", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [m["deployment"] for m in json.loads(listed.stdout)] == ["shop"]

    ran = _pomona(root, "monitors", "run", "shop")
    assert ran.returncode == 0, ran.stderr
    assert "2 window(s) computed" in ran.stdout and "[firing]" in ran.stdout

    alerts = json.loads(_pomona(root, "alerts", "list", "--json").stdout)
    assert [(a["rule"], a["state"]) for a in alerts] == [("error_rate", "firing")]
    acked = _pomona(root, "alerts", "ack", alerts[0]["alert_id"][:10], "--comment", "on it")
    assert acked.returncode == 0, acked.stderr
    silenced = _pomona(root, "alerts", "silence", "--deployment", "shop", "--for", "2h")
    assert silenced.returncode == 0 and "Silenced until" in silenced.stdout

    report = _pomona(root, "monitors", "report", "shop", "--out", "r.html")
    assert report.returncode == 0, report.stderr
    assert "error_rate" in (root / "r.html").read_text(encoding="utf-8")

    missing = _pomona(root, "monitors", "report", "nope")
    assert missing.returncode == 3 and "No monitor is named 'nope'" in missing.stderr


def test_the_server_runs_monitors_and_the_dashboard_shows_and_acks_alerts(
    root: Path, live_app: Callable[[Workspace], str]
) -> None:
    with pm.connect(root) as ws:
        base = live_app(ws)
        firing: list[Any] = []
        for _ in range(200):  # the runner polls every 0.2 s
            firing = list(ws.alerts.list(state="firing"))
            if firing:
                break
            time.sleep(0.1)
        assert [a.rule for a in firing] == ["error_rate"]
        with httpx.Client(base_url=base, follow_redirects=False) as http:
            page = http.get("/monitors")
            assert page.status_code == 200 and 'href="/monitors/shop"' in page.text
            assert 'href="/alerts"' in page.text  # in the navigation
            detail = http.get("/monitors/shop")
            assert "Error rate" in detail.text and "plotly.min.js" in detail.text
            alerts = http.get("/alerts?state=firing")
            assert "Acknowledge" in alerts.text and html.escape(firing[0].message) in alerts.text
            done = http.post(
                f"/alerts/{firing[0].alert_id}/ack",
                data={"comment": "fixing the model", "back": "/alerts"},
            )
            assert done.status_code == 303 and done.headers["location"] == "/alerts"
            assert "fixing the model" in http.get("/alerts").text
            metrics = http.get("/metrics").text
            assert "pomona_prediction_log_queue_rows" in metrics
        assert ws.alerts.get(firing[0].alert_id).ack_comment == "fixing the model"
