"""Promotion gates: a version reaches an alias (``champion``) only through them.

``promote`` runs the gates on the same test data for the candidate and the current holder
of the alias: signature compatibility, the primary metric (not significantly worse, by
McNemar's test or a paired bootstrap, and reaching the project's target), the baselines,
p99 latency under the project's budget, and per-slice metrics within tolerance. The report
is stored in the registry either way; a failure refuses the move unless forced with a reason,
and a forced move is recorded as such in the alias history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pomona.errors import ConflictError, InvalidInputError
from pomona.registry.base import ModelRegistry
from pomona.registry.records import ModelVersion
from pomona.tracking.base import TrackingAPI
from pomona.training._checks import (
    GateResult,
    baselines_gate,
    latency_gate,
    metric_gate,
    signature_gate,
    slices_gate,
)
from pomona.training._data import Task, infer_task
from pomona.training._gate_inputs import (
    baselines_for,
    champion_predictions,
    head,
    load_timed,
    native_model,
    predictions,
    recorded_report,
    slice_columns,
    test_data,
)
from pomona.training._metrics import CLASSIFICATION, REGRESSION, compute
from pomona.training.evaluation import _json_safe

__all__ = [
    "GatePolicy",
    "GateReport",
    "GateResult",
    "PromotionRefusedError",
    "Target",
    "native_model",
    "promote",
    "run_gates",
]


@dataclass(frozen=True)
class Target:
    """A project target metric (``pomona.toml [[project.targets]]``)."""

    name: str
    direction: str = "maximize"
    priority: int = 1
    threshold: float | None = None


@dataclass(frozen=True)
class GatePolicy:
    """What the gates require: the project's targets and budget, and the test settings."""

    targets: tuple[Target, ...] = ()
    latency_p99_ms: float | None = None
    alpha: float = 0.05
    slice_tolerance: float = 0.05
    latency_calls: int = 200

    @classmethod
    def from_project(
        cls, targets: Sequence[Mapping[str, Any]], latency_p99_ms: float | None, **kw: Any
    ) -> GatePolicy:
        found = tuple(
            Target(
                str(t["name"]),
                str(t.get("direction", "maximize")),
                int(t.get("priority", 1)),
                t.get("threshold"),
            )
            for t in targets
        )
        return cls(targets=found, latency_p99_ms=latency_p99_ms, **kw)

    def primary(self, task: str) -> Target:
        """The highest-priority target this task has a metric for; else the task's default."""
        known = CLASSIFICATION if task == "classification" else REGRESSION
        usable = sorted((t for t in self.targets if t.name in known), key=lambda t: t.priority)
        if usable:
            return usable[0]
        return Target("accuracy" if task == "classification" else "r2")


@dataclass
class GateReport:
    """Every gate's verdict for one promotion attempt."""

    model: str
    version: int
    to: str
    champion_version: int | None
    passed: bool
    gates: list[GateResult]
    metric: str
    forced: bool = False
    reason: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    digest: str | None = None
    """Where the registry stored the report (``put_gate_report``)."""

    @property
    def failures(self) -> list[GateResult]:
        return [g for g in self.gates if not g.passed]

    def to_dict(self) -> dict[str, Any]:
        return _json_safe(asdict(self))  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateReport:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["gates"] = [GateResult(**g) for g in values.get("gates", [])]
        return cls(**values)

    def summary(self) -> str:
        verdict = "passed" if self.passed else ("forced" if self.forced else "refused")
        lines = [f"{self.model}:{self.version} -> {self.to}: {verdict}"]
        lines += [f"  {'ok  ' if g.passed else 'FAIL'} {g.name}: {g.message}" for g in self.gates]
        return "\n".join(lines)


class PromotionRefusedError(ConflictError):
    """A gate failed; the alias did not move. ``details['report']`` holds the gate report."""

    def __init__(self, report: GateReport) -> None:
        failed = "; ".join(f"{g.name}: {g.message}" for g in report.failures)
        super().__init__(
            f"Promotion of {report.model}:{report.version} to '{report.to}' refused: {failed}",
            hint="Fix the model, or override with --force --reason '…' (audited).",
            details={
                "error": "PromotionRefusedError",
                "failed": [g.name for g in report.failures],
                "report": report.to_dict(),
            },
        )
        self.report = report


