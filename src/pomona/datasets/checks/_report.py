"""Validation results: one ``CheckResult`` per check, pass or fail, and the quarantine."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pomona.errors import InvalidInputError

__all__ = ["MAX_EXAMPLES", "CheckResult", "ValidationReport"]

MAX_EXAMPLES = 5
"""How many example record ids a check keeps."""


def _fraction_ok(counted: int, total: int, allowed: tuple[float, float]) -> bool:
    low, high = allowed
    if total == 0:
        return low <= 0.0
    share = counted / total
    return low - 1e-12 <= share <= high + 1e-12


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check over a set of records.

    ``failed`` counts the records the check flagged (for ``class_balance:<col>=<value>``
    checks: the records of that class) out of ``total``; the check passes when
    ``failed / total`` lies within ``allowed`` (``(0, 0)`` for record checks: no failure).
    ``examples`` holds up to ``MAX_EXAMPLES`` record ids (column names for ``columns``).
    """

    name: str
    passed: bool
    blocking: bool
    failed: int
    total: int
    examples: tuple[str, ...] = ()
    message: str = ""
    description: str = ""
    allowed: tuple[float, float] = (0.0, 0.0)

    @classmethod
    def of(
        cls,
        name: str,
        description: str,
        *,
        failed: int,
        total: int,
        blocking: bool,
        examples: Iterable[str] = (),
        allowed: tuple[float, float] = (0.0, 0.0),
    ) -> CheckResult:
        """A result whose ``passed`` and ``message`` follow from the counts."""
        low, high = float(allowed[0]), float(allowed[1])
        kept = tuple(examples)[:MAX_EXAMPLES]
        return cls(
            name=name,
            passed=_fraction_ok(failed, total, (low, high)),
            blocking=blocking,
            failed=int(failed),
            total=int(total),
            examples=kept,
            message=_message(description, int(failed), int(total), (low, high), kept),
            description=description,
            allowed=(low, high),
        )

    @property
    def kind(self) -> str:
        """The part of the name before ``:`` (``range`` for ``range:age``)."""
        return self.name.split(":", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``from_dict`` reads it back)."""
        return {
            "name": self.name,
            "passed": self.passed,
            "blocking": self.blocking,
            "failed": self.failed,
            "total": self.total,
            "examples": list(self.examples),
            "message": self.message,
            "description": self.description,
            "allowed": list(self.allowed),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Rebuilds a result written by ``to_dict``."""
        try:
            low, high = data.get("allowed", (0.0, 0.0))
            return cls(
                name=str(data["name"]),
                passed=bool(data["passed"]),
                blocking=bool(data["blocking"]),
                failed=int(data["failed"]),
                total=int(data["total"]),
                examples=tuple(str(e) for e in data.get("examples", ())),
                message=str(data.get("message", "")),
                description=str(data.get("description", "")),
                allowed=(float(low), float(high)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"Not a check result: {exc!s}.",
                hint="Pass a dict written by CheckResult.to_dict().",
                details={"field": "checks"},
            ) from exc


def _message(
    description: str,
    failed: int,
    total: int,
    allowed: tuple[float, float],
    examples: tuple[str, ...],
) -> str:
    head = f"{description}: " if description else ""
    if allowed == (0.0, 0.0):
        text = f"{head}{failed:,} of {total:,} failed"
    else:
        share = failed / total if total else 0.0
        text = (
            f"{head}{share:.1%} ({failed:,} of {total:,}), "
            f"allowed {allowed[0]:.1%} to {allowed[1]:.1%}"
        )
    if failed and examples and allowed == (0.0, 0.0):
        text += f" (e.g. {', '.join(examples[:3])})"
    return text


@dataclass
class ValidationReport:
    """Every check that ran, pass or fail, and the records put in quarantine with reasons.

    A report never drops a record: every record a check flagged is in ``quarantined``
    (record id -> reasons), whether or not the check is blocking. ``passed`` is false
    when a blocking check failed: a pipeline stops there.
    """

    checks: list[CheckResult] = field(default_factory=list)
    quarantined: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """No blocking check failed."""
        return not self.blocking_failures

    @property
    def blocking_failures(self) -> list[CheckResult]:
        """The blocking checks that failed."""
        return [c for c in self.checks if c.blocking and not c.passed]

    @property
    def failed_checks(self) -> list[CheckResult]:
        """Every check that failed, blocking or not."""
        return [c for c in self.checks if not c.passed]

    def find_check(self, name: str) -> CheckResult | None:
        """The check called ``name``, or None."""
        return next((c for c in self.checks if c.name == name), None)

    def summary(self, *, every_check: bool = False) -> str:
        """The verdict, then a line per failed check (``*``: blocking); every check if asked."""
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.blocking_failures)} blocking)"
        ok = sum(c.passed for c in self.checks)
        lines = [
            f"Validation {verdict}: {ok} of {len(self.checks)} checks passed, "
            f"{len(self.quarantined):,} records quarantined"
        ]
        shown = self.checks if every_check else self.failed_checks
        width = max((len(c.name) for c in shown), default=0)
        for c in shown:
            mark = ("ok  " if c.passed else "FAIL") + ("*" if c.blocking else " ")
            lines.append(f"  {mark} {c.name:<{width}}  {c.message}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (``from_dict`` reads it back)."""
        return {
            "passed": self.passed,
            "checks": [c.to_dict() for c in self.checks],
            "quarantined": {k: list(v) for k, v in self.quarantined.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValidationReport:
        """Rebuilds a report written by ``to_dict``."""
        checks = data.get("checks")
        quarantined = data.get("quarantined", {})
        if not isinstance(checks, list) or not isinstance(quarantined, Mapping):
            raise InvalidInputError(
                "Not a validation report: expected 'checks' (a list) and 'quarantined' (a map).",
                hint="Pass a dict written by ValidationReport.to_dict().",
                details={"field": "checks"},
            )
        return cls(
            checks=[CheckResult.from_dict(c) for c in checks],
            quarantined={str(k): [str(r) for r in v] for k, v in quarantined.items()},
        )

    @classmethod
    def merge(cls, reports: Iterable[ValidationReport]) -> ValidationReport:
        """One report for the union of the records of ``reports`` (e.g. batches of a table).

        Checks of the same name add their counts and re-decide pass or fail, so fractions
        (missing values, class shares) are those of the whole. Give batches distinct record
        ids; uniqueness and duplicates across batches need the streaming validators.
        """
        merged: dict[str, CheckResult] = {}
        quarantined: dict[str, list[str]] = {}
        for report in reports:
            for check in report.checks:
                merged[check.name] = (
                    _add(merged[check.name], check) if check.name in merged else check
                )
            for record, reasons in report.quarantined.items():
                quarantined.setdefault(record, []).extend(reasons)
        return cls(checks=list(merged.values()), quarantined=quarantined)


def _add(a: CheckResult, b: CheckResult) -> CheckResult:
    return CheckResult.of(
        a.name,
        a.description,
        failed=a.failed + b.failed,
        total=a.total + b.total,
        blocking=a.blocking or b.blocking,
        examples=dict.fromkeys(a.examples + b.examples),
        allowed=a.allowed,
    )
