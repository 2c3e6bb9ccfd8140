"""Issue 13, part 4 (and the login of part 3): browser attacks on a real ``pomona server``.

Replayed with a real Chromium (Debian's ``chromium`` through Playwright) where a browser
is what makes the attack: a page of another origin on 127.0.0.1 (same site, so the login
cookie travels with it) that posts the labelling form and the alert acknowledgement;
a name that resolves to 127.0.0.1 (DNS rebinding); the login itself, its cookie and the
dashboard under the Content-Security-Policy. The rest over plain HTTP: forged Origin,
Referer and Host headers, a spoofed "acked by", the headers of every page.
"""

from __future__ import annotations

import contextlib
import html
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from _server import TOKEN
from playwright import sync_api

import pomona
from pomona.client import init_workspace
from pomona.examples.apples import write_apple_folder
from pomona.testing._servers import free_port
from pomona.testing.live import CHROMIUM, CHROMIUM_ARGS
from pomona.testing.monitoring import synthetic_log, write_log
from pomona.testing.serving import apple_png, register_apple_model

if TYPE_CHECKING:
    from _server import ServerProcess, StartServer
    from playwright.sync_api import Browser, Page

BROWSER_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP evil.example 127.0.0.1"]
"""DNS rebinding, made permanent: evil.example resolves to this machine."""
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
MONITOR = '\n[[monitors]]\ndeployment = "shop"\nwindow = "1h"\nmax_error_rate = 0.05\n'
TEMPLATES = Path(pomona.__file__).parent / "dashboard" / "templates"


@pytest.fixture
def farm(tmp_path: Path) -> dict[str, Any]:
    """A workspace with an image dataset to label, a firing alert to acknowledge and two
    runs with metric charts; ``farm["home"]`` is its folder."""
    home, _ = init_workspace(tmp_path / "farm")
    with (home / "pomona.toml").open("a") as f:
        f.write(MONITOR)
    write_apple_folder(tmp_path / "photos", 6, seed=3)
    with pomona.connect(home) as ws:
        assert ws.metadata_store is not None and ws.artifact_store is not None
        ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
        record = ws.datasets.list_records("apples:1", limit=1).items[0].record_id
        for i, errors in enumerate([0.0, 0.3]):
            rows = synthetic_log(
                200, T0 + i * HOUR, T0 + (i + 1) * HOUR, deployment="shop", error_rate=errors
            )
            write_log(ws.metadata_store, ws.artifact_store, rows)
        ws.monitors.run()
        (alert,) = ws.alerts.list(state="firing")
        runs = []
        for name in ("rf", "logreg"):
            with ws.start_run(name) as run:
                for step in range(40):
                    run.log_metric("loss", 1 / (1 + step), step=step)
            runs.append(run.run_id)
    return {"home": home, "record": record, "alert": alert.alert_id, "runs": runs}


def _deploy_apples(home: Path) -> None:
    with pomona.connect(home) as ws:
        register_apple_model(ws, epochs=0)
        ws.deployments.create("apples", model="apples:1")


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextlib.contextmanager
def attacker_site(pages: dict[str, str]) -> Iterator[str]:
    """Serve ``pages`` (path -> HTML) from another origin on 127.0.0.1; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()


def _auto_post(action: str, fields: dict[str, str]) -> str:
    """An attacker's page: a hidden form that posts itself as soon as it loads."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in fields.items()
    )
    return (
        f'<!doctype html><form id="f" method="post" action="{html.escape(action)}">'
        f'{inputs}</form><script>document.getElementById("f").submit()</script>'
    )


def _login(page: Page, token: str = TOKEN) -> None:
    page.goto("/runs")
    assert re.search(r"/login\?next=%2Fruns$", page.url), page.url
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url("**/runs")


def _state(server: ServerProcess, farm: dict[str, Any]) -> tuple[list[int], Any]:
    """The dataset's versions and who acknowledged the alert, read over the API."""
    with server.client(headers=AUTH) as http:
        versions = http.get("/api/v1/datasets/apples/versions").json()["items"]
        alert = http.get(f"/api/v1/alerts/{farm['alert']}").json()
    return sorted(v["version"] for v in versions), alert["acked_by"]


