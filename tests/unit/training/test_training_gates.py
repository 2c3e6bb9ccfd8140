"""The promotion gates one by one, on predictions whose verdicts can be worked out by hand."""

from __future__ import annotations

import time

import numpy as np
import pytest

from pomona.training._checks import (
    baselines_gate,
    bootstrap_diff,
    latency_gate,
    mcnemar_p,
    metric_gate,
    signature_gate,
    slices_gate,
)
from pomona.training._metrics import Predictions
from pomona.training.gates import GatePolicy, GateReport, PromotionRefusedError


def _preds(y_true: list[int], y_pred: list[int]) -> Predictions:
    return Predictions(np.array(y_true), np.array(y_pred), None, np.array([0, 1]))


def test_mcnemar_counts_only_disagreements() -> None:
    cand = np.array([True] * 50 + [False] * 10)
    champ = np.array(
        [True] * 50 + [True] * 10
    )  # the champion is right where the candidate is wrong
    assert mcnemar_p(cand, champ) == pytest.approx(0.5**10)
    assert mcnemar_p(champ, champ) == 1.0  # no disagreement, no evidence


def test_primary_metric_fails_only_when_significantly_worse() -> None:
    y = [1] * 100
    champ = _preds(y, [1] * 100)
    slightly = metric_gate(
        "accuracy", _preds(y, [1] * 98 + [0] * 2), champ, threshold=None, alpha=0.05
    )
    assert slightly.passed and slightly.details["p_value"] == pytest.approx(0.25)
    clearly = metric_gate(
        "accuracy", _preds(y, [1] * 80 + [0] * 20), champ, threshold=None, alpha=0.05
    )
    assert not clearly.passed
    assert "significantly worse than the champion" in clearly.message
    target = metric_gate(
        "accuracy", _preds(y, [1] * 80 + [0] * 20), None, threshold=0.9, alpha=0.05
    )
    assert not target.passed and "misses the target 0.9" in target.message


def test_bootstrap_for_other_metrics() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    good = Predictions(y, y + rng.normal(scale=0.1, size=200), None, None)
    bad = Predictions(y, y + rng.normal(scale=1.0, size=200), None, None)
    _, high = bootstrap_diff(bad, good, "mae")
    assert high < 0  # the bad one is worse with 95% confidence
    gate = metric_gate("mae", bad, good, threshold=None, alpha=0.05)
    assert not gate.passed and gate.details["test"] == "bootstrap"
    assert metric_gate("mae", good, bad, threshold=None, alpha=0.05).passed


def test_baselines_trivial_strictly_linear_not_worse() -> None:
    baselines = {"majority": {"accuracy": 0.6}, "linear": {"accuracy": 0.9}}
    assert baselines_gate("accuracy", 0.9, baselines, "run").passed  # ties the linear model
    gate = baselines_gate("accuracy", 0.85, baselines, "run")
    assert not gate.passed and "linear 0.9000" in gate.message
    assert not baselines_gate("accuracy", 0.6, {"majority": {"accuracy": 0.6}}, "run").passed
    assert baselines_gate("mae", 1.0, {"mean": {"mae": 2.0}}, "run").passed  # lower is better


def test_latency_against_the_budget() -> None:
    fast = latency_gate(lambda x: x, [1], budget_ms=50.0, calls=20, load_ms=1.0)
    assert fast.passed and fast.details["p99_ms"] < 50
    slow = latency_gate(lambda x: time.sleep(0.003), [1], budget_ms=1.0, calls=10, load_ms=1.0)
    assert not slow.passed and "over the 1.0 ms budget" in slow.message
    assert latency_gate(lambda x: x, [1], budget_ms=None, calls=5, load_ms=0.0).passed


def test_slices_against_the_champion_and_the_target() -> None:
    y = [1] * 40
    column = {"variety": np.array(["gala"] * 20 + ["fuji"] * 20)}
    champ = _preds(y, [1] * 40)
    worse_fuji = _preds(y, [1] * 20 + [1] * 10 + [0] * 10)
    gate = slices_gate("accuracy", worse_fuji, champ, column, threshold=None, tolerance=0.05)
    assert not gate.passed and "variety=fuji: 0.5000 vs champion 1.0000" in gate.message
    alone = slices_gate("accuracy", worse_fuji, None, column, threshold=0.8, tolerance=0.05)
    assert not alone.passed and "misses the target 0.8" in alone.message
    assert slices_gate("accuracy", champ, champ, column, threshold=None, tolerance=0.05).passed
    tiny = slices_gate(
        "accuracy", worse_fuji, champ, column, threshold=None, tolerance=0.05, min_n=21
    )
    assert tiny.passed  # slices smaller than min_n are not judged


def test_a_slice_under_target_passes_when_the_champion_is_worse_there() -> None:
    y = [1] * 40
    column = {"brightness": np.array(["dark"] * 20 + ["bright"] * 20)}
    champ = _preds(y, [0] * 14 + [1] * 6 + [1] * 20)  # dark 0.30
    better = _preds(y, [0] * 8 + [1] * 12 + [1] * 20)  # dark 0.60: under 0.8, over 0.30
    gate = slices_gate("accuracy", better, champ, column, threshold=0.8, tolerance=0.05)
    assert gate.passed, gate.message
    same = slices_gate("accuracy", champ, champ, column, threshold=0.8, tolerance=0.05)
    assert not same.passed and "brightness=dark: 0.3000 misses the target 0.8" in same.message


def test_signature_gate_names_the_difference() -> None:
    from pomona.registry.signature import Signature, TensorSpec

    a = Signature(
        (TensorSpec("input", "float64", (-1, 30)),), (TensorSpec("predictions", "int64"),)
    )
    b = Signature(
        (TensorSpec("input", "float64", (-1, 10)),), (TensorSpec("predictions", "int64"),)
    )
    assert signature_gate(a, None).passed and signature_gate(a, a).passed
    gate = signature_gate(b, a)
    assert not gate.passed and "shape [-1, 10], not [-1, 30]" in gate.message


def test_policy_report_and_refusal() -> None:
    policy = GatePolicy.from_project(
        [
            {"name": "f1_macro", "priority": 2},
            {"name": "accuracy", "priority": 1, "threshold": 0.9},
        ],
        25.0,
    )
    assert policy.primary("classification").name == "accuracy"
    assert policy.primary("regression").name == "r2"  # no target fits: the task's default
    report = GateReport(
        "m",
        2,
        "champion",
        1,
        False,
        [
            signature_gate(None, None),
            baselines_gate("accuracy", 0.1, {"majority": {"accuracy": 0.5}}, "x"),
        ],
        "accuracy",
    )
    again = GateReport.from_dict(report.to_dict())
    assert again.to_dict() == report.to_dict()
    error = PromotionRefusedError(report)
    assert error.details["failed"] == ["baselines"]
    assert "refused: baselines: accuracy 0.1000 does not beat" in error.message
