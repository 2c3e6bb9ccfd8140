"""Alert notifications: a client must not make the server fetch a URL or leak its SMTP login.

``POST /api/v1/monitors`` took any notification channel: a webhook made the server POST to
any URL when an alert fired (SSRF) and recorded the first 200 characters of the answer in
the alert (read back over ``GET /alerts``); an email channel took a client-chosen SMTP
host, port, user and ``starttls=false``, and the server logged in there with its
``monitoring.smtp_password``. Replayed here against a real ``pomona server``:

- a webhook to a recording listener on 127.0.0.1 is a 422 naming ``notify[0].url`` and
  stores nothing while ``monitoring.webhook_urls`` does not list it; lookalikes of a
  listed prefix (host suffix, user info, other port or scheme, sibling path, dot
  segments, backslash) are refused too; a listed URL is accepted and delivered, a
  redirect it answers is not followed and its answer is never read back;
- an email channel naming its own host, port, sender, STARTTLS or user is a 422 naming
  that field, a recipient outside ``monitoring.email_domains`` one naming ``notify[0].to``,
  and the recording SMTP listener gets no connection; a channel naming recipients only is
  delivered through the server's ``monitoring.smtp_*`` (its login included);
- monitors stored before the fix (planted in the database) are refused when their alert
  fires: a delivery error on the alert, a log line, nothing reaches the listeners.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import pomona
from pomona.errors import InvalidInputError
from pomona.monitoring import Email, Log, Webhook
from pomona.testing._servers import free_port
from pomona.testing.monitoring import synthetic_log, write_log

if TYPE_CHECKING:
    from _server import Listener, ServerProcess, StartServer

HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
AFTER = datetime.fromtimestamp((T0 + 2 * HOUR + 60_000) / 1000, UTC).isoformat()
"""A moment after the second window closed: running then fires ``data_drift``."""
PASSWORD = "smtp-password-of-the-server-4f1c"
ANSWER = "SECRET-ANSWER-OF-THE-INTERNAL-SERVICE"


# --- listeners --------------------------------------------------------------------------


@dataclass
class Hook:
    """An HTTP server on 127.0.0.1 recording every request; ``/redirect`` answers 302."""

    server: ThreadingHTTPServer
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    redirect_to: str = "http://127.0.0.1:9/"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def hook() -> Iterator[Hook]:
    found: Hook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            found.requests.append((self.path, json.loads(body or b"{}")))
            if self.path.endswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", found.redirect_to)
            else:
                self.send_response(200)
            self.end_headers()
            self.wfile.write(ANSWER.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found = Hook(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@dataclass
class Smtp:
    """A real SMTP server (aiosmtpd) recording sessions, logins and messages."""

    port: int
    sessions: int = 0
    logins: list[tuple[bytes, bytes]] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)


def _smtp_server() -> Iterator[Smtp]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    found = Smtp(free_port())

    class Handler:
        async def handle_EHLO(
            self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
        ) -> list[str]:
            found.sessions += 1
            session.host_name = hostname
            return responses

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            found.messages.append(envelope)
            return "250 Message accepted for delivery"

    def authenticate(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword):
            found.logins.append((data.login, data.password))
        return AuthResult(success=True)

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=found.port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield found
    controller.stop()


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    """The SMTP server the server's settings name."""
    yield from _smtp_server()


@pytest.fixture
def rogue_smtp() -> Iterator[Smtp]:
    """An SMTP server a client names: it must never hear from the server."""
    yield from _smtp_server()


# --- helpers ----------------------------------------------------------------------------


def _write_logs(home: Path) -> None:
    """Two hours of prediction logs of 'demo': the second drifts from the first."""
    with pomona.connect(home) as ws:
        for i, shift in enumerate([0.0, 1.0]):
            rows = synthetic_log(400, T0 + i * HOUR, T0 + (i + 1) * HOUR, shift=shift, seed=i)
            assert ws.metadata_store is not None and ws.artifact_store is not None
            write_log(ws.metadata_store, ws.artifact_store, rows)


def _monitor(name: str, notify: list[Any]) -> dict[str, Any]:
    return {
        "deployment": "demo",
        "name": name,
        "window": "1h",
        "reference": f"window:{T0}",
        "retrain": False,
        "notify": notify,
    }


def _start(start_server: StartServer, home: Path, **settings: Any) -> ServerProcess:
    return start_server(home, settings={"monitoring.runner_in_server": False, **settings})


def _refused(server: ServerProcess, name: str, notify: list[Any], field: str) -> None:
    """The monitor is a 422 naming ``field``, and no monitor is stored."""
    with server.client() as http:
        answer = http.post("/api/v1/monitors", json=_monitor(name, notify))
        assert answer.status_code == 422, (notify, answer.text)
        error = answer.json()["error"]
        assert error["details"]["field"] == field, (notify, error)
        assert http.get(f"/api/v1/monitors/{name}").status_code == 404


