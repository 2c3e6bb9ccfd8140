"""Where alert notifications may go: the allow-lists of the workspace's settings.

``NotifyPolicy.from_api`` is what a server accepts from API clients, ``check`` what is
verified each time a notification is sent:

- a webhook's URL must fall under a prefix of ``monitoring.webhook_urls`` (scheme, host,
  port and path compared after parsing it as the sender does; the path on a segment
  boundary; no user info, no ``.``/``..`` segments) or be a ``[[monitors]]`` webhook of
  pomona.toml, which the owner wrote;
- an email's recipients must be in ``monitoring.email_domains`` (or a ``[[monitors]]``
  entry's ``email_to``); API clients choose the recipients only: the SMTP server, port,
  sender, STARTTLS and login are the settings' (``monitoring.smtp_*``);
- the SMTP password goes only through an SMTP configuration the settings name
  (``monitoring.smtp_*`` or a ``[[monitors]]`` entry's): host, port, STARTTLS, user.

A server checks every notification when it sends it (``server_side``), whoever stored the
monitor, so rows stored before these settings existed reach allowed destinations only.
An embedded process (``pomona.connect()``) sends what its own monitors name, except that
webhooks are checked once ``monitoring.webhook_urls`` is set and recipients once
``monitoring.email_domains`` is set; the password rule holds everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import unquote

from pomona.errors import ConfigError, InvalidInputError
from pomona.monitoring.notify import (
    Channel,
    Email,
    SmtpServer,
    Webhook,
    channel_from_json,
    redacted_url,
)

__all__ = ["MAX_CHANNELS", "MAX_TIMEOUT_S", "NotifyPolicy"]

MAX_CHANNELS = 20
"""Most notification channels one monitor sent over the API may have."""
MAX_RECIPIENTS = 50
MAX_TIMEOUT_S = 30.0
"""Longest delivery timeout an API client may ask for (the runner waits on it)."""

_PORTS = {"http": 80, "https": 443}
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+)$"
)
_SMTP_FIELDS = ("host", "port", "sender", "starttls", "username")
_EMAIL_KEYS = frozenset({"type", "to", "timeout_s", *_SMTP_FIELDS})
_WEBHOOK_KEYS = frozenset({"type", "url", "timeout_s"})


@dataclass(frozen=True)
class _Target:
    """Where a URL sends a request, as httpx (the sender) parses it."""

    scheme: str
    host: str
    port: int
    path: str

    def under(self, prefix: _Target) -> bool:
        if (self.scheme, self.host, self.port) != (prefix.scheme, prefix.host, prefix.port):
            return False
        base = prefix.path if prefix.path.endswith("/") else f"{prefix.path}/"
        return self.path == prefix.path or self.path.startswith(base)


def _target(url: object) -> _Target:
    """Raises ValueError saying why ``url`` is not a plain http(s) URL."""
    import httpx

    if not isinstance(url, str):
        raise ValueError("not a string")
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        raise ValueError("it holds spaces, control characters or backslashes")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from None
    if parsed.scheme not in _PORTS:
        raise ValueError("only http:// and https:// URLs are sent to")
    if parsed.userinfo:
        raise ValueError("user info (user:password@) is not allowed")
    if not parsed.host:
        raise ValueError("it has no host")
    path = parsed.raw_path.split(b"?", 1)[0].decode("ascii") or "/"
    if any(segment in (".", "..") for segment in unquote(path).split("/")):
        raise ValueError("'.' and '..' path segments are not allowed")
    return _Target(parsed.scheme, parsed.host.lower(), parsed.port or _PORTS[parsed.scheme], path)


def _prefixes(urls: Sequence[str]) -> tuple[_Target, ...]:
    out = []
    for i, url in enumerate(urls):
        try:
            if "?" in url or "#" in url:
                raise ValueError("a prefix has no query or fragment")
            out.append(_target(url))
        except ValueError as exc:
            raise ConfigError(
                f"monitoring.webhook_urls[{i}] ({url!r}) is not a webhook URL prefix: {exc}.",
                hint="List prefixes such as 'https://hooks.slack.com/services/'.",
                details={"field": "monitoring.webhook_urls"},
            ) from None
    return tuple(out)


def _refused(message: str, hint: str, field: str) -> InvalidInputError:
    return InvalidInputError(message, hint=hint, details={"field": field})


@dataclass(frozen=True)
class NotifyPolicy:
    """Which notification destinations the workspace's settings allow (module docstring).

    Args:
        smtp: ``monitoring.smtp_*``: the SMTP server of email channels (its password too).
        webhook_urls: ``monitoring.webhook_urls``, URL prefixes.
        email_domains: ``monitoring.email_domains``.
        declared_webhooks, declared_recipients, declared_smtp: what the ``[[monitors]]``
            entries of pomona.toml name (trusted: the owner wrote them).
        server_side: check every notification when it is sent (a server's policy).
    """

    smtp: SmtpServer = field(default_factory=SmtpServer)
    webhook_urls: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    declared_webhooks: frozenset[str] = frozenset()
    declared_recipients: frozenset[str] = frozenset()
    declared_smtp: tuple[SmtpServer, ...] = ()
    server_side: bool = False
    _prefixes: tuple[_Target, ...] = field(init=False, repr=False, compare=False)
    _domains: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prefixes", _prefixes(self.webhook_urls))
        domains = frozenset(d.strip().lstrip("@").lower() for d in self.email_domains)
        object.__setattr__(self, "_domains", domains - {""})
        recipients = frozenset(a.lower() for a in self.declared_recipients)
        object.__setattr__(self, "declared_recipients", recipients)

    def for_server(self) -> NotifyPolicy:
        """This policy, checking every notification when it is sent."""
        return replace(self, server_side=True)

    # --- what a server accepts from API clients ------------------------------------------

    def from_api(self, notify: Sequence[Any]) -> tuple[Channel, ...]:
        """The channels of a monitor an API client sends, if the settings allow them.

        Raises:
            InvalidInputError: a destination the settings do not allow, a field the client
                may not choose; ``details["field"]`` names it (``notify[0].url``).
        """
        if len(notify) > MAX_CHANNELS:
            raise _refused(
                f"A monitor has at most {MAX_CHANNELS} notification channels.",
                "Send fewer channels.",
                "notify",
            )
        channels: list[Channel] = []
        for i, data in enumerate(notify):
            where = f"notify[{i}]"
            if not isinstance(data, Mapping):
                raise _refused(f"{where} is not an object.", 'Send {"type": …}.', where)
            if data.get("type") == "webhook":
                self._api_fields(data, _WEBHOOK_KEYS, where)
                self._webhook_allowed(data.get("url"), f"{where}.url")
            elif data.get("type") == "email":
                self._api_email(data, where)
            try:
                channels.append(channel_from_json(data))
            except InvalidInputError as exc:
                raise _refused(exc.message, exc.hint or "Fix the channel.", where) from exc
        return tuple(channels)

    def _api_fields(self, data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
        unknown = sorted(str(k) for k in data if k not in allowed)
        if unknown:
            raise _refused(
                f"{where}.{unknown[0]} is not a field of a {data.get('type')} channel.",
                f"Its fields are {', '.join(sorted(allowed - {'type'}))}.",
                f"{where}.{unknown[0]}",
            )
        timeout = data.get("timeout_s")
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float)
            or not 0 < timeout <= MAX_TIMEOUT_S
        ):
            raise _refused(
                f"{where}.timeout_s must be more than 0 and at most {MAX_TIMEOUT_S:g} seconds.",
                "Leave it out for the default.",
                f"{where}.timeout_s",
            )

    def _api_email(self, data: Mapping[str, Any], where: str) -> None:
        self._api_fields(data, _EMAIL_KEYS, where)
        chosen = [k for k in _SMTP_FIELDS if data.get(k) is not None]
        if chosen:
            raise _refused(
                f"{where}.{chosen[0]}: an email channel sent to a server names its recipients "
                "only; the SMTP server, port, sender, STARTTLS and login are the server's "
                "(monitoring.smtp_*).",
                "Leave out host, port, sender, starttls and username.",
                f"{where}.{chosen[0]}",
            )
        to = data.get("to")
        addresses = [to] if isinstance(to, str) else to
        if not isinstance(addresses, list) or not 0 < len(addresses) <= MAX_RECIPIENTS:
            raise _refused(
                f"{where}.to must list 1 to {MAX_RECIPIENTS} addresses.",
                'Send "to": ["name@example.org"].',
                f"{where}.to",
            )
        for address in addresses:
            self._recipient_allowed(address, f"{where}.to")

    # --- what is checked when a notification is sent -------------------------------------

    def check(self, channel: Channel) -> SmtpServer | None:
        """Whether ``channel`` may be delivered now; for an email, the SMTP server to send
        through (with the password when the settings name that configuration).

        Raises:
            InvalidInputError: the destination is not allowed (the message says which
                setting allows it).
        """
        if isinstance(channel, Webhook):
            if self.server_side or self._prefixes:
                self._webhook_allowed(channel.url, "notify.url")
            return None
        if isinstance(channel, Email):
            if self.server_side or self._domains:
                for address in channel.to:
                    self._recipient_allowed(address, "notify.to")
            try:
                return self._smtp_for(channel)
            except InvalidInputError:
                raise
            except (AttributeError, TypeError, ValueError):  # a row an old version stored
                raise _refused(
                    "Refused: the email channel's SMTP fields are malformed.",
                    "Recreate the monitor.",
                    "notify",
                ) from None
        return None

    def _smtp_for(self, channel: Email) -> SmtpServer:
        wanted = self.smtp.through(channel)
        named = [s for s in (self.smtp, *self.declared_smtp) if s.same_login(wanted)]
        if self.server_side and not any(s.sender == wanted.sender for s in named):
            raise _refused(
                f"Refused: email via {wanted.host}:{wanted.port} (from {wanted.sender}): a "
                "server sends email only through the SMTP configuration of its settings.",
                "Set monitoring.smtp_host, smtp_port, smtp_sender, smtp_starttls and "
                "smtp_username (or declare the monitor in pomona.toml), then recreate the "
                "monitor without its own SMTP fields.",
                "notify.host",
            )
        if named:
            return replace(wanted, password=named[0].password)
        if wanted.username:
            raise _refused(
                f"Refused: the SMTP login to {wanted.host}:{wanted.port}: the password "
                "(monitoring.smtp_password) goes only through an SMTP configuration the "
                "settings name (host, port, STARTTLS and user of monitoring.smtp_* or of a "
                "[[monitors]] entry).",
                "Set monitoring.smtp_host and the other monitoring.smtp_* settings to this "
                "server, or leave the channel's SMTP fields out.",
                "notify.host",
            )
        return wanted

    def _webhook_allowed(self, url: object, field: str) -> None:
        if isinstance(url, str) and url in self.declared_webhooks:
            return
        try:
            target = _target(url)
        except ValueError as exc:
            raise _refused(
                f"{field}: not a webhook URL ({exc}).",
                "Give an http:// or https:// URL.",
                field,
            ) from None
        if any(target.under(p) for p in self._prefixes):
            return
        shown = redacted_url(str(url))
        if not self._prefixes:
            message = f"{field}: this server sends no webhooks to URLs that API clients name"
            message += f" ({shown}); monitoring.webhook_urls is empty."
        else:
            message = f"{field}: {shown} is not under any prefix of monitoring.webhook_urls."
        raise _refused(
            message,
            "The server's owner lists allowed URL prefixes in monitoring.webhook_urls "
            "(pomona.toml), e.g. 'https://hooks.slack.com/services/'.",
            field,
        )

    def _recipient_allowed(self, address: object, field: str) -> None:
        if isinstance(address, str) and address.lower() in self.declared_recipients:
            return
        match = _ADDRESS.match(address) if isinstance(address, str) else None
        if match is None:
            raise _refused(
                f"{field}: {address!r} is not a plain email address.",
                "Give addresses such as name@example.org.",
                field,
            )
        domain = match.group(1).lower()
        if domain in self._domains:
            return
        if not self._domains:
            message = f"{field}: this server sends no email to addresses that API clients "
            message += f"name ({domain}); monitoring.email_domains is empty."
        else:
            message = f"{field}: {domain} is not one of monitoring.email_domains."
        raise _refused(
            message,
            "The server's owner lists allowed recipient domains in monitoring.email_domains.",
            field,
        )
