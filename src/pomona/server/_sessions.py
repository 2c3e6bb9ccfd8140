"""The dashboard's login cookie: signed, expiring, and bound to the server's token.

A session cookie is ``<expiry>.<random id>.<mac>``: the expiry in Unix seconds, 16 random
bytes, and an HMAC-SHA256 over both with a key derived from the server's token. Nothing is
stored on the server, so every worker process accepts the cookies of the others; a cookie
stops working at its expiry and as soon as the server runs with another token (the key
changes). Logging out deletes the cookie from the browser.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit

__all__ = ["COOKIE", "SessionSigner", "safe_next"]

COOKIE = "pomona_session"
"""The name of the dashboard's session cookie."""

_KEY_LABEL = b"pomona dashboard session v1"


class SessionSigner:
    """Issues and checks session cookies for one token."""

    def __init__(self, token: str, hours: float) -> None:
        self._key = hmac.new(token.encode(), _KEY_LABEL, hashlib.sha256).digest()
        self.max_age_s = max(1, round(hours * 3600))

    def issue(self, now: float | None = None) -> str:
        """A new cookie value, valid for ``max_age_s`` from ``now``."""
        expires = int(now if now is not None else time.time()) + self.max_age_s
        payload = f"{expires}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._mac(payload)}"

    def valid(self, value: str, now: float | None = None) -> bool:
        """Whether ``value`` was issued with this token and has not expired."""
        expires, _, rest = value.partition(".")
        session_id, _, mac = rest.partition(".")
        if not (expires.isdigit() and session_id and mac):
            return False
        if not hmac.compare_digest(mac, self._mac(f"{expires}.{session_id}")):
            return False
        return int(expires) > (now if now is not None else time.time())

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this server (``/runs?x=1``), otherwise ``/``.

    Refuses everything a browser could take to another site: absolute and scheme-relative
    URLs (``//evil.example``), backslashes (``/\\evil.example``), whitespace and control
    characters.
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value
