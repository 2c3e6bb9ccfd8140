"""The rollout analysis on synthetic windows, the strategies' checks, and input parsing."""

from __future__ import annotations

import numpy as np
import pytest

from pomona.errors import InvalidInputError
from pomona.registry import Signature, TensorSpec
from pomona.serving import ABTest, Canary, Criteria, Shadow, VariantWindow, judge
from pomona.serving._inputs import InputSpec, parse_json
from pomona.serving.strategies import strategy_from_json

CRITERIA = Criteria(min_samples=100, alpha=0.01, min_feedback=50)


def _window(
    n: int,
    errors: int = 0,
    latency: float = 5.0,
    labels: str = "ab",
    correct: int | None = None,
    seed: int = 0,
) -> VariantWindow:
    rng = np.random.default_rng(seed)
    predictions = [labels[i % len(labels)] for i in range(n - errors)]
    return VariantWindow(
        n=n,
        errors=errors,
        latencies_ms=rng.gamma(4.0, latency / 4.0, n - errors),
        predictions=predictions,
        labelled=0 if correct is None else 200,
        correct=correct or 0,
    )


def test_the_same_behaviour_passes() -> None:
    verdict = judge(_window(500), _window(500, seed=1), CRITERIA)
    assert verdict.outcome == "pass"
    assert verdict.evidence["error_rate"]["failed"] is False
    assert verdict.evidence["divergence"]["js_distance"] == pytest.approx(0.0)


def test_too_few_samples_waits() -> None:
    verdict = judge(_window(500), _window(99), CRITERIA)
    assert verdict.outcome == "wait" and "need 100 each" in verdict.reasons[0]


@pytest.mark.parametrize(
    ("challenger", "check"),
    [
        (_window(500, errors=50), "error_rate"),
        (_window(500, latency=40.0), "latency"),
        (_window(500, labels="bbbbbba"), "divergence"),
        (_window(500, correct=120), "accuracy"),
    ],
    ids=["errors", "slow", "diverging", "less-accurate"],
)
def test_a_worse_challenger_fails_the_right_check(challenger: VariantWindow, check: str) -> None:
    champion = _window(500, correct=180)
    verdict = judge(champion, challenger, CRITERIA)
    assert verdict.outcome == "fail"
    assert verdict.evidence[check]["failed"] is True
    assert verdict.evidence[check]["p_value"] < CRITERIA.alpha


def test_a_small_difference_is_tolerated() -> None:
    verdict = judge(_window(500, errors=1), _window(500, errors=3), CRITERIA)
    assert verdict.outcome == "pass" and verdict.evidence["error_rate"]["increase"] > 0


@pytest.mark.parametrize(
    "bad",
    [
        {"strategy": "canary", "steps": [50, 10]},
        {"strategy": "canary", "steps": [0, 100]},
        {"strategy": "ab", "split": 100},
        {"strategy": "shadow", "percent": 0},
        {"strategy": "blue-green"},
        {"strategy": "canary", "criteria": {"alpha": 2}},
        {"strategy": "canary", "speed": 3},
    ],
)
def test_strategies_refuse_bad_settings(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInputError):
        strategy_from_json(bad)


def test_strategies_round_trip() -> None:
    for strategy in (Canary(steps=(5, 25, 50, 100)), Shadow(percent=20), ABTest(split=30)):
        assert strategy_from_json(strategy.to_json()) == strategy


def test_inputs_are_checked_against_the_signature() -> None:
    signature = Signature(
        inputs=(
            TensorSpec("size", "float64"),
            TensorSpec("count", "int64"),
            TensorSpec("variety", "string"),
        ),
        outputs=(TensorSpec("predictions", "int64"),),
        input_kind="columns",
    )
    spec = InputSpec.from_signature(signature)
    ok = parse_json(spec, {"records": [{"size": 1.5, "count": 2, "variety": "gala"}]})
    assert not isinstance(ok, list) and ok.n == 1 and ok.columns is not None
    for record, field in [
        ({"size": 1.5, "variety": "gala"}, "count"),
        ({"size": "big", "count": 2, "variety": "gala"}, "size"),
        ({"size": 1.0, "count": 2.5, "variety": "gala"}, "count"),
        ({"size": True, "count": 2, "variety": "gala"}, "size"),
        ({"size": 1.0, "count": 2, "variety": 7}, "variety"),
        ({"size": None, "count": 2, "variety": "gala"}, "size"),
    ]:
        with pytest.raises(InvalidInputError) as info:
            parse_json(spec, {"records": [record]})
        assert info.value.details["field"] == field
    with pytest.raises(InvalidInputError, match="exactly one"):
        parse_json(spec, {"records": [], "columns": {}})


def test_image_signatures_are_recognised() -> None:
    nhwc = Signature((TensorSpec("input", "uint8", (-1, 64, 64, 3)),), ())
    nchw = Signature((TensorSpec("input", "float32", (-1, 3, 32, 32)),), ())
    flat = Signature((TensorSpec("input", "float32", (-1, 4)),), ())
    assert InputSpec.from_signature(nhwc).layout == "NHWC"
    assert InputSpec.from_signature(nchw).layout == "NCHW"
    assert InputSpec.from_signature(flat).kind == "tensor"


def test_a_more_accurate_challenger_that_predicts_differently_passes() -> None:
    champion = _window(500, labels="b", correct=120)  # one class; 60 % right
    challenger = _window(500, labels="ab", correct=190)  # both classes; 95 % right
    verdict = judge(champion, challenger, CRITERIA)
    assert verdict.outcome == "pass", verdict.reasons
    divergence = verdict.evidence["divergence"]
    assert divergence["diverged"] is True and divergence["p_value"] < CRITERIA.alpha
    assert divergence["failed"] is False and divergence["judged_by"] == "accuracy"
    assert verdict.evidence["accuracy"]["failed"] is False


def test_divergence_fails_while_labels_are_lacking() -> None:
    few = Criteria(min_samples=100, alpha=0.01, min_feedback=500)  # 200 labels < 500
    champion = _window(500, labels="b", correct=120)
    challenger = _window(500, labels="ab", correct=190)
    verdict = judge(champion, challenger, few)
    assert verdict.outcome == "fail" and verdict.reasons == ["predictions diverge"]
    assert "accuracy" not in verdict.evidence
    assert verdict.evidence["divergence"]["judged_by"] == "divergence"


def test_a_diverging_and_less_accurate_challenger_fails_on_accuracy() -> None:
    champion = _window(500, labels="ab", correct=190)
    challenger = _window(500, labels="b", correct=120)
    verdict = judge(champion, challenger, CRITERIA)
    assert verdict.outcome == "fail" and verdict.reasons == ["accuracy fell"]
    assert verdict.evidence["divergence"]["diverged"] is True
