"""Where alert notifications go: a webhook (Slack-compatible JSON), email over SMTP, the log.

A channel is configuration only (it is stored with its monitor); ``send`` delivers one
notification and raises ``BackendError`` when the receiver cannot be reached or refuses.
An email channel names its recipients and, optionally, its own SMTP server; the fields it
leaves out come from the workspace's ``monitoring.smtp_*`` settings (an ``SmtpServer``).
Secrets (the SMTP password) are never stored: they travel only in the ``SmtpServer``
passed to ``send``. Where a notification may go is decided before ``send`` by
``NotifyPolicy`` (``pomona.monitoring._destinations``).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any, ClassVar

from pomona.errors import BackendError, InvalidInputError

__all__ = [
    "Channel",
    "Email",
    "Log",
    "Notification",
    "SmtpServer",
    "Webhook",
    "channel_from_json",
    "redacted_url",
    "send",
]

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
    """Send an email to ``to`` through an SMTP server (STARTTLS and login when configured).

    ``host``, ``port``, ``sender``, ``starttls`` and ``username`` left as ``None`` come from
    the workspace's ``monitoring.smtp_*`` settings when the notification is sent; a server
    accepts none of them from API clients.
    """

    to: tuple[str, ...]
    host: str | None = None
    port: int | None = None
    sender: str | None = None
    starttls: bool | None = None
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
        if self.port is not None and not 0 < int(self.port) < 65536:
            raise InvalidInputError("SMTP port must be 1-65535.", details={"field": "notify.port"})

    def to_json(self) -> dict[str, Any]:
        """The channel's JSON; fields left to the settings (``None``) are left out."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        return {"type": self.type, **out, "to": list(self.to)}


@dataclass(frozen=True)
class SmtpServer:
    """An SMTP server and its login: ``monitoring.smtp_*``, or a ``[[monitors]]`` entry's.

    ``password`` is never stored with a monitor nor shown in a ``repr``.
    """

    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "pomona@localhost"
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)

    def through(self, channel: Email) -> SmtpServer:
        """The server ``channel`` sends through: its own fields, these for the ones it
        leaves out (the login only on this host and port); without a password (the
        policy decides whether it gets one)."""
        host = self.host if channel.host is None else channel.host
        port = self.port if channel.port is None else int(channel.port)
        here = (host.lower(), port) == (self.host.lower(), self.port)
        return SmtpServer(
            host=host,
            port=port,
            sender=self.sender if channel.sender is None else channel.sender,
            starttls=self.starttls if channel.starttls is None else bool(channel.starttls),
            username=channel.username or (self.username if here else None),
        )

    def same_login(self, other: SmtpServer) -> bool:
        """Whether ``other`` connects and logs in as this does (host, port, STARTTLS, user)."""
        return (self.host.lower(), self.port, self.starttls, self.username) == (
            other.host.lower(),
            other.port,
            other.starttls,
            other.username,
        )


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


def send(channel: Channel, note: Notification, *, smtp: SmtpServer | None = None) -> None:
    """Deliver ``note`` on ``channel``; an email goes through ``smtp`` (default: the
    channel's own fields over ``SmtpServer()``'s, no password).

    Raises:
        BackendError: the webhook or SMTP server could not be reached or refused it.
    """
    if isinstance(channel, Webhook):
        _webhook(channel, note)
    elif isinstance(channel, Email):
        _email(channel, note, smtp if smtp is not None else SmtpServer().through(channel))
    else:
        level = logging.INFO if note.state == "resolved" else logging.WARNING
        log.log(level, "%s: %s", note.title, note.text)


def redacted_url(url: str) -> str:
    """``scheme://host[:port]/…``: a webhook's path often holds its secret (Slack's does)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme}://{host}{port}/…"


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

    where = redacted_url(channel.url)
    try:  # redirects are not followed; the answer's body is never read
        with httpx.stream(
            "POST",
            channel.url,
            json=slack_body(note),
            timeout=_seconds(channel.timeout_s, 5.0),
            follow_redirects=False,
        ) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        raise BackendError(
            f"The webhook {where} cannot be reached ({type(exc).__name__}).",
            hint="Check the URL and that the receiver is up.",
        ) from exc
    if status >= 300:
        raise BackendError(
            f"The webhook {where} answered {status}.",
            hint="Check the webhook's URL and what it accepts (redirects are not followed).",
        )


def _email(channel: Email, note: Notification, smtp: SmtpServer) -> None:
    message = EmailMessage()
    lines = [note.text, "", *(f"{k}: {v}" for k, v in note.fields.items())]
    if note.url:
        lines += ["", note.url]
    where = f"{smtp.host}:{smtp.port}"
    try:
        message["Subject"] = note.title
        message["From"] = smtp.sender
        message["To"] = ", ".join(channel.to)
        message.set_content("\n".join(lines))
    except ValueError as exc:  # a line break in an address: a header injection
        raise BackendError(
            f"Email to {len(channel.to)} recipient(s) via {where} not sent: {exc}.",
            hint="Give plain addresses (name@example.org) in 'to'.",
        ) from exc
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=_seconds(channel.timeout_s, 10.0)) as conn:
            if smtp.starttls:
                conn.starttls()
            if smtp.username:
                conn.login(smtp.username, smtp.password or "")
            conn.send_message(message, from_addr=smtp.sender, to_addrs=list(channel.to))
    except (OSError, smtplib.SMTPException) as exc:
        raise BackendError(
            f"Email to {', '.join(channel.to)} via {where} failed: {_why(exc)}.",
            hint="Check the SMTP host, port and login (monitoring.smtp_*).",
        ) from exc


def _seconds(value: object, default: float) -> float:
    """A timeout: ``value`` if it is one (more than 0, at most 5 minutes), else ``default``."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return seconds if 0 < seconds <= 300 else default


def _why(exc: Exception) -> str:
    """What went wrong, without the text a remote server answered."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (code {exc.smtp_code})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__} ({exc.strerror})"
    return type(exc).__name__
