"""``/login`` and ``/logout``: the dashboard's session cookie for the server's token.

``POST /login`` takes the token in a form field, checks it in constant time and sets the
session cookie (``HttpOnly``, ``SameSite=Lax``, ``Secure`` when the request came over
HTTPS, lifetime ``server.session_hours``), then sends the browser to ``next`` (a path on
this server only). ``POST /logout`` deletes the cookie.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from pomona._utils.principal import principal_of
from pomona.dashboard import login_page
from pomona.server._sessions import COOKIE, SessionSigner, safe_next

__all__ = ["login_router"]


def login_router(token: str | None, session_hours: float) -> APIRouter:
    """The login and logout routes; without a token there is nothing to log in to."""
    signer = None if token is None else SessionSigner(token, session_hours)
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    def login_form(request: Request, next: str = "/") -> Response:
        target = safe_next(next)
        if signer is None or principal_of(request).via in ("token", "session"):
            return RedirectResponse(target, status_code=303)
        return login_page(target)

    @router.post("/login")
    def login(
        request: Request, token_: str = Form("", alias="token"), next: str = Form("/")
    ) -> Response:
        target = safe_next(next)
        if signer is None or token is None:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(token_.encode(), token.encode()):
            return login_page(target, error="That is not this server's token.", status=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            signer.issue(),
            max_age=signer.max_age_s,
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="lax",
        )
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        response = RedirectResponse("/login" if signer is not None else "/", status_code=303)
        response.delete_cookie(
            COOKIE, path="/", secure=request.url.scheme == "https", httponly=True, samesite="lax"
        )
        return response

    return router
