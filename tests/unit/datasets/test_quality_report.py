"""Validation reports: counts decide pass or fail, merging batches, JSON round trip."""

from __future__ import annotations

import json

import pytest

from pomona.datasets.checks import CheckResult, ValidationReport
from pomona.errors import InvalidInputError


def test_a_record_check_passes_only_without_failures() -> None:
    ok = CheckResult.of("range:age", "age within [0, 120]", failed=0, total=10, blocking=False)
    bad = CheckResult.of(
        "range:age", "age within [0, 120]", failed=2, total=10, blocking=True, examples=["3", "7"]
    )
    assert ok.passed and not bad.passed
    assert bad.kind == "range"
    assert bad.message == "age within [0, 120]: 2 of 10 failed (e.g. 3, 7)"


def test_a_fraction_check_passes_within_its_allowed_share() -> None:
    within = CheckResult.of("m", "share", failed=1, total=10, blocking=True, allowed=(0.0, 0.1))
    above = CheckResult.of("m", "share", failed=2, total=10, blocking=True, allowed=(0.0, 0.1))
    below = CheckResult.of("c", "share", failed=1, total=10, blocking=True, allowed=(0.2, 0.5))
    assert within.passed and not above.passed and not below.passed
    assert "10.0% (1 of 10), allowed 0.0% to 10.0%" in within.message


def test_examples_are_capped() -> None:
    check = CheckResult.of("x", "", failed=9, total=9, blocking=False, examples=map(str, range(9)))
    assert check.examples == ("0", "1", "2", "3", "4")


def test_only_a_blocking_failure_fails_the_report() -> None:
    soft = CheckResult.of("blur", "sharp", failed=1, total=5, blocking=False)
    hard = CheckResult.of("decodable", "decodes", failed=1, total=5, blocking=True)
    assert ValidationReport([soft], {"a": ["blur: 1.0"]}).passed
    report = ValidationReport([soft, hard], {"a": ["blur: 1.0"], "b": ["decodable: no"]})
    assert not report.passed
    assert report.blocking_failures == [hard]
    assert report.failed_checks == [soft, hard]
    assert report.find_check("blur") is soft
    assert report.find_check("nope") is None


def test_summary_names_the_verdict_and_the_failed_checks() -> None:
    ok = CheckResult.of("format", "format ok", failed=0, total=5, blocking=False)
    hard = CheckResult.of("decodable", "decodes", failed=1, total=5, blocking=True, examples=["b"])
    report = ValidationReport([ok, hard], {"b": ["decodable: no"]})
    text = report.summary()
    assert text.splitlines()[0] == (
        "Validation FAILED (1 blocking): 1 of 2 checks passed, 1 records quarantined"
    )
    assert "FAIL* decodable" in text
    assert "format" not in text
    assert "ok    format" in report.summary(every_check=True)


def test_merge_adds_counts_and_decides_again() -> None:
    def batch(missing: int, rows: int, bad: list[str]) -> ValidationReport:
        return ValidationReport(
            [
                CheckResult.of(
                    "missing_fraction:a",
                    "share",
                    failed=missing,
                    total=rows,
                    blocking=True,
                    allowed=(0.0, 0.1),
                ),
                CheckResult.of(
                    "range:a",
                    "a in range",
                    failed=len(bad),
                    total=rows,
                    blocking=False,
                    examples=bad,
                ),
            ],
            {r: ["range:a: 99"] for r in bad},
        )

    first, second = batch(3, 10, ["1"]), batch(0, 30, ["12", "13"])
    assert not first.passed and second.passed
    merged = ValidationReport.merge([first, second])
    fraction = merged.find_check("missing_fraction:a")
    assert fraction is not None and fraction.passed
    assert (fraction.failed, fraction.total) == (3, 40)
    ranged = merged.find_check("range:a")
    assert ranged is not None and (ranged.failed, ranged.total) == (3, 40)
    assert ranged.examples == ("1", "12", "13")
    assert list(merged.quarantined) == ["1", "12", "13"]
    assert merged.passed


def test_json_round_trip_keeps_everything() -> None:
    report = ValidationReport(
        [
            CheckResult.of(
                "decodable", "decodes", failed=1, total=3, blocking=True, examples=["b"]
            ),
            CheckResult.of("c=x", "share", failed=1, total=3, blocking=False, allowed=(0.1, 0.5)),
        ],
        {"b": ["decodable: truncated"]},
    )
    data = json.loads(json.dumps(report.to_dict()))
    assert data["passed"] is False
    again = ValidationReport.from_dict(data)
    assert again == report


def test_from_dict_rejects_what_is_not_a_report() -> None:
    with pytest.raises(InvalidInputError, match="Not a validation report"):
        ValidationReport.from_dict({"checks": "nope"})
    with pytest.raises(InvalidInputError, match="Not a check result"):
        ValidationReport.from_dict({"checks": [{"name": "x"}], "quarantined": {}})
