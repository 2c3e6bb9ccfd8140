"""The machinery of ``pomona demo``: a story told against a real server (the same for
every scenario), the server process, and the customers sending requests."""

from __future__ import annotations

from pomona.examples._demo._server import DemoTimeoutError, demo_server, demo_settings, wait_for
from pomona.examples._demo._story import (
    DemoPlan,
    DemoSummary,
    Say,
    Scenario,
    demo_rules,
    run_story,
)
from pomona.examples._demo._traffic import Customers, TrafficResult

__all__ = [
    "Customers",
    "DemoPlan",
    "DemoSummary",
    "DemoTimeoutError",
    "Say",
    "Scenario",
    "TrafficResult",
    "demo_rules",
    "demo_server",
    "demo_settings",
    "run_story",
    "wait_for",
]
