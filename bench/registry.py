"""Registry benchmark: model load time per flavor, and ONNX Runtime against native predict
throughput on breast_cancer. Prints numbers (no assertions).

    .venv/bin/python bench/registry.py [--loads 20] [--seconds 1.0]

Load time is ``ws.models.load(ref)`` end to end: resolve the reference, copy every file
out of the artifact store verifying its digest, rebuild the model with its flavor.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import pomona
from pomona.client import Workspace


def _models(X: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> dict[str, tuple[Any, Any]]:
    """name -> (model, input example) for every flavor."""
    import lightgbm as lgb
    import torch
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from pomona.registry.flavors._apple_cnn import AppleCNN

    torch.manual_seed(0)
    return {
        "sklearn-logreg": (
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y),
            X,
        ),
        "sklearn-forest-100": (RandomForestClassifier(100, random_state=0).fit(X, y), X),
        "lightgbm-100": (lgb.LGBMClassifier(n_estimators=100, verbose=-1).fit(X, y), X),
        "torch-apple-cnn": (AppleCNN().eval(), torch.rand((4, 3, 64, 64))),
    }


def _times(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def bench_loads(ws: Workspace, models: dict[str, tuple[Any, Any]], n: int) -> None:
    print(f"model load time, {n} loads each (median / p95), embedded SQLite + local files")
    for name, (model, example) in models.items():
        start = time.perf_counter()
        version = ws.models.register(name, model, input_example=example)
        registered = time.perf_counter() - start
        size = sum(f.size for f in version.files)
        ws.models.load(version.ref, device="cpu")  # warm the imports
        times = sorted(_times(lambda ref=version.ref: ws.models.load(ref, device="cpu"), n))
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(
            f"  {name:20s} {version.flavor:9s} {size / 1024:8.1f} KiB  "
            f"load {statistics.median(times) * 1000:7.1f} ms / {p95 * 1000:7.1f} ms  "
            f"(register {registered * 1000:.0f} ms)"
        )


def _throughput(fn: Callable[[], object], rows: int, seconds: float) -> float:
    fn()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        count += 1
    return count * rows / (time.perf_counter() - start)


def bench_onnx(ws: Workspace, X: np.ndarray[Any, Any], seconds: float) -> None:
    from pomona.registry._onnx import onnx_session

    print(f"\npredict throughput on breast_cancer ({X.shape[0]} rows x {X.shape[1]}), rows/s")
    print(f"  {'model':20s} {'batch':>6s} {'native':>12s} {'onnxruntime':>12s} {'ratio':>7s}")
    for name in ("sklearn-logreg", "sklearn-forest-100"):
        loaded = ws.models.load(name)
        export = ws.models.export_onnx(name)
        with tempfile.TemporaryDirectory() as tmp:
            path = ws.models._download(name, export.digest, Path(tmp) / "m.onnx")
            session = onnx_session(path.read_bytes())
        feed = session.get_inputs()[0].name
        for batch in (1, 32, X.shape[0]):
            rows = X[:batch]
            native = _throughput(lambda: loaded.predict_proba(rows), batch, seconds)  # noqa: B023
            ort = _throughput(lambda: session.run(None, {feed: rows}), batch, seconds)  # noqa: B023
            print(f"  {name:20s} {batch:6d} {native:12,.0f} {ort:12,.0f} {ort / native:6.1f}x")
        print(f"  {'':20s} parity max |diff| {export.parity_max_abs_diff:.2g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    with tempfile.TemporaryDirectory() as tmp, pomona.connect(Path(tmp)) as ws:
        bench_loads(ws, _models(X, y), args.loads)
        bench_onnx(ws, X, args.seconds)


if __name__ == "__main__":
    main()
