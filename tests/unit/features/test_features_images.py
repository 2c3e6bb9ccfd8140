"""The apple farm's image features: a declared transformation that separates the grades."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

from pomona.errors import InvalidInputError
from pomona.examples.apples.features import apple_feature_views, write_photo_index
from pomona.features import FeatureStore, FeatureView, FileSource, Transformation


def test_image_features_separate_the_grades(feature_store: FeatureStore, tmp_path: Path) -> None:
    index = write_photo_index(tmp_path / "photos", 240, seed=3)
    applied = feature_store.apply(apple_feature_views(index))
    assert [a.name for a in applied] == ["apple", "apple_images", "apple_grader"]
    photos = pd.read_parquet(index)
    train = feature_store.get_historical_features(
        photos[["apple_id", "event_timestamp", "grade"]], "apple_grader"
    )
    names = feature_store.get_feature_service("apple_grader").features
    features = train[[n.split(":")[1] for n in names]].to_numpy()
    assert features.shape == (240, 47) and not np.isnan(features).any()
    grades = train["grade"].to_numpy()
    majority = max((grades == g).mean() for g in set(grades))
    accuracy = cross_val_score(
        RandomForestClassifier(n_estimators=100, random_state=0), features, grades, cv=4
    ).mean()
    assert accuracy > majority + 0.15, (accuracy, majority)
    stats = {s.name: s for s in feature_store.get_feature_view("apple_images").snapshot.features}  # type: ignore[union-attr]
    assert stats["blemish_spots"].max >= 1 and stats["hist_r_0"].count == 240


def test_a_transformation_must_be_declared(feature_store: FeatureStore, tmp_path: Path) -> None:
    index = write_photo_index(tmp_path / "photos", 2)
    entity, view, _ = apple_feature_views(index)
    assert isinstance(view, FeatureView)
    undeclared = FeatureView(
        "shout",
        source=FileSource(str(index)),
        entities=["apple"],
        features={"x": "float64"},
        transformation=Transformation("os.path:join"),
    )
    with pytest.raises(InvalidInputError, match="not a declared feature transformation"):
        feature_store.apply([entity, undeclared])
    missing = FeatureView(
        "gone",
        source=FileSource(str(index)),
        entities=["apple"],
        features={"x": "float64"},
        transformation=Transformation("pomona.nowhere:f"),
    )
    with pytest.raises(InvalidInputError, match="cannot be imported"):
        feature_store.apply([entity, missing])
    assert list(feature_store.list_feature_views()) == []  # refused before anything is stored


def test_unreadable_images_are_named(feature_store: FeatureStore, tmp_path: Path) -> None:
    index = write_photo_index(tmp_path / "photos", 3)
    Path(pd.read_parquet(index)["path"][1]).write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match="cannot read image"):
        feature_store.apply(apple_feature_views(index))
