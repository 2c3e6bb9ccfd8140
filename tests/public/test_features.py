"""The feature store through the public SDK, on every backend pair and both transports."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pomona.client import Workspace
from pomona.errors import InvalidInputError, NotFoundError
from pomona.features import (
    Entity,
    FeatureEnricher,
    FeatureService,
    FeatureView,
    FileSource,
)

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _definitions(folder: Path, seed: int = 0) -> list[object]:
    """Two views of one entity: daily sizes (TTL 2 days) and hourly colour readings."""
    rng = np.random.default_rng(seed)
    sizes = pd.DataFrame(
        {
            "apple_id": np.repeat(np.arange(20), 5),
            "event_timestamp": [T0 + timedelta(days=d) for _ in range(20) for d in range(5)],
            "weight_g": rng.normal(160, 15, 100).round(1),
            "variety": rng.choice(["gala", "fuji"], 100),
        }
    )
    colour = pd.DataFrame(
        {
            "apple_id": rng.integers(0, 20, 300),
            "event_timestamp": [T0 + timedelta(minutes=int(m)) for m in rng.integers(0, 7200, 300)],
            "redness": rng.random(300).round(3),
        }
    )
    sizes.to_parquet(folder / "sizes.parquet")
    colour.to_csv(folder / "colour.csv", index=False)
    return [
        Entity("apple", join_keys={"apple_id": "int64"}),
        FeatureView(
            "sizes",
            source=FileSource(str(folder / "sizes.parquet")),
            entities=["apple"],
            features={"weight_g": "float64", "variety": "string"},
            ttl=timedelta(days=2),
        ),
        FeatureView(
            "colour",
            source=FileSource(str(folder / "colour.csv")),
            entities=["apple"],
            features={"redness": "float64"},
            ttl=timedelta(hours=12),
        ),
        FeatureService("grader", ["sizes:weight_g", "colour:redness", "sizes:variety"]),
    ]


def _entity_rows(seed: int = 1, n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "apple_id": rng.integers(0, 25, n),  # ids 20..24 have no features at all
            "event_timestamp": [T0 + timedelta(minutes=int(m)) for m in rng.integers(-60, 9000, n)],
            "label": rng.choice(["good", "bad"], n),
        }
    )


def test_historical_features_keep_every_entity_row(ws: Workspace, tmp_path: Path) -> None:
    applied = ws.features.apply(_definitions(tmp_path))  # type: ignore[arg-type]
    assert [a.status for a in applied] == ["created"] * 4
    entity_df = _entity_rows()
    got = ws.features.get_historical_features(entity_df, "grader")
    assert len(got) == len(entity_df)
    assert list(got.columns) == [
        "apple_id",
        "event_timestamp",
        "label",
        "weight_g",
        "redness",
        "variety",
    ]
    assert list(got["label"]) == list(entity_df["label"])
    unknown = got[got["apple_id"] >= 20]
    assert len(unknown) > 0 and unknown["weight_g"].isna().all()
    sizes = pd.read_parquet(tmp_path / "sizes.parquet")
    for row in got.itertuples():
        past = sizes[
            (sizes.apple_id == row.apple_id) & (sizes.event_timestamp <= row.event_timestamp)
        ]
        fresh = past[past.event_timestamp >= row.event_timestamp - timedelta(days=2)]
        if fresh.empty:
            assert math.isnan(row.weight_g)
        else:
            assert row.weight_g == fresh.sort_values("event_timestamp").weight_g.iloc[-1]


def test_training_datasets_are_saved_with_lineage(ws: Workspace, tmp_path: Path) -> None:
    ws.features.apply(_definitions(tmp_path))  # type: ignore[arg-type]
    entity_df = _entity_rows()
    saved = ws.features.save_training_dataset("grader_train", entity_df, "grader")
    again = ws.features.save_training_dataset("grader_train", entity_df.head(10), "grader")
    assert (saved.version, again.version, saved.num_rows) == (1, 2, 60)
    assert saved.features == ["sizes:weight_g", "colour:redness", "sizes:variety"]
    assert set(saved.lineage) == {"sizes", "colour"}
    assert saved.lineage["sizes"]["version"] == 1
    snapshot = ws.features.get_feature_view("sizes").snapshot
    assert snapshot is not None and saved.lineage["sizes"]["segments"] == [snapshot.digest]
    loaded = ws.features.load_training_dataset("grader_train", version=1)
    expected = ws.features.get_historical_features(entity_df, "grader")
    pd.testing.assert_frame_equal(loaded, expected.reset_index(drop=True), check_dtype=False)
    assert ws.features.get_training_dataset("grader_train").version == 2
    with pytest.raises(NotFoundError, match="No training dataset 'nope'"):
        ws.features.get_training_dataset("nope")


def test_serving_enrichment_matches_training(ws: Workspace, tmp_path: Path) -> None:
    """Training/serving consistency: a request carrying only entity keys at time T gets
    exactly the feature vector the training set has for those keys at T."""
    ws.features.apply(_definitions(tmp_path))  # type: ignore[arg-type]
    now = T0 + timedelta(days=3, hours=5)
    entity_df = pd.DataFrame({"apple_id": list(range(25)), "event_timestamp": [now] * 25})
    train = ws.features.save_training_dataset("at_now", entity_df, "grader")
    training_rows = ws.features.load_training_dataset("at_now")
    ws.features.materialize(T0 - timedelta(days=1), now)
    enricher = FeatureEnricher(ws.features, "grader")
    assert enricher.feature_names == train.feature_columns == ["weight_g", "redness", "variety"]
    requests = [{"apple_id": i, "image": "ignored"} for i in range(25)]
    vectors = enricher.vectors(requests, at=now)
    for i, vector in enumerate(vectors):
        expected = training_rows.loc[i, train.feature_columns].tolist()
        assert _same(vector, expected), (i, vector, expected)
    enriched = enricher.enrich(requests[:1], at=now)
    assert enriched[0]["apple_id"] == 0 and enriched[0]["image"] == "ignored"
    assert enriched[0]["weight_g"] == vectors[0][0]


def _same(got: list[object], want: list[object]) -> bool:
    def norm(v: object) -> object:
        return None if v is None or (isinstance(v, float) and math.isnan(v)) else v

    return [norm(v) for v in got] == [norm(v) for v in want]


def test_online_reads_and_pushes(ws: Workspace, tmp_path: Path) -> None:
    ws.features.apply(_definitions(tmp_path))  # type: ignore[arg-type]
    end = T0 + timedelta(days=4, hours=1)
    result = ws.features.materialize_incremental(end)
    assert {v.view: v.entities for v in result.views} == {"sizes": 20, "colour": 20}
    online = ws.features.get_online_features(
        [{"apple_id": 3}, {"apple_id": 99}], ["sizes:weight_g", "sizes:variety"], at=end
    )
    sizes = pd.read_parquet(tmp_path / "sizes.parquet")
    latest = sizes[sizes.apple_id == 3].sort_values("event_timestamp").iloc[-1]
    assert online == {
        "apple_id": [3, 99],
        "weight_g": [latest.weight_g, None],
        "variety": [latest.variety, None],
    }
    pushed = ws.features.push(
        "sizes",
        pd.DataFrame(
            {"apple_id": [3], "event_timestamp": [end], "weight_g": [999.0], "variety": ["pink"]}
        ),
    )
    assert (pushed.rows, pushed.online_written) == (1, 1)
    assert ws.features.get_feature_vectors("grader", {"apple_id": [3]}, at=end)[0][0] == 999.0
    offline = ws.features.get_historical_features(
        pd.DataFrame({"apple_id": [3], "event_timestamp": [end]}), ["sizes:weight_g"]
    )
    assert offline["weight_g"].tolist() == [999.0]


def test_bad_input_is_refused_with_its_reason(ws: Workspace, tmp_path: Path) -> None:
    definitions = _definitions(tmp_path)
    broken = FeatureView(
        "broken",
        source=FileSource(str(tmp_path / "sizes.parquet")),
        entities=["apple"],
        features={"weight_g": "float64"},
        timestamp_column="taken_at",
    )
    with pytest.raises(InvalidInputError, match="no timestamp column 'taken_at'"):
        ws.features.apply([*definitions, broken])  # type: ignore[list-item]
    assert list(ws.features.list_feature_views()) == []
    ws.features.apply(definitions)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no feature 'colour'"):
        ws.features.get_online_features({"apple_id": [1]}, ["sizes:colour"])
    with pytest.raises(InvalidInputError, match="must be int64"):
        ws.features.get_online_features({"apple_id": ["one"]}, "grader")
    with pytest.raises(InvalidInputError, match="must be int64"):
        ws.features.get_historical_features(
            pd.DataFrame({"apple_id": ["one"], "event_timestamp": [T0]}), "grader"
        )


def test_listing_and_statistics(ws: Workspace, tmp_path: Path) -> None:
    ws.features.apply(_definitions(tmp_path))  # type: ignore[arg-type]
    page = ws.features.list_feature_views(limit=1)
    assert [v.view.name for v in page] == ["colour"] and page.total == 2
    rest = ws.features.list_feature_views(limit=1, page_token=page.next_page_token)
    assert [v.view.name for v in rest] == ["sizes"] and rest.next_page_token is None
    info = ws.features.get_feature_view("sizes")
    assert info.snapshot is not None and info.snapshot.num_rows == 100
    stats = {s.name: s for s in info.snapshot.features}
    assert stats["variety"].distinct == 2 and stats["weight_g"].count == 100
    assert [e.entity.name for e in ws.features.list_entities()] == ["apple"]
    service = ws.features.get_feature_service("grader")
    assert service.features == ["sizes:weight_g", "colour:redness", "sizes:variety"]
