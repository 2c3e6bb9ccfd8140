"""Running counts of a validation across batches: failures, examples, quarantine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pomona.datasets.checks._report import MAX_EXAMPLES, CheckResult
from pomona.datasets.checks._suites import _Suite

__all__ = ["Tally"]


class Tally:
    """Failed counts and example ids per check name, and reasons per quarantined record."""

    def __init__(self) -> None:
        self._failed: Counter[str] = Counter()
        self._examples: dict[str, list[str]] = {}
        self._quarantined: dict[str, list[str]] = {}

    def add(self, name: str, failed: int, examples: Iterable[str] = ()) -> None:
        """Counts ``failed`` more records for the check ``name``."""
        self._failed[name] += failed
        kept = self._examples.setdefault(name, [])
        for record in examples:
            if len(kept) >= MAX_EXAMPLES:
                break
            kept.append(str(record))

    def quarantine(self, records: Iterable[str], reasons: Iterable[str]) -> None:
        """Puts each record in quarantine with its reason."""
        for record, reason in zip(records, reasons, strict=True):
            self._quarantined.setdefault(record, []).append(reason)

    def result(self, name: str, description: str, suite: _Suite, total: int) -> CheckResult:
        """The check's result over ``total`` records, with the suite's blocking and tolerance."""
        return CheckResult.of(
            name,
            description,
            failed=self._failed[name],
            total=total,
            blocking=suite.is_blocking(name),
            examples=self._examples.get(name, ()),
            allowed=(0.0, suite.tolerance_for(name)),
        )

    def quarantined(self) -> dict[str, list[str]]:
        """Record id -> reasons, in the order the records were first flagged."""
        return {record: list(reasons) for record, reasons in self._quarantined.items()}