def _fire(server: ServerProcess) -> list[dict[str, Any]]:
    """Run every monitor after the drifted window: the alerts that fired."""
    with server.client() as http:
        answer = http.post("/api/v1/monitors/run", json={"now": AFTER})
        assert answer.status_code == 200, answer.text
        alerts = http.get("/api/v1/alerts", params={"state": "firing"})
        assert alerts.status_code == 200, alerts.text
        items: list[dict[str, Any]] = alerts.json()["items"]
        assert items, answer.text
        return items


def _notifications(alerts: list[dict[str, Any]], monitor: str) -> list[dict[str, Any]]:
    [alert] = [a for a in alerts if a["monitor"] == monitor]
    notes: list[dict[str, Any]] = alert["details"]["notifications"]
    return notes


# --- webhooks ---------------------------------------------------------------------------


def test_a_webhook_the_settings_do_not_list_is_refused_and_nothing_is_stored(
    start_server: StartServer, workspace_dir: Path, hook: Hook
) -> None:
    server = _start(start_server, workspace_dir)
    url = f"{hook.base}/hooks/alerts"
    _refused(server, "ssrf", [{"type": "webhook", "url": url}], "notify[0].url")
    _refused(server, "ssrf", [{"type": "log"}, {"type": "webhook", "url": url}], "notify[1].url")
    with server.client() as http:
        assert http.get("/api/v1/monitors").json()["items"] == []
    assert hook.requests == []


def test_lookalikes_of_an_allowed_prefix_are_refused(
    start_server: StartServer, workspace_dir: Path, hook: Hook
) -> None:
    port = hook.server.server_address[1]
    allowed = [f"{hook.base}/hooks/", "https://hooks.slack.com", "https://chat.example/svc"]
    server = _start(start_server, workspace_dir, **{"monitoring.webhook_urls": allowed})
    lookalikes = [
        "https://hooks.slack.com.evil.example/services/x",  # passes a string prefix
        "https://hooks.slack.com@evil.example/",
        "https://hooks.slack.com:444/services/x",
        "http://hooks.slack.com/services/x",
        "https://chat.example/svc-evil/x",  # passes a string prefix
        "https://chat.example/svc/%2e%2e/admin",
        f"{hook.base}/hooks/../admin",
        f"{hook.base}/hooks/%2E%2E/admin",
        f"http://127.0.0.1:{port}\\@evil.example/hooks/x",
        f"http://localhost:{port}/hooks/x",
        f"http://127.0.0.1:{free_port()}/hooks/x",
        f"http://user:pw@127.0.0.1:{port}/hooks/x",
        f"ftp://127.0.0.1:{port}/hooks/x",
        f"{hook.base}/hooks",
    ]
    for url in lookalikes:
        _refused(server, "lookalike", [{"type": "webhook", "url": url}], "notify[0].url")
    assert hook.requests == []


def test_an_allowed_webhook_is_delivered_and_neither_redirects_nor_answers_come_back(
    start_server: StartServer, workspace_dir: Path, hook: Hook, listener: Listener
) -> None:
    _write_logs(workspace_dir)
    hook.redirect_to = f"http://127.0.0.1:{listener.port}/internal"
    server = _start(start_server, workspace_dir, **{"monitoring.webhook_urls": [hook.base]})
    with server.client() as http:
        for name, path in [("slack", "/hooks/alerts"), ("bounce", "/hooks/redirect")]:
            notify = [{"type": "webhook", "url": f"{hook.base}{path}", "timeout_s": 5}]
            answer = http.post("/api/v1/monitors", json=_monitor(name, notify))
            assert answer.status_code == 201, answer.text
    alerts = _fire(server)
    delivered = sorted(path for path, _ in hook.requests)
    assert delivered == ["/hooks/alerts", "/hooks/redirect"]
    body = dict(hook.requests)["/hooks/alerts"]
    assert body["text"] == "[FIRING] data_drift on demo"
    assert _notifications(alerts, "slack")[0]["ok"] is True
    [bounced] = _notifications(alerts, "bounce")
    assert bounced["ok"] is False and "answered 302" in bounced["error"]
    assert listener.connections == 0  # the redirect was not followed
    with server.client() as http:
        assert ANSWER not in http.get("/api/v1/alerts").text
    assert ANSWER not in server.log()


# --- email ------------------------------------------------------------------------------


SMTP_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"host": "127.0.0.1"}, "notify[0].host"),
    ({"port": 2525}, "notify[0].port"),
    ({"username": "mallory"}, "notify[0].username"),
    ({"starttls": False}, "notify[0].starttls"),
    ({"sender": "ceo@example.org"}, "notify[0].sender"),
    ({"host": "127.0.0.1", "port": 2525, "username": "mallory"}, "notify[0].host"),
    ({"password": "x"}, "notify[0].password"),
]


