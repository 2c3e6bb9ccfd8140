"""Where alert notifications go: a webhook (Slack-compatible JSON), email over SMTP, the log.

A channel is configuration only (it is stored with its monitor); ``send`` delivers one
notification and raises ``BackendError`` when the receiver cannot be reached or refuses.
Secrets (the SMTP password) are not stored: the caller passes them to ``send``.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any, ClassVar

from pomona.errors import BackendError, InvalidInputError

__all__ = ["Channel", "Email", "Log", "Notification", "Webhook", "channel_from_json", "send"]

log = logging.getLogger("pomona.alerts")

_COLORS = {"firing": "#dc2626", "resolved": "#16a34a", "pending": "#d97706"}


@dataclass(frozen=True)
class Notification:
    """One message about one alert changing state."""

    state: str
    title: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)
    alert: dict[str, Any] = field(default_factory=dict)
    url: str | None = None


@dataclass(frozen=True)
class Webhook:
    """POST a Slack-compatible JSON body (``text`` and ``attachments``) to ``url``."""

    url: str
    timeout_s: float = 5.0
    type: ClassVar[str] = "webhook"

    def __post_init__(self) -> None:
        if not isinstance(self.url, str) or not self.url.startswith(("http://", "https://")):
            raise InvalidInputError(
                f"A webhook URL must start with http:// or https://, got {self.url!r}.",
                details={"field": "notify.url"},
            )

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}


@dataclass(frozen=True)
class Email:
    """Send an email through an SMTP server (STARTTLS and login when configured)."""

    to: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "pomona@localhost"
    starttls: bool = False
    username: str | None = None
    timeout_s: float = 10.0
    type: ClassVar[str] = "email"

    def __post_init__(self) -> None:
        to = (self.to,) if isinstance(self.to, str) else tuple(self.to)
        if not to or not all(isinstance(a, str) and "@" in a for a in to):
            raise InvalidInputError(
                "An email channel needs at least one address in 'to'.",
                details={"field": "notify.to"},
            )
        object.__setattr__(self, "to", to)
        if not 0 < int(self.port) < 65536:
            raise InvalidInputError("SMTP port must be 1-65535.", details={"field": "notify.port"})

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self), "to": list(self.to)}


@dataclass(frozen=True)
class Log:
    """Write the notification to the ``pomona.alerts`` log."""

    type: ClassVar[str] = "log"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type}


Channel = Webhook | Email | Log


def channel_from_json(data: Mapping[str, Any] | Channel) -> Channel:
    """A channel from its JSON (``{"type": "webhook", "url": …}``) or itself."""
    if isinstance(data, Webhook | Email | Log):
        return data
    kind = data.get("type")
    body = {k: v for k, v in data.items() if k != "type"}
    classes: dict[str, type[Webhook] | type[Email] | type[Log]] = {
        "webhook": Webhook,
        "email": Email,
        "log": Log,
    }
    cls = classes.get(str(kind))
    if cls is None:
        raise InvalidInputError(
            f"Unknown notification channel type {kind!r}: use webhook, email or log.",
            details={"field": "notify.type"},
        )
    try:
        return cls(**body)
    except TypeError as exc:
        raise InvalidInputError(
            f"Invalid {kind} channel: {exc}.", details={"field": "notify"}
        ) from exc


def send(channel: Channel, note: Notification, *, smtp_password: str | None = None) -> None:
    """Deliver ``note`` on ``channel``.

    Raises:
        BackendError: the webhook or SMTP server could not be reached or refused it.
    """
    if isinstance(channel, Webhook):
        _webhook(channel, note)
    elif isinstance(channel, Email):
        _email(channel, note, smtp_password)
    else:
        level = logging.INFO if note.state == "resolved" else logging.WARNING
        log.log(level, "%s: %s", note.title, note.text)


def slack_body(note: Notification) -> dict[str, Any]:
    """The webhook body: Slack's ``text`` + ``attachments``, and the alert under ``pomona``."""
    attachment: dict[str, Any] = {
        "color": _COLORS.get(note.state, "#4b5563"),
        "title": note.title,
        "text": note.text,
        "fields": [{"title": k, "value": v, "short": True} for k, v in note.fields.items()],
    }
    if note.url:
        attachment["title_link"] = note.url
    return {"text": note.title, "attachments": [attachment], "pomona": note.alert}


def _webhook(channel: Webhook, note: Notification) -> None:
    import httpx

    try:
        response = httpx.post(channel.url, json=slack_body(note), timeout=channel.timeout_s)
    except httpx.HTTPError as exc:
        raise BackendError(
            f"The webhook {channel.url} cannot be reached: {exc}.",
            hint="Check the URL and that the receiver is up.",
        ) from exc
    if response.status_code >= 300:
        raise BackendError(
            f"The webhook {channel.url} answered {response.status_code}: {response.text[:200]}",
            hint="Check the webhook's URL and what it accepts.",
        )


def _email(channel: Email, note: Notification, password: str | None) -> None:
    message = EmailMessage()
    message["Subject"] = note.title
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    lines = [note.text, "", *(f"{k}: {v}" for k, v in note.fields.items())]
    if note.url:
        lines += ["", note.url]
    message.set_content("\n".join(lines))
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_s) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username:
                smtp.login(channel.username, password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise BackendError(
            f"Email to {', '.join(channel.to)} via {channel.host}:{channel.port} failed: {exc}.",
            hint="Check the SMTP host, port and credentials (monitoring.smtp_password).",
        ) from exc
