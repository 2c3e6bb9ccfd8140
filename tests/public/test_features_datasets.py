"""Dataset versions as feature sources, and training sets saved as dataset versions, through
the public SDK on every backend pair and both transports."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pomona import training
from pomona.client import Workspace
from pomona.errors import InvalidInputError, NotFoundError
from pomona.features import DatasetSource, Entity, FeatureService, FeatureView

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def _weighings(path: Path, extra: bool = False) -> Path:
    rows = {
        "apple_id": [1, 1, 2, 3],
        "event_timestamp": [T0, T0 + timedelta(days=2), T0 - timedelta(days=30), T0],
        "weight_g": [152.0, 149.5, 171.0, 140.0],
        "variety": ["gala", "gala", "fuji", None],
    }
    if extra:  # a later weighing of apple 2
        for key, value in zip(rows, [2, T0 + timedelta(days=1), 168.0, "fuji"], strict=True):
            rows[key].append(value)  # type: ignore[attr-defined]
    pd.DataFrame(rows).to_parquet(path)
    return path


def _views(dataset: str) -> list[object]:
    return [
        Entity("apple", join_keys={"apple_id": "int64"}),
        FeatureView(
            "weighings",
            source=DatasetSource(dataset),
            entities=["apple"],
            features={"weight_g": "float64", "variety": "string"},
            ttl=timedelta(days=7),
        ),
        FeatureService("grader", ["weighings:weight_g", "weighings:variety"]),
    ]


def _labels() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "apple_id": [1, 1, 2, 3, 4],
            "event_timestamp": [T0 + timedelta(days=d) for d in (1, 3, 2, 0, 0)],
            "grade": ["good", "ok", "good", "bad", "bad"],
        }
    )


def test_dataset_versions_are_feature_sources(ws: Workspace, tmp_path: Path) -> None:
    ws.datasets.ingest("weighings", _weighings(tmp_path / "w1.parquet"))
    ws.features.apply(_views("weighings"))  # type: ignore[arg-type]
    first = ws.features.get_historical_features(_labels(), "grader")
    assert first["weight_g"].tolist()[:2] == [152.0, 149.5]
    assert math.isnan(first["weight_g"][2])  # apple 2's weighing is past the TTL
    assert first["variety"].isna().tolist()[3:] == [True, True]  # a null; an unknown apple
    snapshot = ws.features.get_feature_view("weighings").snapshot
    assert snapshot is not None and snapshot.num_rows == 4

    # "weighings" follows the newest version: a new version is snapshotted on the next join.
    ws.datasets.ingest("weighings", _weighings(tmp_path / "w2.parquet", extra=True))
    second = ws.features.get_historical_features(_labels(), "grader")
    assert second["weight_g"][2] == 168.0
    newer = ws.features.get_feature_view("weighings").snapshot
    assert newer is not None and newer.num_rows == 5 and newer.digest != snapshot.digest

    # "weighings:1" stays on its version.
    ws.features.apply(_views("weighings:1"))  # type: ignore[arg-type]
    pinned = ws.features.get_historical_features(_labels(), "grader")
    assert math.isnan(pinned["weight_g"][2])


def test_missing_or_unreadable_dataset_sources_are_refused(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        ws.features.apply(_views("nope:1"))  # type: ignore[arg-type]
    pd.DataFrame({"apple_id": [1], "weight_g": [1.0]}).to_parquet(tmp_path / "bad.parquet")
    ws.datasets.ingest("no_time", tmp_path / "bad.parquet")
    with pytest.raises(InvalidInputError, match="no timestamp column 'event_timestamp'"):
        ws.features.apply(_views("no_time"))  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        ws.features.get_feature_view("weighings")  # nothing was stored


def test_training_sets_are_saved_as_dataset_versions(ws: Workspace, tmp_path: Path) -> None:
    ws.datasets.ingest("weighings", _weighings(tmp_path / "w1.parquet"))
    ws.features.apply(_views("weighings"))  # type: ignore[arg-type]
    labels = _labels()
    saved = ws.features.save_training_dataset("grader_train", labels, "grader")
    assert saved.dataset == "grader_train:1" and saved.entity_digest is not None
    version = ws.datasets.get_version(saved.dataset)
    assert (version.kind, version.num_records, version.num_quarantined) == ("table", 5, 0)
    lineage = version.lineage
    assert lineage.operation == "features" and lineage.parent is None
    assert lineage.source is not None
    assert "feature service 'grader' (weighings v1)" in lineage.source
    assert saved.entity_digest in lineage.source
    rows = ws.datasets.load_table(saved.dataset).reset_index(drop=True)
    expected = ws.features.get_historical_features(labels, "grader")
    pd.testing.assert_frame_equal(rows, expected, check_dtype=False)

    again = ws.features.save_training_dataset("grader_train", labels.head(2), "grader")
    assert again.dataset == "grader_train:2" and again.entity_digest != saved.entity_digest
    assert ws.datasets.get_version("grader_train").lineage.parent is not None
    assert ws.features.get_training_dataset("grader_train", version=1).dataset == saved.dataset

    # A model trained on a saved set names its version; the version names the features.
    hours = [12 + 2 * i for i in range(40)]  # apple 1 weighs 152 g until hour 48, then 149.5
    many = pd.DataFrame(
        {
            "apple_id": [1] * 40,
            "event_timestamp": [T0 + timedelta(hours=h) for h in hours],
            "grade": ["good" if h < 48 else "ok" for h in hours],
        }
    )
    big = ws.features.save_training_dataset("apple1_train", many, "grader")
    frame = ws.datasets.load_table(big.dataset)
    spec = training.sklearn(LogisticRegression())
    result = ws.train(spec, (frame[["weight_g"]], frame["grade"]), dataset=big.dataset)
    assert ws.runs.get_run(result.run_id).params["dataset.train"] == "apple1_train:1"


def test_training_sets_do_not_overwrite_image_datasets(ws: Workspace, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "photos" / "good"
    folder.mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (32, 32), (40 * i, 200, 30)).save(folder / f"a{i}.png")
    ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
    ws.datasets.ingest("weighings", _weighings(tmp_path / "w1.parquet"))
    ws.features.apply(_views("weighings"))  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="holds images"):
        ws.features.save_training_dataset("apples", _labels(), "grader")
    assert ws.datasets.get_version("apples").version == 1
