"""Prediction logs for monitoring tests and benchmarks, written as serving writes them.

``write_log`` stores a Parquet file in the artifact store and indexes it in
``prediction_log_files`` (the serving contract); ``synthetic_log`` makes the rows of a
two-feature classifier whose inputs can be shifted. ``StaticReferences`` is a reference
provider holding fixed data. Imports pyarrow on use.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Mapping
from typing import Any

import numpy as np

from pomona._utils.clock import now_ms
from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore
from pomona.metadata.schema import feedback, prediction_log_files
from pomona.monitoring.base import Reference

__all__ = ["StaticReferences", "reference_frame", "synthetic_log", "write_feedback", "write_log"]

HOUR_MS = 3_600_000
CLASSES = ("a", "b")


def synthetic_log(
    n: int,
    start_ms: int,
    end_ms: int,
    *,
    shift: float = 0.0,
    seed: int = 0,
    deployment: str = "demo",
    model: tuple[str, int] = ("demo", 1),
    error_rate: float = 0.0,
    missing: float = 0.0,
    label_noise: float = 0.0,
) -> dict[str, Any]:
    """Rows of a logistic classifier on ``x`` (normal) and ``colour`` (red/green/yellow).

    ``shift`` moves ``x`` by that many standard deviations and makes yellow common.
    The true label is ``a`` when ``x + noise > 0``: the model is right about 85 % of the
    time on unshifted data; ``label_noise`` flips that share of true labels (the model gets
    worse without its inputs changing). Returns columns, and the true labels under
    ``"_truth"``.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    p_colour = [0.5, 0.3, 0.2] if shift == 0 else [0.2, 0.2, 0.6]
    colour = rng.choice(np.array(["red", "green", "yellow"]), n, p=p_colour)
    truth = np.where(x + rng.normal(0, 0.6, n) > 0, "a", "b")
    flip = rng.random(n) < label_noise
    truth = np.where(flip, np.where(truth == "a", "b", "a"), truth)
    p_a = 1 / (1 + np.exp(-3 * x))
    prediction = np.where(p_a >= 0.5, "a", "b")
    status = np.where(rng.random(n) < error_rate, "error", "ok")
    x_logged = np.where(rng.random(n) < missing, np.nan, x)
    ok = status == "ok"
    return {
        "request_id": [uuid.uuid4().hex for _ in range(n)],
        "deployment": [deployment] * n,
        "model_name": [model[0]] * n,
        "model_version": np.full(n, model[1], dtype=np.int64),
        "variant": ["primary"] * n,
        "ts_ms": np.sort(rng.integers(start_ms, end_ms, n)).astype(np.int64),
        "latency_ms": rng.gamma(2.0, 2.0, n),
        "status": status.tolist(),
        "error": [None if s == "ok" else "boom" for s in status],
        "in__x": x_logged,
        "in__colour": colour.tolist(),
        "prediction": [p if o else None for p, o in zip(prediction, ok, strict=True)],
        "confidence": np.where(ok, np.maximum(p_a, 1 - p_a), np.nan),
        "proba__a": np.where(ok, p_a, np.nan),
        "proba__b": np.where(ok, 1 - p_a, np.nan),
        "_truth": truth.tolist(),
    }


def reference_frame(n: int = 2000, seed: int = 99) -> dict[str, Any]:
    """The training data the synthetic model would have been fitted on (no shift)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n)
    colour = rng.choice(np.array(["red", "green", "yellow"]), n, p=[0.5, 0.3, 0.2])
    labels = np.where(x + rng.normal(0, 0.6, n) > 0, "a", "b")
    return {"x": x, "colour": colour, "_labels": labels}


def write_log(metadata: MetadataStore, artifacts: ArtifactStore, rows: Mapping[str, Any]) -> str:
    """Store ``rows`` (columns; ``_``-prefixed ones left out) as one log file; its digest."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    table = pa.table({k: v for k, v in rows.items() if not k.startswith("_")})
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    digest, _ = artifacts.put_bytes(buf.getvalue())
    ts = np.asarray(rows["ts_ms"])
    first = rows["model_version"][0] if len(ts) else 0
    with metadata.write() as conn:
        conn.execute(
            prediction_log_files.insert().values(
                deployment=rows["deployment"][0],
                model_name=rows["model_name"][0],
                model_version=int(first),
                variant=rows["variant"][0],
                hour_ms=int(ts.min()) - int(ts.min()) % HOUR_MS,
                digest=digest,
                rows=len(ts),
                min_ts_ms=int(ts.min()),
                max_ts_ms=int(ts.max()),
                created_ms=now_ms(),
            )
        )
    return str(digest)


def write_feedback(
    metadata: MetadataStore,
    deployment: str,
    labels: Mapping[str, str],
    *,
    received_ms: int | None = None,
) -> None:
    """Store true labels by request id (as ``ws.deployments.feedback`` does)."""
    at = received_ms if received_ms is not None else now_ms()
    rows = [
        {"request_id": k, "deployment": deployment, "label": v, "received_ms": at, "source": "test"}
        for k, v in labels.items()
    ]
    with metadata.write() as conn:
        conn.execute(feedback.insert(), rows)


class StaticReferences:
    """A ``ReferenceProvider`` that returns the same reference for every model."""

    def __init__(self, data: Mapping[str, Any], key: str = "static") -> None:
        columns = {k: np.asarray(v) for k, v in data.items() if not k.startswith("_")}
        labels = data.get("_labels")
        self.value = Reference(
            key, "test reference", columns, None if labels is None else np.asarray(labels)
        )
        self.calls = 0

    def reference(self, deployment: str, model: str) -> Reference | None:
        self.calls += 1
        return self.value
