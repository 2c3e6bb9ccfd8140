"""Monitoring through the public API, embedded (SQLite, PostgreSQL+S3) and remote: a model
trained on a dataset version, served, watched against that version (found through lineage)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pomona._utils.clock import from_ms, now_ms
from pomona.client.workspace import Workspace
from pomona.errors import AlreadyExistsError, InvalidInputError
from pomona.monitoring import AlertRule, MonitorNotFoundError
from pomona.testing.serving import cancer_frame


def _serve_cancer(ws: Workspace, tmp_path: Path, deployment: str) -> Any:
    """Ingest breast_cancer, train on it (lineage: that version), deploy it."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = cancer_frame()
    frame = X.assign(target=y.astype(str))
    path = tmp_path / "cancer.csv"
    frame.to_csv(path, index=False)
    data = ws.datasets.ingest("cancer", source=path, labels="target")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    ws.models.register("cancer", model, input_example=X.iloc[:5], dataset_versions=[str(data)])
    ws.deployments.create(deployment, model="cancer:1", options={"logging": "sync"})
    return X, y


def _later(hours: float = 2.0) -> Any:
    moment = from_ms(now_ms())
    assert moment is not None
    return moment + timedelta(hours=hours)


def test_monitors_are_created_listed_replaced_and_deleted(ws: Workspace) -> None:
    made = ws.monitors.create("shop", window="15m", min_accuracy=0.8, latency_p99_ms=50)
    assert (made.name, made.deployment, made.window_s) == ("shop", "shop", 900.0)
    assert {r.name for r in made.rules} >= {"data_drift", "accuracy", "latency_p99"}
    ws.monitors.create(
        "shop", name="shop-latency", rules=[AlertRule("slow", "latency_p99_ms", ">", 20)]
    )
    assert [m.name for m in ws.monitors.list()] == ["shop", "shop-latency"]
    assert [m.name for m in ws.monitors.list(deployment="nowhere")] == []

    with pytest.raises(AlreadyExistsError, match="already exists"):
        ws.monitors.create("shop")
    changed = ws.monitors.create("shop", window="1h", replace=True)
    assert ws.monitors.get("shop").window_s == changed.window_s == 3600.0
    with pytest.raises(InvalidInputError, match="window") as info:
        ws.monitors.create("shop", name="bad", window="soon")
    assert info.value.details["field"] == "window"
    with pytest.raises(InvalidInputError, match="reference"):
        ws.monitors.create("shop", name="bad", reference="yesterday")

    ws.monitors.delete("shop-latency")
    ws.monitors.delete("shop-latency")  # idempotent
    with pytest.raises(MonitorNotFoundError, match="shop-latency"):
        ws.monitors.get("shop-latency")


def test_live_traffic_like_training_raises_no_alert_and_late_labels_add_accuracy(
    ws: Workspace, tmp_path: Path
) -> None:
    X, y = _serve_cancer(ws, tmp_path, "cancer-prod")
    ws.monitors.create("cancer-prod", window="1h", min_accuracy=0.8)
    answer = ws.deployments.predict("cancer-prod", X)
    first = ws.monitors.run("cancer-prod", now=_later())[0]
    assert first.error is None and len(ws.monitors.windows("cancer-prod")) >= 1
    assert ws.alerts.list(state="firing").items == []
    drift = ws.monitors.results("cancer-prod", metric="dataset_drift")
    assert drift and all(p.value == 0.0 for p in drift)
    estimated = ws.monitors.results("cancer-prod", metric="estimated_accuracy", feature="")
    assert estimated and 0.9 < estimated[0].value <= 1.0
    assert ws.monitors.results("cancer-prod", metric="accuracy") == []  # no labels yet

    for rid, label in zip(answer["request_ids"][:200], y.iloc[:200], strict=True):
        ws.deployments.feedback("cancer-prod", rid, int(label))
    ws.monitors.run("cancer-prod", now=_later())
    accuracy = ws.monitors.results("cancer-prod", metric="accuracy", feature="")
    assert accuracy and accuracy[-1].value > 0.9
    labelled = [w for w in ws.monitors.windows("cancer-prod") if w.labelled]
    assert sum(w.labelled for w in labelled) == 200
    assert all(w.label_updates >= 1 for w in labelled)  # recomputed when the labels came


def test_shifted_traffic_fires_a_drift_alert_that_can_be_acknowledged(
    ws: Workspace, tmp_path: Path
) -> None:
    X, _ = _serve_cancer(ws, tmp_path, "cancer-shift")
    ws.monitors.create("cancer-shift", window="1h")
    ws.deployments.predict("cancer-shift", X * 1.6)  # every input 60 % larger
    assert ws.monitors.run(now=_later())[0].error is None
    fired = list(ws.alerts.list(state="firing"))  # a server's runner may have been first
    assert [a.rule for a in fired] == ["data_drift"]
    alert = fired[0]
    assert alert.details["retrain"]["requested"] is True
    events = ws.pipelines.list_events("alert.fired")
    assert [e.payload["alert_id"] for e in events] == [alert.alert_id]
    assert events.items[0].payload["model"] == "cancer"
    (decision,) = ws.monitors.retrains("cancer")
    assert (decision["decision"], decision["alert_id"]) == ("emitted", alert.alert_id)

    again = ws.monitors.run(now=_later())[0]  # nothing new: no second alert
    assert again.alerts == () and len(ws.alerts.list(state="firing")) == 1

    acked = ws.alerts.ack(alert.alert_id, by="farmer", comment="looking")
    who = "local" if ws.remote else "farmer"  # a server records its credential's user
    assert (acked.acked_by, acked.ack_comment) == (who, "looking")
    silence = ws.alerts.silence(deployment="cancer-shift", duration="2h", by="farmer")
    assert [s.silence_id for s in ws.alerts.silences()] == [silence.silence_id]
    ws.alerts.expire_silence(silence.silence_id)
    assert ws.alerts.silences() == []

    html = ws.monitors.report("cancer-shift", path=tmp_path / "report.html")
    assert "<svg" in html and "mean_radius" in html and "data_drift" in html
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == html
