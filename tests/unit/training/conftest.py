"""A local workspace (SQLite, files) and small real data sets for the training unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import pomona
from pomona.client import Workspace

FAST = {"tracking.flush_interval_s": 0.05}


@pytest.fixture
def tws(tmp_path: Path) -> Iterator[Workspace]:
    with pomona.connect(tmp_path / "ws", **FAST) as ws:
        yield ws


@pytest.fixture(scope="session")
def cancer() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@pytest.fixture(scope="session")
def small_apples() -> tuple[Any, Any, dict[str, Any]]:
    from pomona.examples import apples

    images, metas = apples.generate_apples(90, seed=3, size=32)
    grades = np.array([m.grade for m in metas])
    attrs = {"variety": [m.variety for m in metas], "brightness": [m.brightness for m in metas]}
    return images, grades, attrs
