"""Reports are built from stored profiles: a 1,000,000-row window stays under 2 MB."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from pomona.testing.monitoring import write_log


def _million_rows(t0: int) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 1_000_000
    prefix = uuid.uuid4().hex[:8]
    p_a = rng.uniform(0, 1, n)
    return {
        "request_id": [f"{prefix}-{i}" for i in range(n)],
        "deployment": ["demo"] * n,
        "model_name": ["demo"] * n,
        "model_version": np.ones(n, dtype=np.int64),
        "variant": ["primary"] * n,
        "ts_ms": np.sort(rng.integers(t0, t0 + 3_600_000, n)),
        "latency_ms": rng.gamma(2.0, 2.0, n),
        "status": ["ok"] * n,
        "error": [None] * n,
        "in__x": rng.normal(0.2, 1.0, n),
        "in__colour": rng.choice(np.array(["red", "green", "yellow"]), n).tolist(),
        "prediction": np.where(p_a >= 0.5, "a", "b").tolist(),
        "confidence": np.maximum(p_a, 1 - p_a),
        "proba__a": p_a,
        "proba__b": 1 - p_a,
    }


def test_the_report_of_a_million_row_window_stays_under_2_mb(env: Any, tmp_path: Any) -> None:
    write_log(env.metadata, env.artifacts, _million_rows(env.t0))
    env.hour(1, n=5000)
    env.service.create("demo", window="1h")
    env.service.run("demo", now=env.after(1))
    windows = list(env.service.windows("demo"))
    assert [w.rows for w in reversed(windows)] == [1_000_000, 5000]

    html = env.service.report("demo", path=tmp_path / "r.html")
    size = len(html.encode("utf-8"))
    assert size < 2 * 1024 * 1024
    assert "1,005,000 predictions" in html
    assert html.count("<svg") >= 8 and "<script" not in html
    assert (tmp_path / "r.html").stat().st_size == size


def test_a_report_without_windows_says_so(env: Any) -> None:
    env.service.create("demo", window="1h")
    html = env.service.report("demo")
    assert "no windows yet" in html and "No alerts." in html
