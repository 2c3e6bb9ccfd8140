"""Definitions: validation, versions, YAML and Python files, and bad input before any work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pomona.errors import InvalidInputError, NotFoundError
from pomona.features import (
    Entity,
    FeatureService,
    FeatureStore,
    FeatureView,
    FileSource,
    SqlSource,
    Transformation,
    load_definitions,
    parse_ttl,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
APPLE = Entity("apple", join_keys={"apple_id": "int64"})


def _write(path: Path, **extra: list[object]) -> Path:
    frame = pd.DataFrame(
        {
            "apple_id": [1, 2, 1],
            "event_timestamp": [T0, T0, T0 + timedelta(hours=1)],
            "weight": [150.0, 180.0, 155.0],
            **extra,
        }
    )
    frame.to_parquet(path)
    return path


def _view(path: Path, **kwargs: object) -> FeatureView:
    options: dict[str, object] = {"features": {"weight": "float64"}, "entities": ["apple"]}
    options.update(kwargs)
    return FeatureView("sizes", source=FileSource(str(path)), **options)  # type: ignore[arg-type]


def test_a_changed_definition_gets_a_new_version(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    path = _write(tmp_path / "s.parquet")
    first = feature_store.apply([APPLE, _view(path)])
    again = feature_store.apply([APPLE, _view(path)])
    changed = feature_store.apply([_view(path, ttl="2h")])
    assert [(a.name, a.version, a.status) for a in first] == [
        ("apple", 1, "created"),
        ("sizes", 1, "created"),
    ]
    assert [a.status for a in again] == ["unchanged", "unchanged"]
    assert [(a.version, a.status) for a in changed] == [(2, "updated")]
    assert feature_store.get_feature_view("sizes").view.ttl == timedelta(hours=2)
    assert feature_store.get_feature_view("sizes", version=1).view.ttl is None
    with pytest.raises(NotFoundError, match="no version 3"):
        feature_store.get_feature_view("sizes", version=3)


def test_apply_records_statistics_per_feature(feature_store: FeatureStore, tmp_path: Path) -> None:
    feature_store.apply([APPLE, _view(_write(tmp_path / "s.parquet"))])
    snap = feature_store.get_feature_view("sizes").snapshot
    assert snap is not None
    assert (snap.num_rows, snap.entities, snap.dropped_rows) == (3, 2, 0)
    [weight] = snap.features
    assert (weight.count, weight.nulls, weight.min, weight.max) == (3, 0, 150.0, 180.0)
    assert weight.mean == pytest.approx(161.6667, rel=1e-4)


def test_yaml_and_python_files_declare_the_same_definitions(tmp_path: Path) -> None:
    _write(tmp_path / "s.parquet")
    (tmp_path / "features.yaml").write_text(
        """
entities:
  - name: apple
    join_keys: {apple_id: int64}
feature_views:
  - name: sizes
    entities: [apple]
    source: {type: parquet, path: s.parquet}
    features: {weight: float64}
    ttl: 2h
feature_services:
  - name: grader
    features: ["sizes:*"]
"""
    )
    (tmp_path / "features.py").write_text(
        f"""
from datetime import timedelta
from pomona.features import Entity, FeatureService, FeatureView, FileSource
apple = Entity("apple", join_keys={{"apple_id": "int64"}})
sizes = FeatureView("sizes", source=FileSource({str(tmp_path / "s.parquet")!r}),
                    entities=["apple"], features={{"weight": "float64"}}, ttl=timedelta(hours=2))
