"""The HTTP server: REST API under /api/v1, health, Prometheus metrics, dashboard."""

from __future__ import annotations

from pomona.server.app import create_app
from pomona.server.main import is_loopback, serve

__all__ = ["create_app", "is_loopback", "serve"]
