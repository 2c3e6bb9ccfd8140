"""The HTTP server as clients see it: envelopes, health, metrics, the write token."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import pomona
from pomona.client import Workspace
from pomona.errors import UnauthorizedError
from pomona.server import is_loopback, serve


@pytest.fixture
def local(tmp_path: Path) -> Workspace:
    return pomona.connect(tmp_path, **{"tracking.flush_interval_s": 0.05})


def test_errors_come_in_one_envelope(local: Workspace, live_app: Callable[..., str]) -> None:
    url = live_app(local)
    missing = httpx.get(f"{url}/api/v1/runs/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert "pomona runs list" in missing.json()["error"]["hint"]
    bad = httpx.post(
        f"{url}/api/v1/runs", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    typo = httpx.post(f"{url}/api/v1/runs", json={"nmae": "x"})
    assert typo.status_code == 422
    assert typo.json()["error"]["details"]["field"] == "nmae"
    limit = httpx.get(f"{url}/api/v1/runs", params={"limit": 0})
    assert limit.status_code == 422 and limit.json()["error"]["details"]["field"] == "limit"


def test_health_readiness_metrics_and_openapi(
    local: Workspace, live_app: Callable[..., str]
) -> None:
    url = live_app(local)
    health = httpx.get(f"{url}/healthz").json()
    assert health == {"status": "ok", "checks": {"database": "ok", "artifacts": "ok"}}
    assert httpx.get(f"{url}/readyz").json() == {"status": "ready"}
    httpx.get(f"{url}/api/v1/runs")
    text = httpx.get(f"{url}/metrics").text
    assert 'pomona_http_requests_total{method="GET",route="/api/v1/runs",status="200"}' in text
    assert "pomona_http_request_duration_seconds_bucket" in text
    assert "pomona_process_resident_bytes" in text
    spec = httpx.get(f"{url}/openapi.json").json()
    assert "/api/v1/runs/{run_id}/batch" in spec["paths"]


def test_health_fails_when_the_artifact_store_is_gone(
    tmp_path: Path, live_app: Callable[..., str]
) -> None:
    ws = pomona.connect(tmp_path)
    url = live_app(ws)
    artifacts = tmp_path / ".pomona" / "artifacts"
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.write_text("a file where the store's folder should be")
    response = httpx.get(f"{url}/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["artifacts"] != "ok"


TOKEN = "owner-token-" + "0123456789abcdef" * 2
"""A token long enough for a server (32 characters or more)."""


def test_a_token_guards_every_request(local: Workspace, live_app: Callable[..., str]) -> None:
    url = live_app(local, token=TOKEN)
    for method, path in [("GET", "/api/v1/runs"), ("POST", "/api/v1/runs")]:
        refused = httpx.request(method, f"{url}{path}", json={"name": "x"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    assert httpx.get(f"{url}/healthz").status_code == 200  # probes stay open
    with pomona.connect(url, token="wrong" * 8) as intruder:
        with pytest.raises(UnauthorizedError):
            intruder.runs.create_run(name="x")
        with pytest.raises(UnauthorizedError):  # reads too
            intruder.runs.search_runs()
    with pomona.connect(url, token=TOKEN) as owner:
        with owner.start_run("allowed") as run:
            run.log_metric("m", 1.0)
        assert owner.runs.get_run(run.run_id).metrics == {"m": 1.0}


def test_a_short_token_is_refused(local: Workspace) -> None:
    from pomona.errors import ConfigError
    from pomona.server import create_app

    with pytest.raises(ConfigError, match="at least 32") as refused:
        create_app(local, token="s3cret")
    assert refused.value.hint is not None and "secrets.token_urlsafe(32)" in refused.value.hint


def test_binding_beyond_loopback_requires_a_token_and_host_names(local: Workspace) -> None:
    from pomona.errors import ConfigError

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    with pytest.raises(ConfigError, match="POMONA_TOKEN"):
        serve(local, host="0.0.0.0", port=0, token=None)
    with pytest.raises(ConfigError, match="at least 32"):
        serve(local, host="0.0.0.0", port=0, token="s3cret")
    with pytest.raises(ConfigError, match="allowed_hosts") as names:
        serve(local, host="0.0.0.0", port=0, token=TOKEN)
    assert names.value.details == {"field": "server.allowed_hosts"}


def test_a_given_request_id_is_echoed_and_new_ones_are_unique(
    local: Workspace, live_app: Callable[..., str]
) -> None:
    url = live_app(local)
    given = httpx.get(f"{url}/api/v1/runs", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    ids = {httpx.get(f"{url}/api/v1/runs").headers["X-Request-ID"] for _ in range(20)}
    assert len(ids) == 20 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_the_server_process_freezes_its_heap_after_start_and_model_loads(
    tmp_path: Path,
) -> None:
    import gc

    from pomona.server import create_app
    from pomona.testing.live import serve_in_thread
    from pomona.testing.serving import register_cancer_model

    threshold = gc.get_threshold()
    ws = pomona.connect(tmp_path, **{"serving.poll_s": 0.1})
    try:
        with serve_in_thread(create_app(ws, dashboard=False, settle_gc=True)) as url:
            assert gc.get_threshold()[0] == 20_000
            gc.unfreeze()
            register_cancer_model(ws)
            ws.deployments.create("cancer", model="cancer:1")
            for _ in range(100):  # the host loads the model, then freezes again
                if gc.get_freeze_count() > 0:
                    break
                time.sleep(0.1)
            assert gc.get_freeze_count() > 10_000
            assert httpx.get(f"{url}/v2/models/cancer/ready").status_code == 200
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
        ws.close()