def run_gates(
    registry: ModelRegistry,
    runs: TrackingAPI,
    candidate: ModelVersion,
    champion: ModelVersion | None,
    *,
    to: str,
    policy: GatePolicy,
    data: tuple[Any, Any] | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
    slices: Sequence[str] | None = None,
) -> GateReport:
    """Every gate for ``candidate`` against ``champion`` (None: no holder yet); stores nothing."""
    X, y, attrs = test_data(runs, candidate, data, attributes)
    recorded = recorded_report(runs, candidate)
    task: Task = recorded.task if recorded is not None else infer_task(np.asarray(y))
    if slices is None and recorded is not None and recorded.slices:
        slices = list(recorded.slices)
    target = policy.primary(task)
    loaded, load_ms = load_timed(registry, candidate.ref)
    cand = predictions(loaded, X, y, task)
    signature = signature_gate(
        candidate.signature, None if champion is None else champion.signature
    )
    champ, why_not = champion_predictions(registry, champion, signature, X, y, task)
    value = compute(cand, (target.name,))[target.name]
    baselines, source = baselines_for(recorded, y, task)
    example = registry.input_example(candidate.ref)
    primary = metric_gate(target.name, cand, champ, threshold=target.threshold, alpha=policy.alpha)
    if why_not:
        primary.message += f" Not compared with the champion: {why_not}."
        primary.details["champion_error"] = why_not
    gates = [
        signature,
        primary,
        baselines_gate(target.name, value, baselines, source),
        latency_gate(
            loaded.predict,
            example if example is not None else head(X),
            budget_ms=policy.latency_p99_ms,
            calls=policy.latency_calls,
            load_ms=load_ms,
        ),
        slices_gate(
            target.name,
            cand,
            champ,
            slice_columns(X, attrs, slices),
            threshold=target.threshold,
            tolerance=policy.slice_tolerance,
        ),
    ]
    return GateReport(
        model=candidate.name,
        version=candidate.version,
        to=to,
        champion_version=None if champion is None else champion.version,
        passed=all(g.passed for g in gates),
        gates=gates,
        metric=target.name,
    )


def promote(
    registry: ModelRegistry,
    runs: TrackingAPI,
    name: str,
    version: int,
    *,
    to: str = "champion",
    policy: GatePolicy | None = None,
    force: bool = False,
    reason: str | None = None,
    actor: str | None = None,
    data: tuple[Any, Any] | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
    slices: Sequence[str] | None = None,
    check_only: bool = False,
) -> GateReport:
    """Run the gates and point alias ``to`` at ``name:version`` when they pass.

    Args:
        force: move the alias even though gates fail; needs ``reason`` (kept in the history).
        data: ``(X_test, y_test)``; default the test split kept by the version's training run.
        slices: columns or attributes to check per value; default the recorded attributes.
        check_only: judge and store the report, but leave the alias where it is (a rollout
            moves it later, on evidence from live traffic).
    Raises:
        ModelNotFoundError, ModelVersionNotFoundError: no such model or version.
        InvalidInputError: ``force`` without a reason, or no test data to judge on.
        PromotionRefusedError: a gate failed (the report is stored; the alias did not move).
    """
    if force and check_only:
        raise InvalidInputError(
            "A check cannot be forced: check_only judges without moving the alias.",
            hint="Drop --force, or drop --check to move the alias anyway.",
            details={"field": "force"},
        )
    if force and not (reason and reason.strip()):
        raise InvalidInputError(
            "A forced promotion needs a reason.",
            hint="Say why: --force --reason 'hotfix for …' (it is kept in the alias history).",
            details={"field": "reason"},
        )
    candidate = registry.get_version(f"{name}:{version}")
    holder = registry.get_model(name).aliases.get(to)
    champion = None
    if holder is not None and holder != candidate.version:
        champion = registry.get_version(f"{name}:{holder}")
    report = run_gates(
        registry,
        runs,
        candidate,
        champion,
        to=to,
        policy=policy or GatePolicy(),
        data=data,
        attributes=attributes,
        slices=slices,
    )
    report.forced = force and not report.passed
    report.reason = reason
    info = registry.put_gate_report(
        candidate.ref, report.to_dict(), target=to, passed=report.passed, actor=actor
    )
    report.digest = str(info.digest)
    if not report.passed and not force:
        raise PromotionRefusedError(report)
    if check_only:
        return report
    registry.set_alias(
        name,
        to,
        candidate.version,
        reason=reason or "promotion gates passed",
        actor=actor,
        gate_report_digest=report.digest,
        forced=report.forced,
    )
    return report
