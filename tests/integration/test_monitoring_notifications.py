"""Alert notifications against real receivers: a webhook on a local HTTP server (Slack's
JSON) and email through a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pomona.artifacts._factory import open_artifact_store
from pomona.metadata import open_metadata_store
from pomona.monitoring import Email, MonitoringService, Webhook
from pomona.monitoring._destinations import NotifyPolicy
from pomona.monitoring.notify import SmtpServer
from pomona.testing._servers import free_port
from pomona.testing.monitoring import StaticReferences, reference_frame, synthetic_log, write_log

HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR


class _Hook(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[_Hook]]]:
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", handler
    server.shutdown()
    server.server_close()


def _smtp_server() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server; its list records messages (envelopes) and logins (tuples)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    received: list[Any] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(envelope)
            return "250 Message accepted for delivery"

    def authenticate(server: Any, session: Any, envelope: Any, mech: str, data: Any) -> Any:
        if isinstance(data, LoginPassword):
            received.append((data.login, data.password))
        return AuthResult(success=True)

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield port, received
    controller.stop()


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    yield from _smtp_server()


@pytest.fixture
def other_smtp() -> Iterator[tuple[int, list[Any]]]:
    yield from _smtp_server()


def _service(
    tmp_path: Path, policy: NotifyPolicy | None = None
) -> tuple[MonitoringService, Any, Any]:
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    artifacts = open_artifact_store("memory://")
    service = MonitoringService(
        metadata,
        artifacts,
        references=StaticReferences(reference_frame()),
        cache_dir=tmp_path,
        notify_policy=policy,
    )
    return service, metadata, artifacts


def _hours(service: MonitoringService, metadata: Any, artifacts: Any, shifts: list[float]) -> None:
    for i, shift in enumerate(shifts):
        rows = synthetic_log(2000, T0 + i * HOUR, T0 + (i + 1) * HOUR, shift=shift, seed=i)
        write_log(metadata, artifacts, rows)
        now = datetime.fromtimestamp((T0 + (i + 1) * HOUR + 60_000) / 1000, UTC)
        service.run("demo", now=now)


def test_a_webhook_gets_slack_json_once_when_firing_and_once_when_resolved(
    tmp_path: Path, webhook: tuple[str, type[_Hook]]
) -> None:
    url, hook = webhook
    service, metadata, artifacts = _service(tmp_path)
    service.create("demo", window="1h", notify=[Webhook(url)])
    _hours(service, metadata, artifacts, [0.0, 1.0, 1.0, 0.0])
    assert len(hook.received) == 2
    firing, resolved = hook.received
    assert firing["text"] == "[FIRING] data_drift on demo"
    assert firing["attachments"][0]["color"] == "#dc2626"
    fields = {f["title"]: f["value"] for f in firing["attachments"][0]["fields"]}
    assert fields["rule"] == "data_drift" and fields["deployment"] == "demo"
    assert firing["pomona"]["state"] == "firing"
    assert resolved["text"] == "[RESOLVED] data_drift on demo"
    service.close()


def test_a_failing_webhook_is_recorded_and_does_not_stop_the_monitor(
    tmp_path: Path, webhook: tuple[str, type[_Hook]]
) -> None:
    url, hook = webhook
    hook.status = 500
    service, metadata, artifacts = _service(tmp_path)
    service.create("demo", window="1h", notify=[Webhook(url), Webhook("http://127.0.0.1:9/x")])
    _hours(service, metadata, artifacts, [1.0])
    (alert,) = service.alert_store.list_alerts(state="firing")
    sent = alert.details["notifications"]
    assert [s["ok"] for s in sent] == [False, False]
    assert "answered 500" in sent[0]["error"] and "cannot be reached" in sent[1]["error"]
    service.close()


def test_email_goes_through_a_real_smtp_server(tmp_path: Path, smtp: tuple[int, list[Any]]) -> None:
    port, messages = smtp
    service, metadata, artifacts = _service(tmp_path)
    channel = Email(("farmer@example.org", "ops@example.org"), host="127.0.0.1", port=port)
    service.create("demo", window="1h", notify=[channel])
    _hours(service, metadata, artifacts, [1.0, 0.0])
    assert len(messages) == 2
    first = message_from_bytes(messages[0].content)
    assert first["Subject"] == "[FIRING] data_drift on demo"
    assert messages[0].rcpt_tos == ["farmer@example.org", "ops@example.org"]
    assert "dataset_drift" in first.get_payload()
    assert message_from_bytes(messages[1].content)["Subject"] == "[RESOLVED] data_drift on demo"
    service.close()


def test_the_smtp_password_goes_only_through_the_configuration_the_settings_name(
    tmp_path: Path, smtp: tuple[int, list[Any]], other_smtp: tuple[int, list[Any]]
) -> None:
    port, received = smtp
    other_port, other_received = other_smtp
    named = SmtpServer("127.0.0.1", port, username="pomona", password="s3cret")
    service, metadata, artifacts = _service(tmp_path, NotifyPolicy(named))
    channels = [
        Email(("ops@example.org",)),  # the settings' server: logs in
        Email(("ops@example.org",), port=other_port, username="pomona"),  # refused
        Email(("ops@example.org",), port=port, username="pomona", starttls=False, sender="x@y"),
        Email(("ops@example.org",), port=other_port),  # embedded: its own server, no login
    ]
    service.create("demo", window="1h", notify=channels)
    _hours(service, metadata, artifacts, [1.0])
    (alert,) = service.alert_store.list_alerts(state="firing")
    sent = alert.details["notifications"]
    assert [s["ok"] for s in sent] == [True, False, True, True], sent
    assert "Refused: the SMTP login" in sent[1]["error"]
    logins = [r for r in received if isinstance(r, tuple)]
    assert logins == [(b"pomona", b"s3cret"), (b"pomona", b"s3cret")]
    assert [r for r in other_received if isinstance(r, tuple)] == []
    assert len(other_received) == 1 and other_received[0].rcpt_tos == ["ops@example.org"]
    service.close()


def test_embedded_monitors_are_checked_once_an_allow_list_is_set(
    tmp_path: Path, webhook: tuple[str, type[_Hook]], smtp: tuple[int, list[Any]]
) -> None:
    url, hook = webhook
    port, received = smtp
    policy = NotifyPolicy(
        SmtpServer("127.0.0.1", port),
        webhook_urls=(url.rsplit("/", 1)[0] + "/",),
        email_domains=("example.org",),
    )
    service, metadata, artifacts = _service(tmp_path, policy)
    channels: list[Webhook | Email] = [
        Webhook(url),
        Webhook("http://127.0.0.1:9/elsewhere"),
        Email(("ops@example.org", "ops@example.com")),
        Email(("ops@example.org",)),
    ]
    service.create("demo", window="1h", notify=channels)
    _hours(service, metadata, artifacts, [1.0])
    (alert,) = service.alert_store.list_alerts(state="firing")
    sent = alert.details["notifications"]
    assert [s["ok"] for s in sent] == [True, False, False, True], sent
    assert "monitoring.webhook_urls" in sent[1]["error"]
    assert "monitoring.email_domains" in sent[2]["error"]
    assert len(hook.received) == 1 and [m.rcpt_tos for m in received] == [["ops@example.org"]]
    service.close()
