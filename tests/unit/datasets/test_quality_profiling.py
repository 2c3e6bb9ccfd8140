"""Profiles: statistics match numpy, batches give the same profile, JSON round trip."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pomona.datasets.checks import validate_images
from pomona.datasets.profiling import (
    QUANTILES,
    Histogram,
    ImageProfile,
    QuantileSketch,
    TableProfile,
    TableProfiler,
    profile_images,
    profile_table,
)
from pomona.errors import InvalidInputError
from pomona.examples import apples


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.lognormal(3.0, 1.0, n)
    amount[rng.choice(n, 30, replace=False)] = np.nan
    return pd.DataFrame(
        {
            "amount": amount,
            "items": rng.integers(0, 12, n),
            "shift": rng.normal(-5.0, 2.0, n),
            "country": rng.choice(["FR", "DE", "IT", "ES"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "fraud": rng.choice([0, 1], n, p=[0.9, 0.1]),
        }
    )


def test_numeric_statistics_match_numpy() -> None:
    df = _table()
    profile = profile_table(df, label="fraud")
    amount = profile.columns["amount"]
    values = df["amount"].dropna().to_numpy()
    assert (amount.kind, amount.count, amount.missing) == ("numeric", 2970, 30)
    assert amount.mean == pytest.approx(values.mean(), rel=1e-12)
    assert amount.std == pytest.approx(values.std(ddof=1), rel=1e-9)
    assert (amount.min, amount.max) == (values.min(), values.max())
    for q, value in amount.quantiles.items():
        assert value == pytest.approx(np.quantile(values, q), rel=0.03), q
    assert amount.histogram is not None
    counts, _ = np.histogram(values, bins=amount.histogram.edges)
    assert list(counts) == list(amount.histogram.counts)
    assert len(amount.histogram.counts) <= 64


def test_categorical_columns_and_class_counts() -> None:
    df = _table()
    profile = profile_table(df, label="fraud")
    country = profile.columns["country"]
    assert country.kind == "categorical"
    assert country.categories == df["country"].value_counts().to_dict()
    assert country.top(2) == list(df["country"].value_counts().items())[:2]
    assert profile.class_counts == {str(k): v for k, v in df["fraud"].value_counts().items()}
    assert profile.columns["fraud"].kind == "categorical"  # the label, though numbers


def test_batches_give_the_same_profile() -> None:
    df = _table()
    whole = profile_table(df, label="fraud")
    batched = profile_table((df.iloc[i : i + 700] for i in range(0, len(df), 700)), label="fraud")
    assert batched.rows == whole.rows
    for name, column in whole.columns.items():
        other = batched.columns[name]
        assert (other.count, other.missing, other.categories) == (
            column.count,
            column.missing,
            column.categories,
        )
        assert other.histogram == column.histogram and other.sketch == column.sketch
        assert (other.min, other.max) == (column.min, column.max) or math.isnan(column.min)
        if column.kind == "numeric":
            assert other.mean == pytest.approx(column.mean, rel=1e-12)
            assert other.std == pytest.approx(column.std, rel=1e-9)


def test_profile_json_round_trip_is_small_and_exact() -> None:
    profile = profile_table(_table(), label="fraud")
    text = json.dumps(profile.to_dict(), allow_nan=False)
    assert len(text) < 30_000
    again = TableProfile.from_dict(json.loads(text))
    assert again == profile
    assert again.to_dict() == profile.to_dict()


def test_a_column_absent_from_a_batch_counts_as_missing() -> None:
    profiler = TableProfiler()
    profiler.update(pd.DataFrame({"a": [1.0, 2.0]}))
    profiler.update(pd.DataFrame({"a": [3.0], "b": ["x"]}))
    profile = profiler.profile()
    assert (profile.columns["b"].count, profile.columns["b"].missing) == (1, 2)
    assert profile.columns["a"].mean == 2.0


def test_a_column_changing_kind_is_refused() -> None:
    profiler = TableProfiler()
    profiler.update(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(InvalidInputError, match="Column 'a' is numeric in one batch"):
        profiler.update(pd.DataFrame({"a": ["x"]}))


def test_datetimes_profile_as_seconds() -> None:
    when = pd.Series(pd.to_datetime(["2026-01-01", "2026-01-02", None]))
    profile = profile_table(pd.DataFrame({"when": when}))
    column = profile.columns["when"]
    assert (column.count, column.missing) == (2, 1)
    assert column.max - column.min == 86400.0


@pytest.mark.parametrize("integer", [False, True], ids=["floats", "integers"])
def test_histograms_merge_exactly_whatever_the_split(integer: bool) -> None:
    rng = np.random.default_rng(5)
    for trial in range(40):
        scale = 10 ** rng.uniform(-3, 4)
        values = rng.normal(rng.normal() * scale, scale, rng.integers(1, 500))
        if integer:
            values = np.round(values * 10)
        whole = Histogram.of(values, integer=integer)
        cuts = sorted(rng.choice(len(values) + 1, size=3))
        merged = Histogram.of(np.empty(0), integer=integer)
        for part in np.split(rng.permutation(values), cuts):
            merged = merged.merge(Histogram.of(part, integer=integer))
        assert merged == whole, trial
        counts, _ = np.histogram(values, bins=whole.edges)
        assert list(counts) == list(whole.counts)
        assert all(e == int(e) for e in whole.edges) or not integer


def test_quantile_sketch_error_is_bounded() -> None:
    rng = np.random.default_rng(2)
    values = np.concatenate([-(rng.exponential(1, 5000) ** 3), rng.exponential(1, 5000) ** 3, [0]])
    sketch = QuantileSketch.of(values)
    assert QuantileSketch.from_dict(json.loads(json.dumps(sketch.to_dict()))) == sketch
    got = sketch.quantiles(QUANTILES, float(values.min()), float(values.max()))
    for q, value in zip(QUANTILES, got, strict=True):
        assert value == pytest.approx(np.quantile(values, q), rel=0.03, abs=1e-9)


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def test_image_profile_counts_sizes_classes_and_light() -> None:
    images, metas = apples.generate_apples(30, seed=1)
    small, _ = apples.generate_apples(10, seed=2, size=32)
    records = [(f"a{i}", _png(im)) for i, im in enumerate(images)]
    records += [(f"s{i}", _png(im)) for i, im in enumerate(small)]
    labels: dict[str, str | None] = {f"a{i}": m.grade for i, m in enumerate(metas)}
    validation = validate_images(records)
    profile = profile_images(validation.properties, labels)
    assert profile.images == 40
    assert profile.sizes == {"64x64": 30, "32x32": 10}
    assert profile.formats == {"PNG": 40}
    grades = [m.grade for m in metas]
    assert profile.class_counts == {g: grades.count(g) for g in set(grades)}
    assert profile.unlabelled == 10
    brightness = profile.columns["brightness"]
    expected = [validation.properties[r].brightness for r, _ in records]
    assert brightness.mean == pytest.approx(np.mean(expected), rel=1e-6)
    assert brightness.histogram is not None and brightness.histogram.total == 40
    red = profile.columns["mean_red"]
    assert red.max <= 255 and red.count == 40
    same = profile_images(dict(validation.properties), labels)  # a plain mapping works too
    assert same.to_dict() == profile.to_dict()


def test_image_profiles_merge_and_round_trip() -> None:
    images, metas = apples.generate_apples(20, seed=4)
    records = [(f"a{i}", _png(im)) for i, im in enumerate(images)]
    labels: dict[str, str | None] = {f"a{i}": m.grade for i, m in enumerate(metas)}
    props = validate_images(records).properties
    whole = profile_images(props, labels)
    first = profile_images({k: props[k] for k in list(props)[:7]}, labels)
    rest = profile_images({k: props[k] for k in list(props)[7:]}, labels)
    merged = first.merge(rest)
    assert merged.sizes == whole.sizes and merged.class_counts == whole.class_counts
    assert merged.columns["blur"].histogram == whole.columns["blur"].histogram
    again = ImageProfile.from_dict(json.loads(json.dumps(whole.to_dict(), allow_nan=False)))
    assert again == whole
    with pytest.raises(InvalidInputError, match="Not an image profile"):
        ImageProfile.from_dict({"kind": "table"})
