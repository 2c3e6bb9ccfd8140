"""Deployments with a feature service: requests carry entity keys, the server adds features.

The consistency test trains on a point-in-time training set and checks that a request
carrying only keys is answered exactly as the model answers the offline features.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.errors import InvalidInputError, NotFoundError
from pomona.features import Entity, FeatureService, FeatureView, FileSource
from pomona.serving.logs import load_prediction_logs

FEATURES = ["weight_g", "redness"]
N = 20


def _feature_store(ws: Workspace, folder: Path, now: datetime) -> None:
    """Apples 0..19: three weighings and colour readings each in the last three days."""
    rng = np.random.default_rng(7)
    times = [now - timedelta(days=d, hours=1) for d in (3, 2, 1)]
    ids = np.repeat(np.arange(N), 3)
    stamps = times * N
    pd.DataFrame(
        {"apple_id": ids, "event_timestamp": stamps, "weight_g": rng.normal(160, 15, 3 * N)}
    ).to_parquet(folder / "sizes.parquet")
    pd.DataFrame(
        {"apple_id": ids, "event_timestamp": stamps, "redness": rng.random(3 * N)}
    ).to_parquet(folder / "colour.parquet")
    views = [
        FeatureView(
            name,
            source=FileSource(str(folder / f"{name}.parquet")),
            entities=["apple"],
            features={feature: "float64"},
            ttl=timedelta(days=30),
        )
        for name, feature in (("sizes", "weight_g"), ("colour", "redness"))
    ]
    service = FeatureService("grader", ["sizes:weight_g", "colour:redness"])
    ws.features.apply([Entity("apple", join_keys={"apple_id": "int64"}), *views, service])
    ws.features.materialize(now - timedelta(days=10), now)


def _train_and_deploy(ws: Workspace, folder: Path) -> tuple[Any, pd.DataFrame, datetime]:
    """A model trained on the service's point-in-time features plus a request-time input
    (``hour``), deployed with the feature service."""
    from sklearn.linear_model import LogisticRegression

    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    _feature_store(ws, folder, now)
    rng = np.random.default_rng(3)
    entity_df = pd.DataFrame(
        {
            "apple_id": np.tile(np.arange(N), 3),
            "event_timestamp": [now - timedelta(hours=h) for h in (60, 36, 0) for _ in range(N)],
            "hour": rng.integers(0, 24, 3 * N).astype(np.int64),
        }
    )
    train = ws.features.get_historical_features(entity_df, "grader")
    X = train[[*FEATURES, "hour"]]
    y = np.where(X["weight_g"] + 30 * X["redness"] > 175, "good", "bad")
    model = LogisticRegression(max_iter=1000).fit(X, y)
    ws.models.register("grader-model", model, input_example=X.iloc[:5])
    ws.deployments.create(
        "grader-prod", model="grader-model:1", options={"feature_service": "grader"}
    )
    return model, train.iloc[2 * N :].reset_index(drop=True), now


def test_entity_keys_only_are_answered_like_the_offline_features(
    ws: Workspace, tmp_path: Path
) -> None:
    model, latest, _ = _train_and_deploy(ws, tmp_path)
    assert ws.deployments.get("grader-prod").options.feature_service == "grader"
    records = [{"apple_id": int(r.apple_id), "hour": int(r.hour)} for r in latest.itertuples()]
    answer = ws.deployments.predict("grader-prod", records)

    offline = latest[[*FEATURES, "hour"]]
    assert answer["predictions"] == model.predict(offline).tolist()
    expected = model.predict_proba(offline)
    served = np.array([[p[c] for c in model.classes_] for p in answer["probabilities"]])
    np.testing.assert_allclose(served, expected, rtol=1e-9)
    assert len(set(answer["predictions"])) == 2  # both classes: the features matter

    columns = {"apple_id": [0, 1], "hour": [5, 6]}
    assert len(ws.deployments.predict("grader-prod", {"columns": columns})["predictions"]) == 2

    # The service's features in another order: values still go to the model by name.
    ws.features.apply([FeatureService("grader", ["colour:redness", "sizes:weight_g"])])
    again = ws.deployments.predict("grader-prod", records)
    assert again["probabilities"] == answer["probabilities"]


def test_bad_requests_and_unknown_services(ws: Workspace, tmp_path: Path) -> None:
    _train_and_deploy(ws, tmp_path)
    with pytest.raises(InvalidInputError, match="apple_id") as info:
        ws.deployments.predict("grader-prod", [{"hour": 3}])
    assert info.value.details["field"] == "apple_id"
    with pytest.raises(InvalidInputError, match="'hour'"):
        ws.deployments.predict("grader-prod", [{"apple_id": 1}])
    with pytest.raises(InvalidInputError, match="No online value of feature 'weight_g'") as info:
        ws.deployments.predict(
            "grader-prod", [{"apple_id": 1, "hour": 2}, {"apple_id": 99, "hour": 2}]
        )
    assert info.value.details["row"] == 1

    with pytest.raises(NotFoundError, match="nowhere"):
        ws.deployments.create(
            "other", model="grader-model:1", options={"feature_service": "nowhere"}
        )
    assert [d.name for d in ws.deployments.list()] == ["grader-prod"]
    with pytest.raises(NotFoundError, match="nowhere"):
        ws.deployments.update("grader-prod", options={"feature_service": "nowhere"})
    with pytest.raises(InvalidInputError, match="feature_service"):
        ws.deployments.update("grader-prod", options={"feature_service": 3})

    ws.deployments.update("grader-prod", options={"feature_service": ""})  # off again
    full = {"weight_g": 150.0, "redness": 0.5, "hour": 2}
    assert len(_once_reloaded(ws, [full])["predictions"]) == 1
    with pytest.raises(InvalidInputError, match="weight_g"):
        ws.deployments.predict("grader-prod", [{"apple_id": 1, "hour": 2}])


def _once_reloaded(ws: Workspace, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer once the serving process has the new policy (a server polls for it)."""
    for _ in range(100):
        try:
            return ws.deployments.predict("grader-prod", records)
        except InvalidInputError:
            time.sleep(0.1)
    raise AssertionError("the deployment never took the new options")


