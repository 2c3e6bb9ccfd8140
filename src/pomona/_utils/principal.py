"""Who sends a request to a server: the principal its credential names.

The server's auth middleware (``pomona.server._auth``) resolves the credential once per
request and puts the principal on the ASGI scope's state; routes and dashboard forms read
it with ``acting_user`` and never take the acting user from a form or body field.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = [
    "ADMIN",
    "IGNORED_ACTOR",
    "LOCAL",
    "SCOPE_KEY",
    "Principal",
    "acting_user",
    "principal_of",
]

SCOPE_KEY = "principal"
"""The key of the principal in ``scope["state"]``."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts as, and how it proved it.

    ``via`` is ``token`` (``Authorization: Bearer``), ``session`` (the dashboard's login
    cookie), ``none`` (the server has no credential configured: everyone on the machine
    is the local user) or ``anonymous`` (a public route reached without a credential).
    """

    name: str
    via: Literal["token", "session", "none", "anonymous"]


LOCAL = Principal("local", "none")
"""The principal of every request to a server without a credential (the laptop default)."""

ADMIN = "admin"
"""The name of the workspace-admin principal of ``POMONA_TOKEN``."""

IGNORED_ACTOR = (
    "Ignored, accepted for older clients: the server records the principal of the "
    "request's credential ('admin' for POMONA_TOKEN, 'local' without one)."
)
"""The description of the ``actor``/``by`` body fields a server no longer trusts."""


class _HasScope(Protocol):
    @property
    def scope(self) -> MutableMapping[str, Any]: ...


def principal_of(request: _HasScope) -> Principal:
    """The request's principal, as the auth middleware resolved it.

    A request that did not pass through the middleware (an app assembled without it has no
    credentials to check) is the local user.
    """
    state = request.scope.get("state") or {}
    principal = state.get(SCOPE_KEY)
    return principal if isinstance(principal, Principal) else LOCAL


def acting_user(request: _HasScope) -> str:
    """The name to record as the actor of a request's change (``admin``, ``local`` …)."""
    return principal_of(request).name
