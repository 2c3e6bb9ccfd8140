"""Table checks: inferred suites, YAML a person edits, faults caught and quarantined."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pomona.datasets.checks import (
    ColumnSpec,
    TableSuite,
    TableValidator,
    ValidationReport,
    infer_table_suite,
    validate_table,
)
from pomona.errors import InvalidInputError


def _orders(n: int = 200, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(start)
    return pd.DataFrame(
        {
            "order_id": np.arange(start, start + n),
            "amount": rng.uniform(1.0, 500.0, n).round(2),
            "items": rng.integers(1, 10, n),
            "country": rng.choice(["FR", "DE", "IT"], n),
            "grade": rng.choice(["good", "ok", "bad"], n, p=[0.5, 0.3, 0.2]),
        },
        index=pd.RangeIndex(start, start + n),
    )


@pytest.fixture
def suite() -> TableSuite:
    return infer_table_suite(_orders(), label="grade")


def test_inferred_suite_describes_the_reference(suite: TableSuite) -> None:
    cols = suite.columns
    assert cols["order_id"] == ColumnSpec(dtype="int", nullable=False, min=0, max=219, unique=True)
    assert cols["amount"].dtype == "float" and cols["amount"].min == 0.0
    assert cols["country"].categories == ("DE", "FR", "IT")
    assert cols["grade"].class_balance is not None
    assert set(cols["grade"].class_balance) == {"bad", "good", "ok"}
    assert not cols["items"].unique
    report = validate_table(_orders(), suite)
    assert report.passed and report.quarantined == {} and not report.failed_checks


def test_every_check_is_reported_pass_or_fail(suite: TableSuite) -> None:
    report = validate_table(_orders(), suite)
    names = [c.name for c in report.checks]
    assert names[0] == "columns"
    assert {"dtype:amount", "not_null:amount", "range:amount", "categories:country"} <= set(names)
    assert {"unique:order_id", "class_balance:grade=good"} <= set(names)
    assert all(c.total == 200 for c in report.checks if c.kind in ("range", "not_null"))


def test_yaml_round_trip_and_a_persons_edit(suite: TableSuite) -> None:
    text = suite.to_yaml()
    assert text.startswith("# Pomona table suite")
    assert "order_id: {dtype: int, nullable: false, min: 0, max: 219, unique: true}" in text
    assert "    categories: [DE, FR, IT]\n" in text
    assert TableSuite.from_yaml(text) == suite
    edited = TableSuite.from_yaml(text.replace("categories: [DE, FR, IT]", "categories: [FR]"))
    report = validate_table(_orders(), edited)
    check = report.find_check("categories:country")
    assert check is not None and not check.passed and check.failed > 0
    assert all(r == ["categories:country: " + c] for r, c in _reasons(report, _orders()))


def _reasons(report: ValidationReport, df: pd.DataFrame) -> list[tuple[list[str], str]]:
    return [(report.quarantined[str(i)], str(df.loc[i, "country"])) for i in df.index
            if df.loc[i, "country"] != "FR"]  # fmt: skip


def _inject(df: pd.DataFrame, fault: str) -> pd.DataFrame:
    bad = df.copy()
    if fault == "null":
        bad.loc[5, "amount"] = np.nan
    elif fault == "out_of_range":
        bad.loc[5, "amount"] = 1e6
    elif fault == "unknown_category":
        bad.loc[5, "country"] = "XX"
    elif fault == "duplicate":
        bad.loc[5, "order_id"] = bad.loc[2, "order_id"]
    elif fault == "not_a_number":
        bad["amount"] = bad["amount"].astype(object)
        bad.loc[5, "amount"] = "lots"
    elif fault == "not_an_integer":
        bad["items"] = bad["items"].astype(float)
        bad.loc[5, "items"] = 2.5
    return bad


@pytest.mark.parametrize(
    ("fault", "check", "reason"),
    [
        ("null", "not_null:amount", "not_null:amount: missing"),
        ("out_of_range", "range:amount", "range:amount: 1000000.0"),
        ("unknown_category", "categories:country", "categories:country: XX"),
        ("duplicate", "unique:order_id", "unique:order_id: 2 repeats an earlier record"),
        ("not_a_number", "dtype:amount", "dtype:amount: lots"),
        ("not_an_integer", "dtype:items", "dtype:items: 2.5"),
    ],
)
def test_a_fault_is_caught_and_its_row_quarantined(
    suite: TableSuite, fault: str, check: str, reason: str
) -> None:
    report = validate_table(_inject(_orders(), fault), suite)
    result = report.find_check(check)
    assert result is not None and not result.passed
    assert (result.failed, result.total, result.examples) == (1, 200, ("5",))
    assert report.quarantined == {"5": [reason]}
    assert [c.name for c in report.failed_checks] == [check]
    assert report.passed  # record checks are not blocking by default


def test_a_missing_column_fails_the_blocking_columns_check(suite: TableSuite) -> None:
    report = validate_table(_orders().drop(columns=["country"]), suite)
    columns = report.find_check("columns")
    assert columns is not None and columns.blocking and not columns.passed
    assert columns.examples == ("country",)
    assert "'country' is missing" in columns.message
    assert not report.passed


def test_strict_suites_refuse_unknown_columns(suite: TableSuite) -> None:
    df = _orders().assign(extra=1)
    assert validate_table(df, suite).passed
    strict = suite.model_copy(update={"strict": True})
    report = validate_table(df, strict)
    assert not report.passed
    assert "'extra' is not in the suite" in report.checks[0].message


def test_a_column_of_the_wrong_type_fails_as_a_whole() -> None:
    suite = TableSuite(columns={"when": ColumnSpec(dtype="bool")})
    report = validate_table(pd.DataFrame({"when": [1, 2, 3]}), suite)
    assert not report.passed
    assert "'when' has type int64, the suite expects bool" in report.checks[0].message
    assert report.quarantined == {}


def test_batches_give_the_report_of_the_whole_table() -> None:
    whole = _orders(400)
    suite = infer_table_suite(whole, label="grade")
    whole.loc[[10, 250], "amount"] = np.nan
    whole.loc[300, "order_id"] = 10  # repeats a value of the first batch
    validator = TableValidator(suite)
    for start in range(0, 400, 128):
        validator.update(whole.iloc[start : start + 128])
    batched = validator.report()
    assert batched == validate_table(whole, suite)
    assert batched.quarantined["300"] == ["unique:order_id: 10 repeats an earlier record"]
    assert set(batched.quarantined) == {"10", "250", "300"}


def test_statistical_expectations_span_the_batches() -> None:
    suite = TableSuite(
        columns={
            "x": ColumnSpec(dtype="float", max_missing_fraction=0.2),
            "y": ColumnSpec(dtype="str", class_balance={"a": (0.4, 0.6), "b": (0.4, 0.6)}),
        }
    )
    first = pd.DataFrame({"x": [np.nan] * 3 + [1.0] * 7, "y": ["a"] * 10})
    second = pd.DataFrame({"x": [1.0] * 10, "y": ["b"] * 10}, index=range(10, 20))
    assert not validate_table(first, suite).passed
    validator = TableValidator(suite)
    validator.update(first)
    validator.update(second)
    report = validator.report()
    assert report.passed
    fraction = report.find_check("missing_fraction:x")
    assert fraction is not None and (fraction.failed, fraction.total) == (3, 20)
    assert report.quarantined == {}


def test_class_balance_drift_fails_a_blocking_check(suite: TableSuite) -> None:
    skewed = _orders()
    skewed["grade"] = "good"
    report = validate_table(skewed, suite)
    bad = report.find_check("class_balance:grade=bad")
    assert bad is not None and bad.blocking and not bad.passed
    assert not report.passed


def test_tolerance_lets_a_few_failures_pass_but_still_quarantines(suite: TableSuite) -> None:
    df = _inject(_orders(), "out_of_range")
    tolerant = suite.model_copy(update={"tolerance": {"range": 0.01}, "blocking": ("range",)})
    report = validate_table(df, tolerant)
    check = report.find_check("range:amount")
    assert check is not None and check.passed and check.failed == 1
    assert "5" in report.quarantined
    strict = suite.model_copy(update={"blocking": ("range:amount",)})
    assert not validate_table(df, strict).passed


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("columns: {a: {dtype: float, colour: red}}", r"columns\.a\.colour"),
        ("columns: {a: {dtype: decimal}}", r"columns\.a\.dtype"),
        ("columns: {a: {min: 5, max: 1}}", r"min \(5\) is greater than max \(1\)"),
        ("blocking: [rnage]", "unknown check 'rnage'"),
        ("columns: [a, b", "not valid YAML"),
        ("- a\n- b\n", "must be a YAML mapping"),
    ],
)
def test_a_wrong_suite_names_what_is_wrong(text: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        TableSuite.from_yaml(text)


def test_label_must_be_a_column() -> None:
    with pytest.raises(InvalidInputError, match="label column 'nope'"):
        infer_table_suite(_orders(), label="nope")


def test_text_in_a_numeric_column_fails_its_row_only() -> None:
    suite = TableSuite(
        columns={
            "x": ColumnSpec(dtype="float", nullable=False, min=0, max=10),
            "when": ColumnSpec(dtype="datetime"),
        }
    )
    df = pd.DataFrame(
        {
            "x": ["1.5", "lots", "99", None],
            "when": ["2026-01-01", "2026-02-30", "2026-03-01 10:00", "2026-03-02"],
        }
    )
    report = validate_table(df, suite)
    assert report.quarantined == {
        "1": ["dtype:x: lots", "dtype:when: 2026-02-30"],
        "2": ["range:x: 99.0"],
        "3": ["not_null:x: missing"],
    }
    assert report.passed


def test_nullable_integers_and_values_that_cannot_be_compared() -> None:
    suite = TableSuite(
        columns={
            "n": ColumnSpec(dtype="int", min=0, max=5),
            "free": ColumnSpec(min=0, max=1),  # no dtype: a range on text cannot run
        }
    )
    df = pd.DataFrame(
        {"n": pd.array([1, None, 9], dtype="Int64"), "free": ["a", "b", "c"]},
    )
    report = validate_table(df, suite)
    assert report.quarantined == {"2": ["range:n: 9"]}
    columns = report.find_check("columns")
    assert columns is not None and not columns.passed
    assert "'free': in_range(0, 1) failed" in columns.message
