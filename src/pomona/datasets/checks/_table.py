"""Table validation: the suite becomes a pandera schema (lazy), plus streaming statistics.

Per-record schema checks (not_null, range, categories, integral values) are pandera checks
(``_table_schema.py`` builds them, converts text to numbers or dates, and scans the batch
with numpy so that pandera validates only the rows it flags). Checks that span batches
(unique, missing_fraction, class_balance) keep counts here, so a table can be validated
batch by batch with memory bounded by the batch (plus 8 bytes per value of each ``unique``
column).
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pomona.datasets.checks._report import MAX_EXAMPLES, CheckResult, ValidationReport
from pomona.datasets.checks._suites import ColumnSpec, TableSuite
from pomona.datasets.checks._table_schema import check_name, plan_batch, record_checks, scan
from pomona.datasets.checks._tally import Tally

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["TableValidator", "validate_table"]


def validate_table(df: pd.DataFrame, suite: TableSuite) -> ValidationReport:
    """Validates one table (record ids: the row index as text)."""
    validator = TableValidator(suite)
    validator.update(df)
    return validator.report()


class TableValidator:
    """Validates a table batch by batch; ``report()`` covers every batch seen.

    Give batches distinct row indexes (e.g. the row number in the file): record ids are
    the index values as text.
    """

    def __init__(self, suite: TableSuite) -> None:
        self.suite = suite
        self._tally = Tally()
        self._rows = 0
        self._missing: Counter[str] = Counter()
        self._classes: dict[str, Counter[str]] = {}
        self._present: Counter[str] = Counter()
        self._bad_columns: dict[str, str] = {}
        self._seen: dict[str, NDArray[np.uint64]] = {}

    def update(self, df: pd.DataFrame) -> None:
        """Checks one batch."""
        self._rows += len(df)
        self._check_columns(df)
        plan = plan_batch(df, self.suite)
        for column, reason in plan.mismatched.items():
            self._bad_columns.setdefault(column, reason)
        present = [c for c in self.suite.columns if c in df.columns and c not in plan.mismatched]
        self._present.update({c: len(df) for c in present})
        unparsed: set[tuple[str, str]] = set()
        for column, values in plan.unparsed.items():
            records = values.index.astype(str).tolist()
            self._flag(f"dtype:{column}", records, values.astype(str).tolist())
            unparsed.update((f"not_null:{column}", r) for r in records)
        rows, columns = scan(plan, self.suite)
        if columns:  # pandera validates, and reports, only what the scan flagged
            self._run_pandera(plan.frame[rows], plan.schema(columns), plan.names, unparsed)
        for column in present:
            spec = self.suite.columns[column]
            values = df[column]
            self._missing[column] += int(values.isna().sum())
            if spec.unique:
                self._check_unique(column, values)
            if spec.class_balance is not None:
                counts = values.value_counts(dropna=True)
                tally = self._classes.setdefault(column, Counter())
                tally.update({str(k): int(v) for k, v in counts.items()})

    def _check_columns(self, df: pd.DataFrame) -> None:
        for column in self.suite.columns:
            if column not in df.columns:
                self._bad_columns.setdefault(column, f"'{column}' is missing")
        if self.suite.strict:
            for column in df.columns:
                if column not in self.suite.columns:
                    self._bad_columns.setdefault(str(column), f"'{column}' is not in the suite")

    def _flag(self, name: str, records: list[str], values: list[str]) -> None:
        self._tally.add(name, len(records), records[:MAX_EXAMPLES])
        self._tally.quarantine(records, [f"{name}: {v}" for v in values])

    def _run_pandera(
        self,
        df: pd.DataFrame,
        schema: Any,
        names: dict[tuple[str, int], str],
        skip: set[tuple[str, str]],
    ) -> None:
        import pandera.pandas as pa

        try:
            schema.validate(df, lazy=True)
        except pa.errors.SchemaErrors as exc:
            self._record_failures(exc.failure_cases, names, skip)

    def _record_failures(
        self, cases: pd.DataFrame, names: dict[tuple[str, int], str], skip: set[tuple[str, str]]
    ) -> None:
        """Counts and quarantines pandera's failure cases, except the (check, record) pairs
        in ``skip`` (a value that is not a number is not also reported missing)."""
        cases = cases[cases["column"].notna()].reset_index(drop=True)
        self._column_failures(cases[cases["index"].isna()])
        cases = cases[cases["index"].notna()].reset_index(drop=True)
        if cases.empty:
            return
        key = (
            cases["column"].astype(str)
            + "\x00"
            + cases["check"].astype(str)
            + "\x00"
            + cases["check_number"].astype(object).fillna(-1).astype(str)
        )
        combos = cases.assign(key=key).drop_duplicates("key")
        lookup = {
            k: check_name(str(col), str(chk), num, names)
            for k, col, chk, num in zip(
                combos["key"],
                combos["column"],
                combos["check"],
                combos["check_number"],
                strict=True,
            )
        }
        cases = cases.assign(name=key.map(lookup), record=cases["index"].astype(str))
        cases = cases.drop_duplicates(["name", "record"])
        if skip:
            pairs = zip(cases["name"].tolist(), cases["record"].tolist(), strict=True)
            cases = cases[[pair not in skip for pair in pairs]]
        values = cases["failure_case"].astype(str).fillna("missing")
        reasons = (cases["name"] + ": " + values).tolist()
        records = cases["record"].tolist()
        for name, group in cases.groupby("name", sort=False):
            self._tally.add(str(name), len(group), group["record"].head(MAX_EXAMPLES).tolist())
        self._tally.quarantine(records, reasons)

    def _column_failures(self, whole: pd.DataFrame) -> None:
        """A check that failed a whole column (no row to blame) fails ``columns``."""
        for column, check, failure in zip(
            whole["column"].astype(str).tolist(),
            whole["check"].astype(str).tolist(),
            whole["failure_case"].astype(str).tolist(),
            strict=True,
        ):
            self._bad_columns.setdefault(column, f"'{column}': {check} failed ({failure})")

    def _check_unique(self, column: str, values: pd.Series) -> None:
        import pandas as pd

        values = values.dropna()
        hashes = pd.util.hash_pandas_object(values, index=False).to_numpy(np.uint64)
        seen = self._seen.get(column, np.empty(0, np.uint64))
        repeat = pd.Series(hashes).duplicated().to_numpy() | np.isin(hashes, seen)
        self._seen[column] = np.union1d(seen, hashes)
        if repeat.any():
            name = f"unique:{column}"
            records = values.index[repeat].astype(str).tolist()
            reasons = [f"{name}: {v} repeats an earlier record" for v in values[repeat].tolist()]
            self._tally.add(name, int(repeat.sum()), records[:MAX_EXAMPLES])
            self._tally.quarantine(records, reasons)

    def report(self) -> ValidationReport:
        """The report of every batch so far: every check of the suite, pass or fail."""
        suite, tally = self.suite, self._tally
        checks = [self._columns_result()]
        for column, spec in suite.columns.items():
            rows = self._present[column]
            for name, description in record_checks(column, spec):
                checks.append(tally.result(name, description, suite, total=rows))
            if spec.max_missing_fraction is not None:
                name = f"missing_fraction:{column}"
                checks.append(
                    CheckResult.of(
                        name,
                        f"share of missing values in '{column}'",
                        failed=self._missing[column],
                        total=rows,
                        blocking=suite.is_blocking(name),
                        allowed=(0.0, spec.max_missing_fraction),
                    )
                )
            checks.extend(self._class_balance(column, spec))
        return ValidationReport(checks=checks, quarantined=tally.quarantined())

    def _columns_result(self) -> CheckResult:
        bad = self._bad_columns
        expected = len(self.suite.columns) + sum(c not in self.suite.columns for c in bad)
        detail = f" ({'; '.join(bad.values())})" if bad else ""
        return CheckResult.of(
            "columns",
            f"columns match the suite{detail}",
            failed=len(bad),
            total=expected,
            blocking=self.suite.is_blocking("columns"),
            examples=bad,
        )

    def _class_balance(self, column: str, spec: ColumnSpec) -> list[CheckResult]:
        counts = self._classes.get(column, Counter())
        total = self._present[column] - self._missing[column]
        results = []
        for value, (low, high) in (spec.class_balance or {}).items():
            name = f"class_balance:{column}={value}"
            results.append(
                CheckResult.of(
                    name,
                    f"share of {value!r} in '{column}'",
                    failed=counts[str(value)],
                    total=total,
                    blocking=self.suite.is_blocking(name),
                    allowed=(low, high),
                )
            )
        return results
