"""Templates: one Jinja2 environment (autoescape on) and the page shell's navigation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.responses import HTMLResponse

from pomona.dashboard._format import fmt_bytes, fmt_duration, fmt_time, fmt_value
from pomona.errors import PomonaError

__all__ = ["NAV", "NavItem", "error_page", "render"]

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


def render(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; ``context`` needs ``title`` and ``active`` (the nav key)."""
    html = _environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def error_page(exc: PomonaError) -> HTMLResponse:
    """The error's message and hint as a page, with the error's HTTP status."""
    title = "Not found" if exc.http_status == 404 else "Something is wrong"
    return render("error.html", status=exc.http_status, title=title, active="", error=exc)