def test_an_email_channel_naming_its_own_smtp_server_is_refused(
    start_server: StartServer, workspace_dir: Path, smtp: Smtp, rogue_smtp: Smtp
) -> None:
    _write_logs(workspace_dir)
    server = _start(
        start_server,
        workspace_dir,
        **{
            "monitoring.smtp_host": "127.0.0.1",
            "monitoring.smtp_port": smtp.port,
            "monitoring.smtp_username": "pomona",
            "monitoring.smtp_password": PASSWORD,
            "monitoring.email_domains": ["example.org"],
        },
    )
    for chosen, named in SMTP_FIELDS:
        attack: dict[str, Any] = {"type": "email", "to": ["ops@example.org"], **chosen}
        if "port" in chosen:
            attack["port"] = rogue_smtp.port
        _refused(server, "leak", [attack], named)
    for outside in ["ops@evil.example", "ops@example.org.evil.example", "a@example.org, b@x.io"]:
        _refused(server, "leak", [{"type": "email", "to": [outside]}], "notify[0].to")
    with pomona.connect(server.url) as ws:  # recipients only: the server's SMTP is used
        with pytest.raises(InvalidInputError, match="recipients only"):
            ws.monitors.create("demo", name="leak", notify=[Email(("ops@example.org",), port=25)])
        ws.monitors.create(
            "demo",
            name="mail",
            window="1h",
            reference=f"window:{T0}",
            retrain=False,
            notify=[Email(("ops@example.org",))],
        )
    alerts = _fire(server)
    assert _notifications(alerts, "mail")[0]["ok"] is True
    [message] = smtp.messages
    assert message.rcpt_tos == ["ops@example.org"]
    assert smtp.logins == [(b"pomona", PASSWORD.encode())]
    assert rogue_smtp.sessions == 0 and rogue_smtp.logins == []


# --- rows stored before the fix --------------------------------------------------------


def test_monitors_stored_before_the_fix_are_refused_when_their_alert_fires(
    start_server: StartServer,
    workspace_dir: Path,
    hook: Hook,
    smtp: Smtp,
    rogue_smtp: Smtp,
) -> None:
    _write_logs(workspace_dir)
    with pomona.connect(workspace_dir) as ws:  # what an API client could store before
        ws.monitors.create(
            "demo",
            name="old-hook",
            window="1h",
            reference=f"window:{T0}",
            retrain=False,
            notify=[Webhook(f"{hook.base}/hooks/alerts"), Log()],
        )
        rogue = Email(
            ("ops@example.org",), host="127.0.0.1", port=rogue_smtp.port, username="mallory"
        )
        ws.monitors.create(
            "demo",
            name="old-mail",
            window="1h",
            reference=f"window:{T0}",
            retrain=False,
            notify=[
                rogue,
                Email(  # every field, as rows were stored before
                    ("ops@example.org",),
                    host="127.0.0.1",
                    port=rogue_smtp.port,
                    sender="pomona@localhost",
                    starttls=False,
                ),
                Email(("ops@evil.example",)),
            ],
        )
    server = _start(
        start_server,
        workspace_dir,
        **{
            "monitoring.smtp_host": "127.0.0.1",
            "monitoring.smtp_port": smtp.port,
            "monitoring.smtp_password": PASSWORD,
            "monitoring.email_domains": ["example.org"],
        },
    )
    alerts = _fire(server)
    hook_notes = _notifications(alerts, "old-hook")
    assert [n["ok"] for n in hook_notes] == [False, True]
    assert "monitoring.webhook_urls" in hook_notes[0]["error"]
    mail_notes = _notifications(alerts, "old-mail")
    assert [n["ok"] for n in mail_notes] == [False, False, False]
    assert all("Refused" in n["error"] for n in mail_notes[:2])
    assert "monitoring.email_domains" in mail_notes[2]["error"]
    assert hook.requests == []
    assert rogue_smtp.sessions == 0 and rogue_smtp.logins == []
    assert smtp.messages == [] and smtp.logins == []
    assert server.log().count("notification failed") == 4
    assert PASSWORD not in server.log()


def test_destinations_the_owner_declares_in_pomona_toml_are_trusted(
    start_server: StartServer, workspace_dir: Path, hook: Hook, smtp: Smtp
) -> None:
    _write_logs(workspace_dir)
    declared = {
        "deployment": "demo",
        "name": "owned",
        "window": "1h",
        "reference": f"window:{T0}",
        "retrain": False,
        "log": False,
        "webhooks": [f"{hook.base}/hooks/owner"],
        "email_to": ["farmer@elsewhere.example"],
        "smtp_port": smtp.port,
        "smtp_username": "owner",
    }
    server = _start(
        start_server,
        workspace_dir,
        **{"monitors": [declared], "monitoring.smtp_password": PASSWORD},
    )
    notes = _notifications(_fire(server), "owned")
    assert [n["ok"] for n in notes] == [True, True], notes
    assert [path for path, _ in hook.requests] == ["/hooks/owner"]
    [message] = smtp.messages
    assert message.rcpt_tos == ["farmer@elsewhere.example"]
    assert smtp.logins == [(b"owner", PASSWORD.encode())]
    _refused(server, "copy", [{"type": "email", "to": ["x@elsewhere.example"]}], "notify[0].to")
