"""An edge bundle runs in a fresh virtual environment holding only onnxruntime and numpy.

The environment is a plain venv (no system site-packages, so Pomona cannot leak in); pip
installs the two packages from its cache or index. This takes tens of seconds: one test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pomona


def _venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "onnxruntime", "numpy"],
        check=True,
        capture_output=True,
        timeout=240,
    )  # fmt: skip
    return python


def test_the_bundle_predicts_in_a_venv_without_pomona(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    with pomona.connect(tmp_path / "ws") as ws:
        ws.models.register("cancer", model, input_example=X.iloc[:5])
        bundle = ws.models.build_edge_bundle("cancer", tmp_path / "bundle")
    started = time.perf_counter()
    python = _venv(tmp_path / "edge-venv")
    print(f"venv with onnxruntime + numpy ready in {time.perf_counter() - started:.1f}s")
    no_pomona = subprocess.run([str(python), "-c", "import pomona"], capture_output=True, text=True)
    assert no_pomona.returncode != 0 and "No module named 'pomona'" in no_pomona.stderr
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps(X.iloc[:50].to_dict(orient="records")))
    out = subprocess.run(
        [str(python), "predict.py", str(rows)],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(out.stdout)
    assert result["predictions"] == model.predict(X.iloc[:50]).tolist()
    np.testing.assert_allclose(result["probabilities"], model.predict_proba(X.iloc[:50]), atol=1e-6)
    example = subprocess.run(
        [str(python), "predict.py", "input_example.json"],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(example.stdout)["predictions"] == model.predict(X.iloc[:5]).tolist()