services = [FeatureService("grader", ["sizes:*"])]
"""
    )
    from_yaml = load_definitions(tmp_path / "features.yaml")
    from_py = load_definitions(tmp_path / "features.py")
    assert [d.to_spec() for d in from_yaml] == [d.to_spec() for d in from_py]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: parse_ttl(-5), "negative"),
        (lambda: parse_ttl("soon"), "not a duration"),
        (lambda: Entity("apple", join_keys={"apple_id": "float64"}), "int64 or string"),
        (lambda: Entity("bad name", join_keys={"k": "int64"}), "not valid"),
        (lambda: FeatureService("grader", ["sizes"]), "not a feature reference"),
        (lambda: Transformation("builtins.print"), "not an import path"),
        (lambda: Transformation("__main__:f"), "not an import path"),
        (lambda: SqlSource("sqlite:///x.db", table="a; drop table x"), "not a table name"),
        (lambda: FeatureView("v", FileSource("x.parquet"), ["apple"], {"w": "decimal"}), "type"),
    ],
    ids=[
        "negative-ttl",
        "ttl-text",
        "float-key",
        "name",
        "ref",
        "import-path",
        "main",
        "sql",
        "type",
    ],
)
def test_invalid_definitions_fail_on_construction(make: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        make()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        ({"apple_id": [1], "weight": [1.0]}, "no timestamp column 'event_timestamp'"),
        ({"event_timestamp": [T0], "weight": [1.0]}, "no column 'apple_id'"),
        ({"apple_id": [1], "event_timestamp": [T0]}, "no feature 'weight'"),
    ],
    ids=["timestamp", "key", "feature"],
)
def test_a_source_without_a_needed_column_is_refused_before_anything_is_stored(
    feature_store: FeatureStore, tmp_path: Path, columns: dict[str, list[object]], match: str
) -> None:
    path = tmp_path / "bad.parquet"
    pd.DataFrame(columns).to_parquet(path)
    with pytest.raises(InvalidInputError, match=match):
        feature_store.apply([APPLE, _view(path)])
    assert list(feature_store.list_entities()) == []  # nothing stored, not even the entity


def test_unknown_entities_features_and_services_are_named(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    path = _write(tmp_path / "s.parquet")
    with pytest.raises(InvalidInputError, match="entity 'pear', which is not defined"):
        feature_store.apply([_view(path, entities=["pear"])])
    with pytest.raises(NotFoundError, match="has no feature 'colour'"):
        feature_store.apply([APPLE, _view(path), FeatureService("grader", ["sizes:colour"])])
    feature_store.apply([APPLE, _view(path)])
    entity_df = pd.DataFrame({"apple_id": [1], "event_timestamp": [T0]})
    with pytest.raises(NotFoundError, match="has no feature 'colour'"):
        feature_store.get_historical_features(entity_df, ["sizes:colour"])
    with pytest.raises(NotFoundError, match="No feature view is named 'pears'"):
        feature_store.get_online_features({"apple_id": [1]}, ["pears:weight"])
    with pytest.raises(NotFoundError, match="No feature service is named 'grader'"):
        feature_store.get_feature_vectors("grader", {"apple_id": [1]})


def test_entity_keys_of_the_wrong_type_are_refused(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    feature_store.apply([APPLE, _view(_write(tmp_path / "s.parquet"))])
    with pytest.raises(InvalidInputError, match="'apple_id' must be int64, but row 1 has str"):
        feature_store.get_online_features({"apple_id": [1, "2"]}, ["sizes:weight"])
    strings = pd.DataFrame({"apple_id": ["1"], "event_timestamp": [T0]})
    with pytest.raises(
        InvalidInputError, match=r"must be int64, but the column holds (large_)?string"
    ):
        feature_store.get_historical_features(strings, ["sizes:weight"])
    no_time = pd.DataFrame({"apple_id": [1], "when": [T0]})
    with pytest.raises(InvalidInputError, match="no timestamp column 'event_timestamp'"):
        feature_store.get_historical_features(no_time, ["sizes:weight"])
    text_time = pd.DataFrame({"apple_id": [1], "event_timestamp": ["yesterday"]})
    with pytest.raises(InvalidInputError, match="not timestamps"):
        feature_store.get_historical_features(text_time, ["sizes:weight"])


def test_a_changed_source_file_is_snapshotted_again(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    path = _write(tmp_path / "s.parquet")
    feature_store.apply([APPLE, _view(path)])
    entity_df = pd.DataFrame({"apple_id": [2], "event_timestamp": [T0 + timedelta(days=1)]})
    before = feature_store.get_historical_features(entity_df, ["sizes:weight"])
    pd.DataFrame(
        {"apple_id": [2], "event_timestamp": [T0 + timedelta(hours=5)], "weight": [999.0]}
    ).to_parquet(path)
    after = feature_store.get_historical_features(entity_df, ["sizes:weight"])
    assert (before["weight"][0], after["weight"][0]) == (180.0, 999.0)


def test_created_column_breaks_ties_then_the_last_row_wins(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    path = tmp_path / "ties.parquet"
    pd.DataFrame(
        {
            "apple_id": [1, 1, 1, 2, 2],
            "event_timestamp": [T0] * 5,
            "created": [T0 + timedelta(minutes=m) for m in (5, 9, 1, 0, 0)],
            "weight": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    ).to_parquet(path)
    feature_store.apply([APPLE, _view(path, created_column="created")])
    entity_df = pd.DataFrame({"apple_id": [1, 2], "event_timestamp": [T0, T0]})
    got = feature_store.get_historical_features(entity_df, ["sizes:weight"])
    assert list(got["weight"]) == [2.0, 5.0]


def test_columns_with_one_name_need_full_names(feature_store: FeatureStore, tmp_path: Path) -> None:
    path = _write(tmp_path / "s.parquet")
    other = FeatureView(
        "sizes2", source=FileSource(str(path)), entities=["apple"], features={"weight": "float64"}
    )
    feature_store.apply([APPLE, _view(path), other])
    entity_df = pd.DataFrame({"apple_id": [1], "event_timestamp": [T0]})
    with pytest.raises(InvalidInputError, match="full_names=True"):
        feature_store.get_historical_features(entity_df, ["sizes:weight", "sizes2:weight"])
    got = feature_store.get_historical_features(
        entity_df, ["sizes:weight", "sizes2:weight"], full_names=True
    )
    assert list(got.columns) == ["apple_id", "event_timestamp", "sizes__weight", "sizes2__weight"]
