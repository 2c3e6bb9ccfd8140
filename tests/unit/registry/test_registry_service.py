"""The embedded registry's invariants: numbering under concurrency, files stored before the
rows that name them, and inputs checked before anything is written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from pomona.errors import InvalidInputError, NotFoundError
from pomona.registry import RegistryService, Signature, TensorSpec
from pomona.types import Digest

SIGNATURE = Signature((TensorSpec("input", "float64", (-1, 2)),), (), "tensor")


def _model() -> LogisticRegression:
    X = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    return LogisticRegression().fit(X, [0, 1, 1, 0])


def test_concurrent_registrations_get_distinct_numbers(registry: RegistryService) -> None:
    model = _model()
    example = np.zeros((2, 2))
    with ThreadPoolExecutor(4) as pool:
        versions = list(
            pool.map(lambda i: registry.register("m", model, input_example=example), range(8))
        )
    assert sorted(v.version for v in versions) == list(range(1, 9))
    assert registry.get_model("m").latest_version == 8


def test_a_version_naming_a_blob_that_is_not_stored_is_refused(
    registry: RegistryService,
) -> None:
    missing = Digest("sha256:" + "0" * 64)
    with pytest.raises(InvalidInputError, match="not stored"):
        registry.create_version(
            "m", flavor="sklearn", files={"model.skops": missing}, signature=SIGNATURE
        )
    with pytest.raises(NotFoundError):
        registry.get_model("m")


@pytest.mark.parametrize("path", ["../escape", "/abs", "a/../../b", "sp ace"])
def test_file_paths_cannot_escape_the_version_folder(
    registry: RegistryService, tmp_path: Path, path: str
) -> None:
    blob = tmp_path / "f"
    blob.write_bytes(b"x")
    digest, _ = registry._upload(blob)
    with pytest.raises(InvalidInputError, match="not a model file path"):
        registry.create_version("m", flavor="sklearn", files={path: digest}, signature=SIGNATURE)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"metrics": {"acc": "high"}}, "metrics.acc"),
        ({"metrics": {"acc": float("inf")}}, "metrics.acc"),
        ({"dataset_versions": [""]}, "dataset_versions"),
        ({"parent_version": 3}, "parent_version"),
        ({"flavor": "onnx"}, "flavor"),
    ],
    ids=["text-metric", "inf-metric", "empty-dataset", "no-parent", "flavor"],
)
def test_bad_version_fields_are_named_and_nothing_is_written(
    registry: RegistryService, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        registry.register("m", _model(), input_example=np.zeros((2, 2)), **kwargs)  # type: ignore[arg-type]
    assert info.value.details["field"] == field
    assert registry.list_models().items == []


def test_nan_metrics_are_kept(registry: RegistryService) -> None:
    version = registry.register(
        "m", _model(), input_example=np.zeros((2, 2)), metrics={"auc": float("nan"), "acc": 1}
    )
    assert np.isnan(version.metrics["auc"]) and version.metrics["acc"] == 1.0
    assert np.isnan(registry.get_version("m:1").metrics["auc"])
