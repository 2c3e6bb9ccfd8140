"""A demo's story, end to end, against a real server: the same for every scenario.

Day 0 the scenario's data becomes a dataset and a champion (its training pipeline); the
champion is deployed with a monitor. Day 1 traffic looks like the training data: no
alert. Day 2 it has moved; new labelled data lands in the source; the true labels of
day 2's answers arrive late: alerts fire, the monitor's trigger starts the retraining
pipeline in the server, whose canary is promoted on evidence from day 3's traffic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from pomona.examples._demo._server import wait_for
from pomona.examples._demo._traffic import Customers

__all__ = ["DemoPlan", "DemoSummary", "Say", "Scenario", "demo_rules", "run_story"]

Say = Callable[[str, str], None]


@dataclass(frozen=True)
class DemoPlan:
    """How big the story is."""

    rows: int
    day_requests: int
    labelled: int
    window_s: int
    n_trials: int
    folds: int
    min_accuracy: float
    canary_steps: tuple[int, ...] = (25, 50, 100)
    canary_interval_s: float = 4.0
    min_samples: int = 40
    min_feedback: int = 25
    max_p99_ratio: float = 3.0
    """The demo's machine is busy (the retraining, the traffic, often tests): latency is
    noisy there, so the canary tolerates a slower challenger than production would."""
    seed: int = 0
    timeout_s: float = 240.0


class Scenario(Protocol):
    """What a story is about: its data, pipelines, traffic and alert rules."""

    name: str
    dataset: str
    model: str
    deployment: str
    train_pipeline: Any
    retrain_target: str
    target_accuracy: float
    """The accuracy a model must reach to ship (the project's target, for the gates)."""

    def plan(self, quick: bool) -> DemoPlan: ...

    def write_day0(self, folder: Path, plan: DemoPlan) -> tuple[Path, str]:
        """Write the day-0 data; the source to ingest and what was written."""

    def add_labelled(self, source: Path, plan: DemoPlan) -> str:
        """Add labelled data of the day-2 kind to the source; what was added."""

    def requests(
        self, day: int, n: int, *, seed: int, start: int = 0
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """``n`` request bodies of day ``day`` (1: like day 0; 2 and 3: moved) and their
        true labels."""

    def rules(self, plan: DemoPlan) -> list[Any]:
        """The monitor's alert rules."""

    def describe(self, day: int) -> str:
        """The day's traffic, in a few words."""


@dataclass
class DemoSummary:
    """What happened, step by step (``rows``: step, what, evidence), and the end state."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    champion: str = ""
    alerts: list[str] = field(default_factory=list)
    retrain_run: str | None = None
    challenger: str | None = None
    decisions: list[str] = field(default_factory=list)
    served_after: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, step: str, what: str, evidence: str) -> None:
        self.rows.append((step, what, evidence))


@dataclass
class _Story:
    ws: Any
    url: str
    scenario: Scenario
    plan: DemoPlan
    say: Say
    summary: DemoSummary = field(default_factory=DemoSummary)

    @property
    def monitor(self) -> str:
        return self.scenario.deployment


def run_story(
    ws: Any, base_url: str, folder: Path, scenario: Scenario, plan: DemoPlan, say: Say
) -> DemoSummary:
    """Run the whole story against the server at ``base_url`` serving ``ws``'s workspace."""
    from pomona.examples._demo import _chapters as ch

    started = time.monotonic()
    story = _Story(ws, base_url, scenario, plan, say)
    source = ch.day0(story, folder)
    ch.deploy(story)
    customers = Customers(base_url, scenario.deployment)
    try:
        ch.day1(story, customers)
        ch.day2(story, customers, source)
        ch.retraining(story)
        ch.canary(story, customers)
    finally:
        customers.close()
    story.summary.seconds = time.monotonic() - started
    return story.summary


def demo_rules(plan: DemoPlan, *, min_confidence: float) -> list[Any]:
    """The default alert rules, with the estimate's alarm at ``min_confidence``: a forest's
    probabilities run low (its mean confidence sits under its accuracy), so the estimate
    is not held to the accuracy floor."""
    from pomona.monitoring import AlertRule, default_rules

    rules = default_rules(
        drift=True,
        quality=True,
        performance=True,
        min_accuracy=plan.min_accuracy,
        max_error_rate=0.05,
        latency_p99_ms=None,
    )
    estimate = AlertRule("estimated_accuracy", "estimated_accuracy", "<", min_confidence)
    return [r for r in rules if r.name != "estimated_accuracy"] + [estimate]


def next_window(plan: DemoPlan) -> float:
    """Sleep to the next window boundary; returns the window's start (epoch seconds)."""
    now = time.time()
    start = (int(now) // plan.window_s + 1) * plan.window_s
    time.sleep(max(0.0, start - now) + 0.05)
    return float(start)


def computed_window(story: _Story, start: float, *, labels: bool = False) -> Any:
    """Wait until the server's monitor runner computed the window starting at ``start``
    (and, with ``labels``, took late labels into account)."""
    at = datetime.fromtimestamp(start, UTC)

    def found() -> Any:
        for w in story.ws.monitors.windows(story.monitor, start=at, limit=5):
            if w.start_at == at and (not labels or w.label_updates > 0):
                return w
        return None

    return wait_for(found, story.plan.window_s + 60, "the monitor to compute the window")


def firing(story: _Story) -> list[str]:
    return sorted({a.rule for a in story.ws.alerts.list(state="firing", monitor=story.monitor)})
