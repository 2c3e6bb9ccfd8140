"""Embedding drift: MMD with a permutation test on subsamples."""

from __future__ import annotations

import numpy as np
import pytest

from pomona.errors import InvalidInputError
from pomona.monitoring import mmd_test


def test_same_distribution_rarely_drifts_and_a_shift_does() -> None:
    false_alarms = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        result = mmd_test(rng.normal(0, 1, (400, 16)), rng.normal(0, 1, (400, 16)), seed=seed)
        assert result is not None
        false_alarms += result.drifted
    assert false_alarms <= 2
    rng = np.random.default_rng(99)
    moved = rng.normal(0, 1, (600, 16))
    moved[:, :4] += 0.5
    shifted = mmd_test(rng.normal(0, 1, (600, 16)), moved)
    assert shifted is not None and shifted.drifted and shifted.p_value < 0.01


def test_large_samples_are_subsampled_and_small_ones_not_judged() -> None:
    rng = np.random.default_rng(0)
    big = mmd_test(rng.normal(0, 1, (5000, 4)), rng.normal(0, 1, (3000, 4)), max_rows=500)
    assert big is not None and (big.n_reference, big.n_current) == (500, 500)
    assert mmd_test(rng.normal(0, 1, (10, 4)), rng.normal(0, 1, (10, 4))) is None
    with pytest.raises(InvalidInputError, match="width"):
        mmd_test(np.zeros((50, 3)), np.zeros((50, 4)))
