"""Who may call the server, and from where: one pure ASGI middleware for every request.

- **Host allow-list** (``server.allowed_hosts``): a request whose ``Host`` names another
  machine gets 400, so a web page cannot reach a server on this machine by pointing its
  own domain at 127.0.0.1 (DNS rebinding). The health probes are exempt.
- **Credentials**: with a token configured, every route needs ``Authorization: Bearer
  <token>`` or the dashboard's session cookie (``/login``), except the health probes, the
  login page and, with ``server.metrics_public``, ``/metrics``. Pages redirect to the login
  page; everything else answers 401. Without a token every request is the local user.
- **Cross-site writes**: a POST/PUT/PATCH/DELETE whose ``Origin`` (or, without one,
  ``Sec-Fetch-Site`` or ``Referer``) is another site gets 403; one carrying the session
  cookie must show a same-origin ``Origin`` or ``Referer``. Clients that are not browsers
  (the SDK, curl) send neither header and are not affected.
- **Security headers** on every response: ``X-Frame-Options: DENY``, a
  ``Content-Security-Policy`` without inline script, ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin``.

The principal goes on ``scope["state"]`` once; routes read it with
``pomona._utils.principal.acting_user``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from fastapi import FastAPI
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pomona._utils.principal import ADMIN, LOCAL, SCOPE_KEY, Principal
from pomona.config import ServerSettings
from pomona.errors import ConfigError
from pomona.server._errors import error_response
from pomona.server._sessions import COOKIE, SessionSigner

__all__ = [
    "CSP",
    "MIN_TOKEN_CHARS",
    "PROBES",
    "bearer_matches",
    "check_token",
    "host_name",
    "install_auth",
]

MIN_TOKEN_CHARS = 32
TOKEN_HINT = (
    'Make one with: python -c "import secrets; print(secrets.token_urlsafe(32))" '
    "and set it as POMONA_TOKEN."
)
PROBES = frozenset({"/healthz", "/readyz", "/v2/health/live", "/v2/health/ready"})
"""Health probes: no credential, no Host check (load balancers and kubelets call them by
address, and they reveal nothing but a status)."""
_LOGIN = frozenset({"/login", "/logout", "/static/dashboard.css"})
_API_PREFIXES = ("/api/", "/v1/", "/v2/", "/static/", "/metrics", "/openapi.json")
_DOCS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""No inline or injected script. Styles may be inline only because plotly.js inserts its
stylesheet (modebar, hover labels) at run time; the dashboard's own pages have none."""
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_WITH_CSP = [*_HEADERS, (b"content-security-policy", CSP.encode())]

_TOKEN = Principal(ADMIN, "token")
_SESSION = Principal(ADMIN, "session")
_ANONYMOUS = Principal("anonymous", "anonymous")


def check_token(token: str | None) -> None:
    """Refuse a server token shorter than ``MIN_TOKEN_CHARS``.

    Raises:
        ConfigError: the token is too short to resist guessing.
    """
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"The server's token (POMONA_TOKEN) has {len(token)} characters; a server "
            f"needs at least {MIN_TOKEN_CHARS}.",
            hint=TOKEN_HINT,
        )


def bearer_matches(header: bytes | str | None, token: str) -> bool:
    """Whether an ``Authorization`` value is ``Bearer <token>`` (compared in constant time)."""
    if header is None:
        return False
    raw = header.encode() if isinstance(header, str) else header
    scheme, _, given = raw.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), token.encode())


