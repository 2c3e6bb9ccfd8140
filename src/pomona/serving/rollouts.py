"""The analysis loop's step: judge a running rollout and advance, hold, promote or roll back.

Every decision is stored (``ws.deployments.decisions(name)``) with the analysis as evidence.
A failing challenger is rolled back as soon as the evidence is significant; otherwise the
rollout moves only when its step's ``interval_s`` has passed. A window short of samples is
not restarted: it grows until it has them (a ``hold`` is recorded once per interval).
Several servers may run the loop: a decision applies only to the revision it was made on.
"""

from __future__ import annotations

import logging

from pomona._utils.clock import now_ms, to_ms
from pomona.errors import ConflictError
from pomona.serving.analysis import CanaryMetrics, Verdict, judge
from pomona.serving.records import Deployment, Rollout
from pomona.serving.service import DeploymentService
from pomona.serving.strategies import Canary

__all__ = ["ROLLOUT_VARIANTS", "analyse_rollout"]

log = logging.getLogger("pomona.serving")

ROLLOUT_VARIANTS = {
    "canary": ("primary", "canary"),
    "shadow": ("primary", "shadow"),
    "ab": ("a", "b"),
}
"""Strategy -> (champion's variant, challenger's variant) in the prediction logs."""


def _last_step(rollout: Rollout) -> bool:
    strategy = rollout.strategy
    if not isinstance(strategy, Canary):
        return True
    nxt = rollout.step + 1
    return nxt >= len(strategy.steps) or strategy.steps[nxt] == 100


def analyse_rollout(
    service: DeploymentService, metrics: CanaryMetrics, name: str, *, now: int | None = None
) -> str | None:
    """Judge deployment ``name``'s rollout once; returns the action taken, if any."""
    dep = service.find(name)
    if dep is None or dep.rollout is None or dep.rollout.state != "running":
        return None
    rollout = dep.rollout
    end = now if now is not None else now_ms()
    start = to_ms(rollout.step_started_at)
    champion, challenger = ROLLOUT_VARIANTS[rollout.strategy.name]
    windows = metrics.window(dep.name, (champion, challenger), start, end + 1)
    verdict = judge(windows[champion], windows[challenger], rollout.strategy.criteria)
    evidence = {
        "verdict": verdict.outcome,
        "reasons": verdict.reasons,
        "window": {"start_ms": start, "end_ms": end},
        "weight": rollout.weight,
        **verdict.evidence,
    }
    elapsed = end - start >= rollout.strategy.interval_s * 1000
    try:
        return _apply(service, dep, rollout, verdict, evidence, elapsed)
    except ConflictError:  # another server decided first, or a person did
        return None


def _apply(
    service: DeploymentService,
    dep: Deployment,
    rollout: Rollout,
    verdict: Verdict,
    evidence: dict[str, object],
    elapsed: bool,
) -> str | None:
    auto, rev, why = rollout.strategy.auto, dep.revision, "; ".join(verdict.reasons)
    if verdict.outcome == "fail" and auto:
        service.rollback(
            dep.name,
            actor="analysis",
            reason=f"analysis failed: {why}",
            evidence=evidence,
            expected_revision=rev,
        )
        return "rollback"
    if not elapsed:
        return None
    if verdict.outcome == "pass" and auto:
        if _last_step(rollout):
            service.promote(
                dep.name,
                actor="analysis",
                evidence=evidence,
                expected_revision=rev,
                reason=f"analysis passed at {rollout.weight}%: promoted",
            )
            return "promote"
        service.advance(dep.name, evidence=evidence, expected_revision=rev)
        return "advance"
    waiting = verdict.outcome == "wait"
    if waiting and _held_recently(service, dep.name, rollout.strategy.interval_s):
        return None
    reason = why if auto else f"analysis {verdict.outcome} ({why}); automatic moves are off"
    service.hold(
        dep.name, reason=reason, evidence=evidence, expected_revision=rev, restart=not waiting
    )
    return "hold"


def _held_recently(service: DeploymentService, name: str, interval_s: float) -> bool:
    """Whether the last decision is a hold less than ``interval_s`` old: a window short of
    samples keeps growing and is recorded once per interval, not at every look."""
    last = next(iter(service.decisions(name, limit=1)), None)
    if last is None or last.action != "hold":
        return False
    return now_ms() - to_ms(last.created_at) < interval_s * 1000