def test_logs_hold_enriched_values_and_http_answers_422(tmp_path: Path, live_app: Any) -> None:
    ws = pomona.connect(tmp_path / "ws")
    try:
        _, latest, now = _train_and_deploy(ws, tmp_path)
        ws.deployments.predict("grader-prod", [{"apple_id": 4, "hour": 11}])
        logs = load_prediction_logs(ws.metadata_store, ws.artifact_store, "grader-prod")
        online = ws.features.get_online_features({"apple_id": [4]}, "grader", at=now)
        assert logs.column("in__weight_g").to_pylist() == online["weight_g"]
        assert logs.column("in__redness").to_pylist() == online["redness"]
        assert logs.column("in__hour").to_pylist() == [11.0]
        assert latest.loc[latest.apple_id == 4, "weight_g"].tolist() == online["weight_g"]

        url = live_app(ws)
        path = f"{url}/v1/deployments/grader-prod/predict"
        ok = httpx.post(path, json={"records": [{"apple_id": 4, "hour": 11}]}, timeout=30)
        assert ok.status_code == 200 and len(ok.json()["predictions"]) == 1
        bad = httpx.post(path, json={"records": [{"hour": 11}]}, timeout=30)
        assert bad.status_code == 422 and "apple_id" in bad.text

        home = str(ws.settings.home)
        made = _cli("deploy", "create", "grader-cli", "-m", "grader-model:1",
                    "-o", "feature_service=grader", "-w", home, "--json")  # fmt: skip
        assert made.returncode == 0, made.stderr
        assert json.loads(made.stdout)["options"]["feature_service"] == "grader"
        unknown = _cli("deploy", "update", "grader-cli", "-o", "feature_service=nowhere", "-w", url)
        assert unknown.returncode == 3 and "nowhere" in unknown.stderr
        off = _cli("deploy", "update", "grader-cli", "-o", "feature_service=", "-w", home, "--json")
        assert off.returncode == 0 and "feature_service" not in json.loads(off.stdout)["options"]
    finally:
        ws.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.run([sys.executable, "-m", "pomona.cli.main", *args], env=env | {
        "COLUMNS": "200"}, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
