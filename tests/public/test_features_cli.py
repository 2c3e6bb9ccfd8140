"""The feature store from the command line, over raw REST, and on the dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

import pomona
from pomona.server.app import create_app
from pomona.testing.live import serve_in_thread

T0 = datetime(2026, 2, 1, tzinfo=UTC)
YAML = """
entities:
  - name: apple
    join_keys: {apple_id: int64}
feature_views:
  - name: sizes
    entities: [apple]
    source: {type: parquet, path: sizes.parquet}
    features: {weight_g: float64, variety: string}
    ttl: 30d
feature_services:
  - name: grader
    features: ["sizes:*"]
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COLUMNS", "200")
    pd.DataFrame(
        {
            "apple_id": [1, 2, 1],
            "event_timestamp": [T0, T0, T0 + timedelta(days=1)],
            "weight_g": [150.0, 170.0, 155.5],
            "variety": ["gala", "fuji", "gala"],
        }
    ).to_parquet(tmp_path / "sizes.parquet")
    (tmp_path / "features.yaml").write_text(YAML)
    pomona.client.init_workspace(tmp_path)
    return tmp_path


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "features", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_apply_list_show_materialize_and_read_online(project: Path) -> None:
    applied = cli(project, "apply", "features.yaml")
    assert applied.returncode == 0, applied.stderr
    assert "sizes" in applied.stdout and "created" in applied.stdout
    again = json.loads(cli(project, "apply", "features.yaml", "--json").stdout)
    assert [a["status"] for a in again] == ["unchanged"] * 3
    listed = cli(project, "list")
    assert "sizes" in listed.stdout and "apple_id (int64)" in listed.stdout
    assert "sizes:weight_g, sizes:variety" in listed.stdout
    shown = cli(project, "show", "sizes")
    assert "weight_g" in shown.stdout and "158.5" in shown.stdout  # the mean
    stats = json.loads(cli(project, "show", "sizes", "--json").stdout)["snapshot"]["features"]
    assert stats[0] | {"mean": round(stats[0]["mean"], 3)} == {
        "name": "weight_g", "dtype": "float64", "count": 3, "nulls": 0, "distinct": 3,
        "min": 150.0, "max": 170.0, "mean": 158.5, "std": stats[0]["std"],
    }  # fmt: skip
    done = cli(project, "materialize", "--end", (T0 + timedelta(days=2)).isoformat(), "--json")
    assert [v["entities"] for v in json.loads(done.stdout)["views"]] == [2]
    online = cli(
        project, "get-online", "grader", "-e", "apple_id=1", "-e", "apple_id=3",
        "--at", "2026-02-03", "--json",
    )  # fmt: skip
    assert json.loads(online.stdout) == {
        "apple_id": [1, 3],
        "weight_g": [155.5, None],
        "variety": ["gala", None],
    }


def test_save_a_training_set_from_an_entity_file(project: Path) -> None:
    cli(project, "apply", "features.yaml")
    pd.DataFrame(
        {"apple_id": [1, 2, 3], "event_timestamp": ["2026-02-01T12:00:00Z"] * 3, "grade": "a"}
    ).to_csv(project / "labels.csv", index=False)
    saved = cli(project, "save-training", "grader_train", "grader", "--entities", "labels.csv")
    assert saved.returncode == 0, saved.stderr
    assert "grader_train:1" in saved.stdout
    again = cli(
        project, "save-training", "grader_train", "sizes:weight_g",
        "--entities", "labels.csv", "--json",
    )  # fmt: skip
    record = json.loads(again.stdout)
    assert (record["version"], record["num_rows"], record["dataset"]) == (2, 3, "grader_train:2")
    with pomona.connect(project) as ws:
        rows = ws.datasets.load_table("grader_train:1")
    assert rows["weight_g"].tolist()[:2] == [150.0, 170.0] and pd.isna(rows["weight_g"][2])
    missing = cli(project, "save-training", "x", "grader", "--entities", "nowhere.csv")
    assert missing.returncode == 2 and "No entity file" in missing.stderr


def test_cli_errors_are_one_readable_line(project: Path) -> None:
    cli(project, "apply", "features.yaml")
    unknown = cli(project, "show", "pears")
    assert unknown.returncode == 3
    assert unknown.stderr.startswith("Error: No feature view is named 'pears'.")
    bad_key = cli(project, "get-online", "grader", "-e", "apple_id=abc")
    assert bad_key.returncode == 2 and "must be int64" in bad_key.stderr
    missing = cli(project, "apply", "nowhere.yaml")
    assert missing.returncode == 2 and "No definitions file" in missing.stderr


def test_push_endpoint_and_dashboard_pages(project: Path) -> None:
    ws = pomona.connect(project)
    ws.features.apply(pomona.features.load_definitions(project / "features.yaml"))
    with serve_in_thread(create_app(ws)) as url, httpx.Client(base_url=url) as http:
        pushed = http.post(
            "/api/v1/features/push",
            json={
                "view": "sizes",
                "rows": [
                    {"apple_id": 7, "event_timestamp": "2026-02-03T00:00:00Z",
                     "weight_g": 201.0, "variety": "pink"}
                ],
            },
        )  # fmt: skip
        assert pushed.status_code == 200, pushed.text
        assert pushed.json()["rows"] == 1
        bad = http.post("/api/v1/features/push", json={"view": "sizes", "rows": [{"x": 1}]})
        assert bad.status_code == 422
        assert "no timestamp column" in bad.json()["error"]["message"]
        online = http.post(
            "/api/v1/features/online",
            json={
                "entities": {"apple_id": [7]},
                "features": "grader",
                "at": "2026-02-04T00:00:00Z",
            },
        )
        assert online.json()["columns"]["weight_g"] == [201.0]
        page = http.get("/features")
        assert page.status_code == 200 and "sizes" in page.text and "grader" in page.text
        view = http.get("/features/sizes")
        assert view.status_code == 200
        assert "Statistics per feature" in view.text and "weight_g" in view.text
        assert "Pushed rows" in view.text
        assert http.get("/features/pears").status_code == 404
    ws.close()