def test_login_sets_a_safe_cookie_the_dashboard_works_under_its_csp_and_logout_ends_it(
    start_server: StartServer, farm: dict[str, Any], browser: Browser
) -> None:
    _deploy_apples(farm["home"])
    server = start_server(farm["home"], env={"POMONA_TOKEN": TOKEN})
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    _login(page)
    assert page.locator("h1").first.inner_text().startswith("Runs")
    assert page.locator("header .session").inner_text().startswith("admin")
    (cookie,) = context.cookies()
    assert cookie["name"] == "pomona_session"
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
    assert abs(cookie["expires"] - (time.time() + 12 * 3600)) < 120  # server.session_hours
    assert page.evaluate("document.cookie") == ""  # no script can read it
    # charts (plotly.js and the dashboard's script) under the policy
    page.goto(f"/compare?run_id={farm['runs'][0]}&run_id={farm['runs'][1]}")
    page.wait_for_selector("svg.main-svg", timeout=30_000)
    page.goto(f"/runs/{farm['runs'][0]}")
    page.wait_for_selector("svg.main-svg", timeout=30_000)
    # the upload page's script posts with the cookie, from the same origin
    page.goto("/app/apples")
    photo = {"name": "apple.png", "mimeType": "image/png", "buffer": apple_png(5)}
    page.set_input_files("#photo", files=[photo])
    sync_api.expect(page.locator("#grade")).not_to_be_empty(timeout=30_000)
    assert [p for p in problems if "script" in p.lower() or "error" in p.lower()] == []
    page.click("header .session button")
    page.wait_for_url("**/login")
    assert context.cookies() == []
    page.goto("/runs")
    assert "/login?next=" in page.url
    context.close()


@pytest.mark.parametrize("token", [None, TOKEN], ids=["laptop-default", "logged-in"])
def test_a_cross_origin_form_post_changes_nothing(
    start_server: StartServer, farm: dict[str, Any], browser: Browser, token: str | None
) -> None:
    env = {"POMONA_TOKEN": token} if token else {}
    server = start_server(farm["home"], env=env)
    context = browser.new_context(base_url=server.url)
    page = context.new_page()
    if token:
        _login(page)  # the attacker's page is same-site: the Lax cookie goes along
    label = _auto_post(
        f"{server.url}/datasets/apples/1/label",
        {"record_id": farm["record"], "label": "stolen", "next_id": ""},
    )
    ack = _auto_post(
        f"{server.url}/alerts/{farm['alert']}/ack",
        {"comment": "acknowledged by a stranger", "by": "ceo@corp.example", "back": "/alerts"},
    )
    with attacker_site({"/label": label, "/ack": ack}) as evil:
        for attack in ("/label", "/ack"):
            page.goto(evil + attack)
            page.wait_for_url(f"{server.url}/**")
            sync_api.expect(page.locator("body")).to_contain_text("another site")
    assert _state(server, farm) == ([1], None)
    # the dashboard's own forms still work (and the check above could see a change)
    page.goto("/datasets/apples/1/label")
    page.click("form button[name=label] >> nth=0")
    page.wait_for_url("**/datasets/apples/2/label?record=*")
    page.goto("/alerts")
    page.fill(f"#alert-{farm['alert']} input[name=comment]", "on it")
    page.click(f"#alert-{farm['alert']} button.ack")
    page.wait_for_url("**/alerts")
    assert _state(server, farm) == ([1, 2], "admin" if token else "local")
    context.close()


def test_other_host_names_are_refused_and_write_nothing(
    start_server: StartServer, farm: dict[str, Any], browser: Browser
) -> None:
    server = start_server(farm["home"])
    port = server.url.rsplit(":", 1)[1]
    page = browser.new_context().new_page()
    answered = page.goto(f"http://evil.example:{port}/runs")  # resolves to 127.0.0.1
    assert answered is not None and answered.status == 400
    assert "does not answer to the host name" in page.content()
    assert page.evaluate("() => fetch('/api/v1/runs').then(r => r.status)") == 400
    with server.client() as http:
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.2", "[::2]:80", ""):
            posted = http.post("/api/v1/runs", json={"name": "rebound"}, headers={"Host": host})
            assert posted.status_code == 400, host
            assert posted.json()["error"]["details"] == {"field": "Host"}
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "[::1]", "LOCALHOST."):
            assert http.get("/api/v1/runs", headers={"Host": host}).status_code == 200, host
        assert http.get("/healthz", headers={"Host": "10.0.0.7:8000"}).status_code == 200
        names = {r["name"] for r in http.get("/api/v1/runs").json()["items"]}
        assert names == {"rf", "logreg"}  # no run was created
        # without a token the actor is 'local', whatever the body says
        acked = http.post(f"/api/v1/alerts/{farm['alert']}/ack", json={"by": "ceo@corp.example"})
        assert acked.json()["acked_by"] == "local"


