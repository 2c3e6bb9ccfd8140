"""Server-rendered dashboard pages."""

from __future__ import annotations

from fastapi import FastAPI

from pomona.client.workspace import Workspace

__all__ = ["mount_dashboard"]


def mount_dashboard(app: FastAPI, ws: Workspace) -> None:
    """Mount the dashboard pages on ``app``."""
