"""A workspace with at least one object behind every route, for fuzzing the real server.

``populate(home, scratch)`` fills a workspace embedded (``pomona.connect(home)``) and closes
it, so that a ``pomona server`` started afterwards has something to find under each path:
a run with metrics and artifacts; the fraud example's pipeline run (a table dataset
ingested, validated, prepared and split, a trained model, a study, a model registered and
promoted through the gates); an image dataset with labels; a deployment with prediction
logs and feedback; a monitor with windows, a firing alert and a silence; a feature
entity, view, service and training dataset; a schedule and an event.

``Known`` keeps those objects' identifiers by the path segment that precedes them in a
route (``datasets`` for ``/api/v1/datasets/{name}``, ``versions`` for ``…/versions/{version}``),
so the fuzzer can put real ones into paths as well as generated ones.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd

import pomona as pm
from pomona._utils.clock import from_ms, now_ms
from pomona.client.workspace import Workspace
from pomona.examples.fraud import generate_transactions
from pomona.examples.fraud.pipelines import train_fraud
from pomona.features import Entity, FeatureService, FeatureView, FileSource

__all__ = ["Known", "populate"]

DEPLOYMENT = "fraud-prod"


@dataclass
class Known:
    """Identifiers of the objects ``populate`` made, by the route segment before them."""

    values: dict[str, list[str]] = field(default_factory=dict)

    def add(self, segments: str, values: Iterable[object]) -> None:
        """Record ``values`` under each of the space-separated ``segments``."""
        for segment in segments.split():
            bucket = self.values.setdefault(segment, [])
            bucket.extend(str(v) for v in values if str(v) not in bucket)


def populate(home: Path, scratch: Path) -> Known:
    """Fill the workspace at ``home``; ``scratch`` holds the source files it reads."""
    known = Known()
    scratch.mkdir(parents=True, exist_ok=True)
    with pm.connect(home) as ws:
        _tracked_run(ws, scratch, known)
        records = _fraud_pipeline(ws, scratch, known)
        _images(ws, scratch, known)
        _serving(ws, records, known)
        _monitoring(ws, known)
        _features(ws, scratch, known)
        _schedules(ws, known)
    return known


def _tracked_run(ws: Workspace, scratch: Path, known: Known) -> None:
    (scratch / "notes.txt").write_text("fuzzing notes\n")
    with ws.start_run("fuzz-experiment", params={"lr": 0.1}) as run:
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        run.log_artifact(scratch / "notes.txt", "notes.txt")
        run.log_artifact(scratch / "notes.txt", "nested/notes.txt")
    known.add("runs", [run.run_id])
    known.add("metrics", ["loss"])
    known.add("artifacts", ["notes.txt", "nested/notes.txt"])


def _fraud_pipeline(ws: Workspace, scratch: Path, known: Known) -> list[dict[str, Any]]:
    """``train_fraud`` on 600 transactions: datasets, training runs, a study, a model."""
    frame = generate_transactions(600, seed=0, days=30, fraud_rate=0.1)
    source = scratch / "transactions"
    source.mkdir()
    frame.to_csv(source / "2026-01.csv", index=False)
    params = {"source": str(source), "n_trials": 2, "folds": 2}
    run = ws.pipelines.run(train_fraud, params)
    assert run.state.value == "succeeded", run.error
    known.add("runs", [run.run_id])
    known.add("steps", [s.name for s in run.steps])
    known.add("blobs lineage", [link.digest for step in run.steps for link in step.outputs])
    known.add("cache", [s.cache_key for s in run.steps if s.cache_key])

    for summary in ws.datasets.list_datasets():
        known.add("datasets", [summary.name])
        for version in ws.datasets.list_versions(summary.name):
            known.add("versions", [version.version])
            known.add("splits", [s.split_id for s in ws.datasets.list_splits(version.ref)])
            known.add("files", [r.record_id for r in ws.datasets.list_records(version.ref)][:3])
    champion = ws.models.get_version("fraud@champion")
    known.add("models", ["fraud"])
    known.add("versions", [champion.version])
    known.add("aliases", ["champion"])
    known.add("gate-reports", [r.digest for r in ws.models.list_gate_reports("fraud")])
    known.add("blobs", [f.digest for f in champion.files])
    known.add("studies", ["transactions-forest"])
    for tracked in ws.runs.search_runs("").items:
        known.add("runs evaluations", [tracked.run_id])
    requests = frame.drop(columns=["is_fraud", "transaction_id", "timestamp", "card_id"])
    requests["merchant_category"] = requests["merchant_category"].astype(str)
    return requests.head(40).to_dict(orient="records")  # type: ignore[return-value]


def _images(ws: Workspace, scratch: Path, known: Known) -> None:
    """Twelve generated apple photos in grade folders: an image dataset with labels."""
    from PIL import Image

    from pomona.testing.serving import apple_photos

    images, grades = apple_photos(12, seed=1)
    for i, (image, grade) in enumerate(zip(images, grades, strict=True)):
        folder = scratch / "photos" / grade
        folder.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG")
        (folder / f"apple-{i}.png").write_bytes(buf.getvalue())
    version = ws.datasets.ingest("photos", source=scratch / "photos", labels="subfolders")
    known.add("datasets", ["photos"])
    known.add("versions", [version.version])
    known.add("files", [r.record_id for r in ws.datasets.list_records(version.ref)][:3])


def _serving(ws: Workspace, records: list[dict[str, Any]], known: Known) -> None:
    ws.deployments.create(DEPLOYMENT, model="fraud@champion", options={"logging": "sync"})
    answer = ws.deployments.predict(DEPLOYMENT, records)
    for request_id, truth in zip(answer["request_ids"][:10], answer["predictions"], strict=False):
        ws.deployments.feedback(DEPLOYMENT, request_id, truth)
    known.add("deployments models", [DEPLOYMENT])
    known.add("feedback", answer["request_ids"][:3])


def _monitoring(ws: Workspace, known: Known) -> None:
    ws.monitors.create(DEPLOYMENT, window="15m", max_error_rate=0.0, min_accuracy=0.99)
    later = from_ms(now_ms())
    assert later is not None
    ws.monitors.run(DEPLOYMENT, now=later + timedelta(hours=1))
    silence = ws.alerts.silence(deployment=DEPLOYMENT, rule="accuracy", duration="1h")
    known.add("monitors", [DEPLOYMENT])
    known.add("alerts", [a.alert_id for a in ws.alerts.list().items])
    known.add("silences", [silence.silence_id])


def _features(ws: Workspace, scratch: Path, known: Known) -> None:
    start = pd.Timestamp("2026-05-01", tz="UTC")
    sizes = pd.DataFrame(
        {
            "apple_id": [i % 5 for i in range(20)],
            "event_timestamp": [start + pd.Timedelta(hours=i) for i in range(20)],
            "weight_g": [150.0 + i for i in range(20)],
        }
    )
    sizes.to_parquet(scratch / "sizes.parquet")
    ws.features.apply(
        [
            Entity("apple", join_keys={"apple_id": "int64"}),
            FeatureView(
                "sizes",
                source=FileSource(str(scratch / "sizes.parquet")),
                entities=["apple"],
                features={"weight_g": "float64"},
                ttl=timedelta(days=2),
            ),
            FeatureService("grader", ["sizes:weight_g"]),
        ]
    )
    entity_df = pd.DataFrame(
        {"apple_id": [0, 1, 2], "event_timestamp": [start + pd.Timedelta(days=1)] * 3}
    )
    ws.features.save_training_dataset("apple_sizes", entity_df, "grader")
    ws.features.materialize(start.to_pydatetime(), (start + pd.Timedelta(days=1)).to_pydatetime())
    known.add("entities", ["apple"])
    known.add("views", ["sizes"])
    known.add("services", ["grader"])
    known.add("training-datasets", ["apple_sizes"])


def _schedules(ws: Workspace, known: Known) -> None:
    ws.pipelines.create_schedule(
        "nightly-fraud", train_fraud, cron="0 3 * * *", params={"n_trials": 1}
    )
    ws.pipelines.emit_event("fuzz.started", {"by": "populate"})
    known.add("schedules", ["nightly-fraud"])