def test_forged_origins_are_refused_and_the_actor_comes_from_the_credential(
    start_server: StartServer, farm: dict[str, Any]
) -> None:
    server = start_server(farm["home"], env={"POMONA_TOKEN": TOKEN})
    label = "/datasets/apples/1/label"
    form = {"record_id": farm["record"], "label": "stolen", "next_id": ""}
    ack = f"/alerts/{farm['alert']}/ack"
    with server.client() as browser_like:
        done = browser_like.post(
            "/login", data={"token": TOKEN, "next": "/"}, headers={"Origin": server.url}
        )
        assert done.status_code == 303
        forged = [
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": server.url.replace("http:", "https:")},
            {"Referer": "http://evil.example/page"},
            {"Sec-Fetch-Site": "cross-site"},
            {},  # the session cookie without Origin or Referer
        ]
        for headers in forged:
            for path, data in ((label, form), (ack, {"comment": "x"})):
                refused = browser_like.post(path, data=data, headers=headers)
                assert refused.status_code == 403, (path, headers)
                assert refused.json()["error"]["details"] == {"field": "Origin"}
            refused = browser_like.put(
                "/api/v1/models/m/aliases/a", json={"version": 1, "reason": "x"}, headers=headers
            )
            assert refused.status_code == 403, headers
        assert _state(server, farm) == ([1], None)
        same_origin = {"Referer": f"{server.url}/alerts"}
        spoofed = browser_like.post(
            ack, data={"comment": "mine", "by": "ceo@corp.example"}, headers=same_origin
        )
        assert spoofed.status_code == 303
    assert _state(server, farm) == ([1], "admin")
    with server.client(headers=AUTH) as sdk:  # no browser headers, no cookie: not a browser
        assert sdk.post("/api/v1/runs", json={"name": "by-script"}).status_code == 201


def test_every_dashboard_page_and_the_upload_page_carry_the_security_headers(
    start_server: StartServer, farm: dict[str, Any]
) -> None:
    _deploy_apples(farm["home"])
    server = start_server(farm["home"], env={"POMONA_TOKEN": TOKEN})
    run = farm["runs"][0]
    pages = [
        "/runs",
        f"/runs/{run}",
        f"/compare?run_id={run}&run_id={farm['runs'][1]}",
        "/datasets",
        "/datasets/apples/1",
        "/datasets/apples/1/label",
        "/features",
        "/pipelines",
        "/models",
        "/models/apples",
        "/models/apples/versions/1",
        "/gate-reports/apples",
        "/studies",
        "/evaluations",
        "/deployments",
        "/deployments/apples",
        "/monitors",
        "/monitors/shop",
        "/alerts",
        "/app/apples",
        "/runs/nope",  # an error page
    ]
    with server.client(headers=AUTH) as http, server.client() as anonymous:
        answers = {path: http.get(path) for path in pages}
        answers["/login"] = anonymous.get("/login")
        for path, response in answers.items():
            assert response.status_code == (404 if path == "/runs/nope" else 200), path
            assert "text/html" in response.headers["content-type"], path
            headers = response.headers
            assert headers["x-frame-options"] == "DENY", path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "same-origin", path
            policy = dict(
                part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
            )
            assert policy["script-src"] == "'self'", path
            assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
            assert "'unsafe-inline'" not in policy["default-src"], path
            assert "'unsafe-eval'" not in headers["content-security-policy"], path
            scripts = re.findall(r"<script\b[^>]*>", response.text)
            assert all("src=" in s or 'type="application/json"' in s for s in scripts), path
        report = http.get("/monitors/shop/report")
        assert report.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_templates_hold_no_inline_script_handlers_or_styles() -> None:
    handlers = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
    for template in sorted(TEMPLATES.glob("*.html")):
        text = template.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or 'type="application/json"' in tag, (template.name, tag)
        assert not handlers.search(text), template.name
        assert "<style" not in text and "style=" not in text, template.name
        assert "javascript:" not in text, template.name
