"""Drift detection: no drift → no alarm; known shifts → detected; agrees with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pomona.errors import InvalidInputError
from pomona.monitoring import DriftDetector, holm


def _table(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    return {
        "a": rng.normal(shift, 1.0, n),
        "b": rng.exponential(1.0, n) + shift,
        "c": rng.uniform(0, 1, n),
        "colour": rng.choice(["red", "green", "yellow"], n, p=[0.5, 0.3, 0.2]),
    }


def test_identical_distributions_raise_no_alarm_over_50_seeds() -> None:
    false_alarms = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        report = (
            DriftDetector(categorical=["colour"]).fit(_table(rng, 2000)).detect(_table(rng, 2000))
        )
        false_alarms += report.drifted
    assert false_alarms / 50 <= 0.05


@pytest.mark.parametrize(("shift", "floor"), [(0.1, 0.0), (0.3, 0.8), (0.5, 1.0), (1.0, 1.0)])
def test_detection_rate_grows_with_the_shift(shift: float, floor: float) -> None:
    detected = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        ref = {"a": rng.normal(0, 1, 2000)}
        cur = {"a": rng.normal(shift, 1, 2000)}
        detected += bool(DriftDetector().fit(ref).detect(cur).features[0].drifted)
    rate = detected / 20
    print(f"shift {shift} std: detection rate {rate:.2f}")
    assert rate >= floor


def test_a_huge_window_with_a_tiny_shift_is_not_drift() -> None:
    rng = np.random.default_rng(7)
    ref = {"a": rng.normal(0, 1, 200_000)}
    cur = {"a": rng.normal(0.02, 1, 200_000)}  # p-value tiny, effect negligible
    feature = DriftDetector().fit(ref).detect(cur).features[0]
    assert feature.p_value is not None and feature.p_value < 0.05
    assert feature.drifted is False


def test_ks_and_chi2_agree_with_scipy() -> None:
    rng = np.random.default_rng(3)
    ref, cur = _table(rng, 3000), _table(rng, 2500, shift=0.2)
    report = DriftDetector(categorical=["colour"]).fit(ref).detect(cur)
    by_name = {f.feature: f for f in report.features}
    for name in ("a", "b", "c"):
        expected = stats.ks_2samp(ref[name], cur[name], method="asymp")
        assert by_name[name].statistic == pytest.approx(expected.statistic)
        assert by_name[name].p_value == pytest.approx(expected.pvalue, rel=1e-6, abs=1e-12)
        assert by_name[name].wasserstein == pytest.approx(
            stats.wasserstein_distance(ref[name], cur[name]) / np.std(ref[name])
        )
    _, p, _, _ = stats.chi2_contingency(
        [[np.sum(ref["colour"] == c) for c in ("green", "red", "yellow")],
         [np.sum(cur["colour"] == c) for c in ("green", "red", "yellow")]],
        correction=False,
    )  # fmt: skip
    assert by_name["colour"].p_value == pytest.approx(p)


def test_a_new_category_is_drift() -> None:
    rng = np.random.default_rng(5)
    ref = {"variety": rng.choice(["gala", "fuji"], 1000)}
    cur = {"variety": rng.choice(["gala", "fuji", "russet"], 1000, p=[0.3, 0.3, 0.4])}
    report = DriftDetector().fit(ref).detect(cur)
    assert report.drifted_features == ["variety"]


def test_too_few_samples_are_not_judged() -> None:
    rng = np.random.default_rng(1)
    report = DriftDetector().fit({"a": rng.normal(0, 1, 1000)}).detect({"a": rng.normal(5, 1, 50)})
    assert report.features[0].drifted is None
    assert report.drifted is False


def test_real_covariate_shift_in_breast_cancer_is_flagged() -> None:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    small = frame[frame["mean radius"] <= frame["mean radius"].median()]
    large = frame[frame["mean radius"] > frame["mean radius"].median()]
    report = DriftDetector(categorical=["target"]).fit(small).detect(large)
    assert report.drifted
    assert {"mean radius", "mean area", "mean perimeter"} <= set(report.drifted_features)
    same = frame.sample(frac=1.0, random_state=0)
    halves = DriftDetector(categorical=["target"]).fit(same.iloc[:284]).detect(same.iloc[284:])
    assert not halves.drifted


def test_holm_adjusts_in_order() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_detect_before_fit_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="fit"):
        DriftDetector().detect({"a": np.zeros(3)})
