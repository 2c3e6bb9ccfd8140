"""The ``[serving]`` settings: defaults of new deployments' options, listed by config show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pomona
from pomona.errors import ConfigError
from pomona.testing.serving import register_cancer_model


def test_serving_settings_are_the_defaults_of_new_deployments(tmp_path: Path) -> None:
    settings = {"serving.max_batch_size": 8, "serving.max_wait_ms": 0, "serving.logging": "sync"}
    ws = pomona.connect(tmp_path / "ws", **settings)
    try:
        register_cancer_model(ws)
        plain = ws.deployments.create("plain", model="cancer:1")
        assert (plain.options.max_batch_size, plain.options.max_wait_ms) == (8, 0)
        assert plain.options.logging == "sync" and plain.options.max_queue == 1024
        own = ws.deployments.create("own", model="cancer:1", options={"max_batch_size": 16})
        assert own.options.max_batch_size == 16 and own.options.logging == "sync"
    finally:
        ws.close()


def test_a_bad_serving_setting_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"serving\.logging"):
        pomona.connect(tmp_path / "ws", **{"serving.logging": "loud"})


def test_config_show_lists_the_serving_section(tmp_path: Path) -> None:
    pomona.connect(tmp_path).close()
    env = {**os.environ, "POMONA_SERVING_POLL_S": "0.5"}
    shown = subprocess.run(
        [sys.executable, "-m", "pomona.cli.main", "config", "show", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {r["key"]: r for r in json.loads(shown.stdout)}
    assert rows["serving.poll_s"] == {"key": "serving.poll_s", "value": 0.5, "source": "env"}
    for key in ("max_batch_size", "max_wait_ms", "max_queue", "logging", "analysis_poll_s"):
        assert rows[f"serving.{key}"]["source"] == "default"
    assert rows["serving.log_flush_interval_s"]["value"] == 1.0
