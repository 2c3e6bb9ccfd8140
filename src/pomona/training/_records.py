"""How training results are written to runs and read back: JSON reports, test data, models."""

from __future__ import annotations

import io
import json
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pomona.errors import NotFoundError
from pomona.tracking.base import TrackingAPI
from pomona.tracking.run import ActiveRun
from pomona.training.evaluation import EvaluationReport

__all__ = [
    "EVALUATION_PATH",
    "KIND_TAG",
    "TEST_DATA_PATH",
    "find_test_data",
    "log_evaluation",
    "log_json",
    "log_test_data",
    "read_evaluation",
    "read_json",
]

KIND_TAG = "pomona.kind"
"""Tag naming what a run is: ``training``, ``study``, ``trial``, ``evaluation``, ``promotion``."""
EVALUATION_PATH = "evaluation/report.json"
TEST_DATA_PATH = "evaluation/test_data.npz"


def log_json(run: ActiveRun, value: Mapping[str, Any], path: str) -> str:
    """Write ``value`` as JSON under ``path``; returns the artifact's digest."""
    text = json.dumps(value, indent=2, sort_keys=True, default=str, allow_nan=False)
    return str(run.log_text(text, path).digest)


def read_json(api: TrackingAPI, run_id: str, path: str) -> Any:
    """A run's JSON artifact (verified download)."""
    with tempfile.TemporaryDirectory(prefix="pomona-") as tmp:
        dest = api.download_artifact(run_id, path, Path(tmp) / "a.json")
        return json.loads(dest.read_text())


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in values.items() if math.isfinite(v)}


def log_evaluation(run: ActiveRun, report: EvaluationReport, *, prefix: str = "test") -> str:
    """Store the report (JSON, thumbnails) and its numbers as metrics; returns its digest.

    Metrics: ``<prefix>.<metric>``, ``baseline.<name>.<metric>`` and ``lift.<name>``.
    """
    report.run_id = run.run_id
    for path, png in report.thumbnails.items():
        _log_bytes(run, png, path)
    digest = log_json(run, report.to_dict(), EVALUATION_PATH)
    metrics = {f"{prefix}.{k}": v for k, v in _finite(report.metrics).items()}
    for name, values in report.baselines.items():
        metrics.update({f"baseline.{name}.{k}": v for k, v in _finite(values).items()})
    metrics.update({f"lift.{name}": v for name, v in _finite(report.lift).items()})
    run.log_metrics(metrics)
    run.set_tags({"pomona.evaluation": EVALUATION_PATH})
    return digest


def _log_bytes(run: ActiveRun, data: bytes, path: str) -> None:
    with tempfile.TemporaryDirectory(prefix="pomona-") as tmp:
        local = Path(tmp) / Path(path).name
        local.write_bytes(data)
        run.log_artifact(local, path)


def read_evaluation(api: TrackingAPI, run_id: str) -> EvaluationReport:
    """The evaluation report stored on a run.

    Raises:
        NotFoundError: the run has no evaluation report.
    """
    api.get_run(run_id)  # RunNotFoundError for an unknown run
    try:
        return EvaluationReport.from_dict(read_json(api, run_id, EVALUATION_PATH))
    except NotFoundError as exc:
        raise NotFoundError(
            f"Run '{run_id}' has no evaluation report.",
            hint="Evaluate a model inside the run: ws.evaluate(model, X, y).",
            details={"run_id": run_id},
        ) from exc


def _storable(arr: NDArray[Any]) -> bool:
    return arr.dtype.kind in "biufU"


def log_test_data(
    run: ActiveRun, X: Any, y: NDArray[Any], attributes: Mapping[str, NDArray[Any]]
) -> bool:
    """Keep the test split with the run (``.npz``, no pickle) so gates can reuse it.

    Returns False (and stores nothing) when the data is not plain numbers or text.
    """
    arrays: dict[str, NDArray[Any]] = {"y": np.asarray(y)}
    if hasattr(X, "columns"):
        arrays["columns"] = np.array([str(c) for c in X.columns], dtype=str)
        arrays.update({f"col.{i}": np.asarray(X[c]) for i, c in enumerate(X.columns)})
    else:
        arrays["X"] = np.asarray(X)
    arrays.update({f"attr.{k}": np.asarray(v) for k, v in attributes.items()})
    if not all(_storable(a) or a.size == 0 for a in arrays.values()):
        return False
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    _log_bytes(run, buf.getvalue(), TEST_DATA_PATH)
    return True


def find_test_data(
    api: TrackingAPI, run_id: str
) -> tuple[Any, NDArray[Any], dict[str, NDArray[Any]]] | None:
    """The test split stored on a run (a DataFrame again if it was one), or None."""
    if not any(a.path == TEST_DATA_PATH for a in api.list_artifacts(run_id)):
        return None
    with tempfile.TemporaryDirectory(prefix="pomona-") as tmp:
        dest = api.download_artifact(run_id, TEST_DATA_PATH, Path(tmp) / "t.npz")
        with np.load(dest, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    X: Any = arrays.get("X")
    if "columns" in arrays:
        import pandas as pd  # type: ignore[import-untyped]

        names = arrays["columns"].tolist()
        X = pd.DataFrame({name: arrays[f"col.{i}"] for i, name in enumerate(names)})
    attrs = {k.removeprefix("attr."): v for k, v in arrays.items() if k.startswith("attr.")}
    return X, arrays["y"], attrs
