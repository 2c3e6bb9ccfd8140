"""Issue 13, part 3: with a token set, every route needs a credential, reads included.

Each test starts a real ``pomona server`` process (``start_server``) over a workspace that
holds real objects (a run's artifact, a dataset's files, a model's files, a prediction log)
and replays what an attacker tried: unauthenticated and wrongly authenticated reads of
every route in the OpenAPI document and every dashboard page, guessed blob digests, forged
and expired session cookies, a spoofed actor, a short token.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from _server import TOKEN

import pomona
from pomona.examples.apples import write_apple_folder
from pomona.testing._servers import free_port
from pomona.testing.monitoring import synthetic_log, write_log
from pomona.testing.serving import register_cancer_model

if TYPE_CHECKING:
    from _server import ServerProcess, StartServer

AUTH = {"Authorization": f"Bearer {TOKEN}"}
WRONG = [
    {"Authorization": "Bearer " + "w" * len(TOKEN)},
    {"Authorization": f"Basic {TOKEN}"},
    {"Cookie": "pomona_session=9999999999.forged.00112233445566778899aabbccddeeff"},
]
OPEN = {"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"}
"""Health probes: open by design (they answer a status and nothing else)."""
LOGIN = {"/login", "/logout", "/static/dashboard.css"}
"""The login page and what it needs: open by design, tested in the login tests."""
PYTHON_CLI = (sys.executable, "-m", "pomona.cli")
HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
SAMPLE = {
    "digest": "sha256:" + "ab" * 32,
    "version": "1",
    "run_id": "0" * 32,
    "path": "notes/secret.txt",
    "record_id": "apple_1.png",
}


@dataclass
class Stock:
    """What the workspace holds: the URL path of each secret object, and its bytes."""

    home: Path
    secrets: dict[str, bytes]
    log_digest: str
    orphan_digest: str


@pytest.fixture
def stock(workspace_dir: Path, tmp_path: Path) -> Stock:
    """A workspace holding a run artifact, a CSV and an image dataset, a model and a
    prediction log, plus bytes in the artifact store that no record refers to."""
    (tmp_path / "t.csv").write_text("x,y\n1,a\n2,b\n3,a\n")
    photos = write_apple_folder(tmp_path / "photos", 2, seed=1)
    with pomona.connect(workspace_dir) as ws:
        assert ws.metadata_store is not None and ws.artifact_store is not None
        with ws.start_run("secret-run") as run:
            run.log_text("the run's secret\n", "notes/secret.txt")
        ws.datasets.ingest("tiny", tmp_path / "t.csv", labels="y")
        ws.datasets.ingest("apples", photos.root, labels="subfolders")
        record = ws.datasets.list_records("apples:1", limit=1).items[0].record_id
        version = register_cancer_model(ws)
        model_file = version.files[0]
        rows = synthetic_log(40, T0, T0 + HOUR, deployment="shop")
        log_digest = write_log(ws.metadata_store, ws.artifact_store, rows)
        orphan, _ = ws.artifact_store.put_bytes(b"bytes that no record refers to\n")
        secrets = {
            f"/api/v1/runs/{run.run_id}/artifacts/notes/secret.txt": b"the run's secret\n",
            f"/api/v1/models/cancer/blobs/{model_file.digest}": ws.artifact_store.read_bytes(
                model_file.digest
            ),
            f"/api/v1/pipelines/blobs/{log_digest}": ws.artifact_store.read_bytes(log_digest),
            f"/api/v1/datasets/apples/versions/1/files/{record}": (
                photos.root / record
            ).read_bytes(),
        }
    return Stock(workspace_dir, secrets, log_digest, orphan)


@pytest.fixture
def server(start_server: StartServer, stock: Stock) -> ServerProcess:
    return start_server(stock.home, env={"POMONA_TOKEN": TOKEN})


def _fill(path: str) -> str:
    """A concrete URL path for a route template (``{name}`` -> ``x`` …)."""
    return re.sub(r"\{([^}:]+)(?::[^}]+)?\}", lambda m: SAMPLE.get(m.group(1), "x"), path)


def _schema_routes(server: ServerProcess) -> list[tuple[str, str]]:
    with server.client(headers=AUTH) as http:
        spec = http.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "put", "post", "patch", "delete", "head")
    ]


def _other_routes(tmp_path: Path) -> list[tuple[str, str]]:
    """Every route the OpenAPI document leaves out: dashboard pages, static files, docs."""
    from fastapi.routing import iter_route_contexts

    from pomona.server.app import create_app

    with pomona.connect(tmp_path / "routes") as ws:
        app = create_app(ws)
    return [
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        if route.path and not getattr(route, "include_in_schema", True)
        for method in sorted(route.methods or ())
    ]


def _is_api(path: str) -> bool:
    return path.startswith(("/api/", "/v1/", "/v2", "/static/", "/metrics", "/openapi.json"))


def _assert_refused(response: httpx.Response, method: str, path: str) -> None:
    what = f"{method} {path} answered {response.status_code}"
    if _is_api(path):
        assert response.status_code == 401, what
        if method != "HEAD":
            assert response.json()["error"]["code"] == "unauthorized", what
    else:  # a dashboard page sends the browser to the login page
        assert response.status_code == 303, what
        assert response.headers["location"].startswith("/login"), what


def test_every_route_needs_a_credential_except_the_health_probes(
    server: ServerProcess, tmp_path: Path
) -> None:
    routes = sorted(set(_schema_routes(server)) | set(_other_routes(tmp_path)))
    paths = {path for _, path in routes}
    for expected in ("/api/v1/runs/{run_id}/artifacts/{path}", "/metrics", "/v2", "/docs"):
        assert expected in paths  # the walk covers API, OIP, metrics and docs
    assert "/runs/{run_id}" in paths and "/alerts/{alert_id}/ack" in paths  # and the dashboard
    walked = 0
    variants = [{}, *WRONG]  # a same-origin page's Origin: past the cross-site check
    clients = [server.client(headers={**h, "Origin": server.url}) for h in variants]
    for method, template in routes:
        if template in OPEN | LOGIN:
            continue
        path = _fill(template)
        for http in clients:
            _assert_refused(http.request(method, path), method, template)
        walked += 1
    for http in clients:
        http.close()
    assert walked > 100
    with server.client() as http:
        for probe in sorted(OPEN):
            assert http.get(probe).status_code == 200, probe
    # with the token every route is reached (whatever it then answers)
    with server.client(headers=AUTH) as http:
        for method, template in routes:
            if template not in LOGIN:
                answered = http.request(method, _fill(template))
                assert answered.status_code not in (401, 403), (method, template)
                assert '"field":"Host"' not in answered.text, (method, template)
    assert server.alive()


def test_secret_objects_are_refused_without_the_token_and_served_with_it(
    server: ServerProcess, stock: Stock
) -> None:
    pages = ["/api/v1/prediction-logs", "/api/v1/datasets/tiny/versions/1/table", "/metrics"]
    for path in [*stock.secrets, *pages]:
        for headers in [{}, *WRONG]:
            with server.client(headers=headers) as http:
                refused = http.get(path)
            assert refused.status_code == 401, path
            assert refused.content.find(b"secret") < 0 and b"PAR1" not in refused.content
    with server.client(headers=AUTH) as http:
        for path, content in stock.secrets.items():
            served = http.get(path)
            assert (served.status_code, served.content) == (200, content), path
        logs = http.get("/api/v1/prediction-logs").json()["items"]
        assert [f["digest"] for f in logs] == [stock.log_digest]
        assert http.get("/metrics").status_code == 200


def test_a_blob_no_record_refers_to_is_not_found_even_with_the_token(
    server: ServerProcess, stock: Stock
) -> None:
    orphan = f"/api/v1/pipelines/blobs/{stock.orphan_digest}"
    assert (stock.home / ".pomona" / "artifacts").is_dir()
    with server.client(headers=AUTH) as http:
        for method in ("GET", "HEAD"):
            missing = http.request(method, orphan)
            assert missing.status_code == 404, method
        assert "no record refers to" not in http.get(orphan).text  # its bytes never leave
        assert http.get(orphan).json()["error"]["code"] == "not_found"
        never = http.get(f"/api/v1/pipelines/blobs/sha256:{'0' * 64}")
        assert never.json()["error"]["message"] == http.get(orphan).json()["error"][
            "message"
        ].replace(stock.orphan_digest, f"sha256:{'0' * 64}")  # existence does not leak
        referenced = http.head(f"/api/v1/pipelines/blobs/{stock.log_digest}")
        assert referenced.status_code == 200


def test_the_acting_user_comes_from_the_credential_not_the_body(server: ServerProcess) -> None:
    spoof = "ceo@corp.example"
    with server.client(headers=AUTH) as http:
        moved = http.put(
            "/api/v1/models/cancer/aliases/champion",
            json={"version": 1, "reason": "spoof", "actor": spoof},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["actor"] == "admin"
        removed = http.delete(
            "/api/v1/models/cancer/aliases/champion", params={"reason": "x", "actor": spoof}
        )
        assert removed.json()["move"]["actor"] == "admin"
        history = http.get("/api/v1/models/cancer/alias-history").json()["items"]
        assert {m["actor"] for m in history} == {"admin"}
        silence = http.post("/api/v1/alerts/silences", json={"deployment": "shop", "by": spoof})
        assert silence.status_code == 201, silence.text
        stored = http.get("/api/v1/alerts/silences").json()["items"]
        assert spoof not in json.dumps(stored) and "admin" in json.dumps(stored)


def test_the_sdk_sends_the_token_on_every_request(server: ServerProcess, stock: Stock) -> None:
    from pomona.errors import UnauthorizedError

    with pomona.connect(server.url, token=TOKEN) as ws:  # reads through every client
        assert [r.name for r in ws.runs.search_runs()] == ["secret-run"]
        assert ws.datasets.get_version("tiny:1").name == "tiny"
        assert hasattr(ws.models.load("cancer:1"), "predict")  # its files, as blobs
        log = ws.pipelines.artifacts.read_bytes(stock.log_digest)  # a blob, read back
        assert log == stock.secrets[f"/api/v1/pipelines/blobs/{stock.log_digest}"]
        assert [a.alert_id for a in ws.alerts.list()] == []
    with pomona.connect(server.url, token="w" * 40) as intruder:
        reads = (
            intruder.runs.search_runs,
            lambda: intruder.datasets.get_version("tiny:1"),
            lambda: intruder.models.load("cancer:1"),
            lambda: intruder.pipelines.artifacts.read_bytes(stock.log_digest),
        )
        for read in reads:
            with pytest.raises(UnauthorizedError):
                read()


def test_behind_a_tls_proxy_the_cookie_is_secure(server: ServerProcess) -> None:
    origin = server.url.replace("http:", "https:")
    proxied = {"X-Forwarded-Proto": "https", "Origin": origin}  # uvicorn trusts 127.0.0.1
    with server.client(headers=proxied) as http:
        done = http.post("/login", data={"token": TOKEN, "next": "/runs"})
        assert done.status_code == 303
        flags = {f.strip().lower() for f in done.headers["set-cookie"].split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
        assert "max-age=43200" in flags  # server.session_hours
        plain = http.post(
            "/login", data={"token": TOKEN}, headers={"Origin": server.url}
        )  # an http page posting to the https site
        assert plain.status_code == 403
    with server.client(headers={"Origin": server.url}) as http:
        cookie = http.post("/login", data={"token": TOKEN}).headers["set-cookie"]
        assert "secure" not in cookie.lower()


def test_metrics_can_be_public_for_scrapers(start_server: StartServer, stock: Stock) -> None:
    server = start_server(
        stock.home, env={"POMONA_TOKEN": TOKEN}, settings={"server.metrics_public": True}
    )
    with server.client(headers={"Host": "10.1.2.3:9000"}) as scraper:  # by address
        metrics = scraper.get("/metrics")
    assert metrics.status_code == 200 and "pomona_http_requests_total" in metrics.text
    with server.client() as http:
        assert http.get("/api/v1/runs").status_code == 401
        assert http.get("/runs").status_code == 303


def _login(http: httpx.Client, token: str) -> str:
    done = http.post(
        "/login", data={"token": token, "next": "/runs"}, headers={"Origin": str(http.base_url)}
    )
    assert done.status_code == 303 and done.headers["location"] == "/runs", done.text
    return done.cookies["pomona_session"]


def _page(server: ServerProcess, cookie: str) -> httpx.Response:
    with server.client(headers={"Cookie": f"pomona_session={cookie}"}) as http:
        return http.get("/runs")


def test_a_session_cookie_stops_working_when_the_token_changes(
    start_server: StartServer, workspace_dir: Path
) -> None:
    first = start_server(workspace_dir, env={"POMONA_TOKEN": TOKEN})
    with first.client() as http:
        cookie = _login(http, TOKEN)
        wrong = http.post("/login", data={"token": "w" * 40}, headers={"Origin": first.url})
        assert wrong.status_code == 401 and "not this server" in wrong.text
    assert _page(first, cookie).status_code == 200
    first.proc.terminate()
    first.proc.wait(15)
    other = TOKEN[::-1]
    second = start_server(workspace_dir, env={"POMONA_TOKEN": other})
    refused = _page(second, cookie)
    assert refused.status_code == 303 and refused.headers["location"] == "/login?next=%2Fruns"
    with second.client() as http:
        assert _page(second, _login(http, other)).status_code == 200


def test_a_session_cookie_expires(start_server: StartServer, workspace_dir: Path) -> None:
    server = start_server(
        workspace_dir, env={"POMONA_TOKEN": TOKEN}, settings={"server.session_hours": 0.0005}
    )
    with server.client() as http:
        cookie = _login(http, TOKEN)
    issued = time.time()
    expires = int(cookie.split(".")[0])
    assert 1 <= expires - issued <= 3  # 0.0005 h
    assert _page(server, cookie).status_code == 200
    time.sleep(max(0.0, expires - time.time()) + 0.5)
    expired = _page(server, cookie)
    assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
    forged = f"{expires + 3600}.{cookie.split('.', 2)[1]}.{cookie.split('.', 2)[2]}"
    assert _page(server, forged).status_code == 303  # a later expiry breaks the signature


def test_login_redirects_only_to_paths_on_this_server(
    start_server: StartServer, workspace_dir: Path
) -> None:
    server = start_server(workspace_dir, env={"POMONA_TOKEN": TOKEN})
    origin = {"Origin": server.url}
    with server.client(headers=origin) as http:
        for target in (
            "https://evil.example/x",
            "//evil.example/x",
            "/\\evil.example",
            "http:/evil.example",
            " /runs",
            "evil.example/x",
        ):
            done = http.post("/login", data={"token": TOKEN, "next": target})
            assert done.headers["location"] == "/", target
        assert (
            http.post("/login", data={"token": TOKEN, "next": "/models?x=1"}).headers["location"]
            == "/models?x=1"
        )


def test_a_short_token_refuses_start_up(workspace_dir: Path) -> None:
    port = free_port()
    started = subprocess.run(
        [*PYTHON_CLI, "server", "--workspace", str(workspace_dir), "--port", str(port)],
        env={**_env(), "POMONA_TOKEN": "s3cret-but-31-characters-long!!"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 2, started.stderr
    assert "at least 32" in started.stderr
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in started.stderr
    with pytest.raises(httpx.ConnectError):  # nothing was ever served
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_worker_processes_get_the_same_auth_settings(
    start_server: StartServer, workspace_dir: Path
) -> None:
    from pomona.server.main import _worker_spec

    overrides = {"server.allowed_hosts": ["ml.example.com"], "datasets.allowed_roots": ["/d"]}
    with pomona.connect(workspace_dir, **overrides) as ws:
        spec = json.loads(json.dumps(_worker_spec(ws, TOKEN, True)))
    assert spec["token"] == TOKEN
    assert spec["overrides"]["server.allowed_hosts"] == ["ml.example.com"]
    assert spec["overrides"]["datasets.allowed_roots"] == ["/d"]
    with pomona.connect(spec["home"], **spec["overrides"]) as worker:
        assert worker.settings.server.allowed_hosts == ["ml.example.com"]

    server = start_server(
        workspace_dir, env={"POMONA_TOKEN": TOKEN}, settings={"server.workers": 2}
    )
    with server.client() as http:
        cookie = _login(http, TOKEN)
    seen: dict[str, set[str]] = {"refused": set(), "owner": set(), "session": set()}
    deadline = time.monotonic() + 60
    while min(len(pids) for pids in seen.values()) < 2 and time.monotonic() < deadline:
        # a new connection each time: the kernel spreads them over the two workers
        refused = httpx.get(f"{server.url}/api/v1/runs")
        owner = httpx.get(f"{server.url}/api/v1/runs", headers=AUTH)
        page = httpx.get(f"{server.url}/runs", cookies={"pomona_session": cookie})
        assert (refused.status_code, owner.status_code, page.status_code) == (401, 200, 200)
        for kind, answer in zip(seen, (refused, owner, page), strict=True):
            seen[kind].add(answer.headers["x-pomona-worker"])
    assert all(len(pids) == 2 for pids in seen.values())  # a login holds on every worker


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
