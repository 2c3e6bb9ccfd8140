"""Composition: reads configuration, builds the backends, wires the services."""

from __future__ import annotations

from pomona.client.connect import (
    GcResult,
    UpgradeResult,
    connect,
    gc,
    init_workspace,
    upgrade_database,
)
from pomona.client.workspace import Workspace

__all__ = [
    "GcResult",
    "UpgradeResult",
    "Workspace",
    "connect",
    "gc",
    "init_workspace",
    "upgrade_database",
]
