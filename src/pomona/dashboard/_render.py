"""Templates: one Jinja2 environment (autoescape on), the page shell's navigation, and who
is signed in (shown with a logout button in the header)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pomona._utils.principal import principal_of
from pomona.dashboard._format import fmt_bytes, fmt_duration, fmt_time, fmt_value
from pomona.errors import PomonaError

__all__ = ["NAV", "NavItem", "error_page", "login_page", "note_viewer", "render"]

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class NavItem:
    """One entry of the header navigation."""

    key: str
    label: str
    href: str


# Datasets, Models, Deployments and Monitoring join here when their pages exist.
NAV: tuple[NavItem, ...] = (
    NavItem("runs", "Runs", "/runs"),
    NavItem("datasets", "Datasets", "/datasets"),
    NavItem("features", "Features", "/features"),
    NavItem("pipelines", "Pipelines", "/pipelines"),
    NavItem("models", "Models", "/models"),
    NavItem("studies", "Studies", "/studies"),
    NavItem("evaluations", "Evaluations", "/evaluations"),
    NavItem("deployments", "Deployments", "/deployments"),
    NavItem("monitors", "Monitors", "/monitors"),
    NavItem("alerts", "Alerts", "/alerts"),
)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(time=fmt_time, duration=fmt_duration, value=fmt_value, bytes=fmt_bytes)
    env.globals["nav"] = NAV
    return env


_viewer: ContextVar[str | None] = ContextVar("pomona_dashboard_viewer", default=None)


async def note_viewer(request: Request) -> None:
    """A dependency of every page: remember who signed in with the login cookie, for the
    header (async, so the value is set in the request's context the page renders in)."""
    principal = principal_of(request)
    _viewer.set(principal.name if principal.via == "session" else None)


def render(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; ``context`` needs ``title`` and ``active`` (the nav key)."""
    context.setdefault("viewer", _viewer.get())
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def error_page(exc: PomonaError) -> HTMLResponse:
    """The error's message and hint as a page, with the error's HTTP status."""
    title = "Not found" if exc.http_status == 404 else "Something is wrong"
    return render("error.html", status=exc.http_status, title=title, active="", error=exc)


def login_page(next_path: str, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    """The login form; after logging in the browser goes to ``next_path``."""
    return render(
        "login.html", status=status, title="Log in", active="", next=next_path, error=error
    )
