"""``CanaryMetrics`` from serving's own prediction logs and the feedback table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore
from pomona.serving._feedback import FeedbackOps
from pomona.serving.analysis import VariantWindow
from pomona.serving.logs import load_prediction_logs

__all__ = ["LogMetrics"]

_COLUMNS = ("request_id", "variant", "status", "latency_ms", "prediction")


class LogMetrics:
    """Reads each variant's window from the Parquet logs; accuracy from stored feedback."""

    def __init__(
        self, metadata: MetadataStore, artifacts: ArtifactStore, feedback: FeedbackOps
    ) -> None:
        self._db = metadata
        self._blobs = artifacts
        self._feedback = feedback

    def window(
        self, deployment: str, variants: Sequence[str], start_ms: int, end_ms: int
    ) -> dict[str, VariantWindow]:
        table = load_prediction_logs(
            self._db,
            self._blobs,
            deployment,
            start_ms=start_ms,
            end_ms=end_ms,
            variants=variants,
            columns=_COLUMNS,
        )
        labels = self._feedback.list_feedback(deployment, start_ms=start_ms)
        out = {v: VariantWindow() for v in variants}
        if table.num_rows == 0:
            return out
        data = table.to_pydict()
        rows: dict[str, list[int]] = {}
        for i, variant in enumerate(data["variant"]):
            rows.setdefault(variant, []).append(i)
        for variant, idx in rows.items():
            if variant not in out:
                continue
            ok = [i for i in idx if data["status"][i] == "ok"]
            preds = [str(data["prediction"][i]) for i in ok]
            truth = [(labels.get(data["request_id"][i]), data["prediction"][i]) for i in ok]
            known = [(t, p) for t, p in truth if t is not None]
            out[variant] = VariantWindow(
                n=len(idx),
                errors=len(idx) - len(ok),
                latencies_ms=np.asarray([data["latency_ms"][i] for i in ok], dtype=float),
                predictions=preds,
                labelled=len(known),
                correct=sum(1 for t, p in known if str(t) == str(p)),
            )
        return out