def host_name(host: str) -> str:
    """The name part of a ``Host`` value, lower-case: ``[::1]:8000`` -> ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end > 0 else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class AuthGuard:
    """Pure ASGI middleware: Host allow-list, credentials, cross-site check, headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str | None,
        allowed_hosts: Iterable[str],
        metrics_public: bool,
        session_hours: float,
    ) -> None:
        self.app = app
        self.token = token
        self.sessions = None if token is None else SessionSigner(token, session_hours)
        names = {host_name(h) for h in allowed_hosts}
        self.any_host = "*" in names
        self.hosts = frozenset(names)
        self.public = PROBES | ({"/metrics"} if metrics_public else frozenset())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and self.token is not None:
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        send = _with_headers(send, _HEADERS if path in _DOCS else _WITH_CSP)
        state = scope.setdefault("state", {})
        if path in self.public:
            state[SCOPE_KEY] = _ANONYMOUS if self.token is not None else LOCAL
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        host = headers.get(b"host", b"").decode("latin-1")
        if not self.any_host and host_name(host) not in self.hosts:
            await _bad_host(host)(scope, receive, send)
            return
        cookie = _cookie(headers.get(b"cookie"))
        if scope["method"] not in _SAFE_METHODS and _cross_site(scope, headers, host, cookie):
            await _cross_site_refused()(scope, receive, send)
            return
        principal = self._authenticate(headers, cookie)
        if principal is None:
            if path not in _LOGIN:
                await _unauthenticated(scope)(scope, receive, send)
                return
            principal = _ANONYMOUS
        state[SCOPE_KEY] = principal
        await self.app(scope, receive, send)

    def _authenticate(self, headers: dict[bytes, bytes], cookie: str | None) -> Principal | None:
        if self.token is None:
            return LOCAL
        authorization = headers.get(b"authorization")
        if authorization is not None:  # a wrong token is refused even beside a good cookie
            return _TOKEN if bearer_matches(authorization, self.token) else None
        if cookie is not None and self.sessions is not None and self.sessions.valid(cookie):
            return _SESSION
        return None


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _ in headers}
            headers.extend(h for h in extra if h[0] not in present)
            message["headers"] = headers
        await send(message)

    return send_with_headers


def _cookie(header: bytes | None) -> str | None:
    """The session cookie's value in a ``Cookie`` header, if any."""
    if not header:
        return None
    for part in header.decode("latin-1").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name == COOKIE:
            return value.strip().strip('"')
    return None


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL, or None (``null``, other schemes)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme]


def _cross_site(scope: Scope, headers: dict[bytes, bytes], host: str, cookie: str | None) -> bool:
    """Whether a write comes from a page of another site (see the module docstring)."""
    origin = headers.get(b"origin")
    if origin is None:
        if headers.get(b"sec-fetch-site") in (b"cross-site", b"same-site"):
            return True
        origin = headers.get(b"referer")
        if origin is None:  # the SDK and curl send neither: parse nothing on their requests
            return cookie is not None  # a browser with the session cookie names its page
    own = _origin(f"{scope.get('scheme', 'http')}://{host}")
    return own is None or _origin(origin.decode("latin-1")) != own


def _bad_host(host: str) -> Response:
    shown = host[:100] or "(none)"
    return error_response(
        400,
        "invalid_input",
        f"This server does not answer to the host name '{shown}'.",
        hint="Reach it by a name in server.allowed_hosts, or add the name there "
        "(POMONA_SERVER_ALLOWED_HOSTS='[\"ml.example.com\"]').",
        details={"field": "Host"},
    )


def _cross_site_refused() -> Response:
    return error_response(
        403,
        "forbidden",
        "This request comes from a page of another site, and changes nothing here.",
        hint="Use the dashboard's own pages, or call the API without a browser.",
        details={"field": "Origin"},
    )


def _unauthenticated(scope: Scope) -> Response:
    path: str = scope["path"]
    if not path.startswith(_API_PREFIXES) and path != "/v2":
        if scope["method"] not in ("GET", "HEAD"):
            return RedirectResponse("/login", status_code=303)
        raw = scope.get("raw_path") or path.encode()
        target = raw.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return error_response(
        401,
        "unauthorized",
        "This server needs a credential for every request.",
        hint="Send 'Authorization: Bearer <token>' (the SDK sends POMONA_TOKEN), "
        "or log in to the dashboard at /login.",
        headers={"WWW-Authenticate": "Bearer"},
    )


def install_auth(app: FastAPI, token: str | None, settings: ServerSettings) -> None:
    """Add the auth middleware to ``app`` (inside the request-id and metrics middleware)."""
    check_token(token)
    app.add_middleware(
        AuthGuard,
        token=token,
        allowed_hosts=settings.allowed_hosts,
        metrics_public=settings.metrics_public,
        session_hours=settings.session_hours,
    )
