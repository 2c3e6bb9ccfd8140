"""Transforms: what they compute, one record = one row of a batch, JSON round trips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pomona.artifacts.backends.file import FileArtifactStore
from pomona.datasets.transforms import (
    AutoContrast,
    CenterCrop,
    Chain,
    Clip,
    DropColumns,
    EncodeCategories,
    ImageStandardize,
    Impute,
    NormalizeBrightness,
    Resize,
    Scale,
    Transform,
    load_transform,
)
from pomona.errors import InvalidInputError
from pomona.examples import apples


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30.0, np.nan, 50.0, 20.0, 90.0, 40.0],
            "income": [1000.0, 2000.0, np.nan, 4000.0, 1e6, 3000.0],
            "city": ["paris", "lyon", "paris", None, "nice", "paris"],
            "vip": [True, False, False, True, False, False],
        }
    )


def test_impute_strategies() -> None:
    df = _table()
    mean = Impute("mean").fit(df)
    assert mean.values_ == {"age": 46.0, "income": pytest.approx(202000.0)}
    assert Impute("median").fit(df).values_ == {"age": 40.0, "income": 3000.0}
    assert Impute("most_frequent", columns=["city"]).fit(df).transform(df)["city"][3] == "paris"
    constant = Impute("constant", columns=["city"], fill_value="unknown").fit(df)
    assert constant.transform(df)["city"].tolist()[3] == "unknown"
    assert mean.transform({"income": 10.0}) == {"income": 10.0, "age": 46.0}  # absent: filled
    with pytest.raises(InvalidInputError, match="needs a fill_value"):
        Impute("constant")
    with pytest.raises(InvalidInputError, match="no values to compute a mean"):
        Impute("mean").fit(pd.DataFrame({"x": [np.nan, np.nan]}))


def test_clip_to_quantiles_or_bounds() -> None:
    df = _table()[["age", "income"]].dropna()
    clip = Clip(lower=None, upper=0.5, bounds={"age": [25, 60]}).fit(df)
    assert clip.bounds_ == {"age": [25.0, 60.0], "income": [None, float(df["income"].median())]}
    out = clip.transform(df)
    assert out["age"].tolist() == [30.0, 25.0, 60.0, 40.0]
    assert out["income"].max() == df["income"].median()
    with pytest.raises(InvalidInputError, match="quantile must be within"):
        Clip(lower=-0.1)


@pytest.mark.parametrize("method", ["standard", "minmax"])
def test_scale(method: str) -> None:
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 10.0], "k": [5.0, 5.0, 5.0, 5.0]})
    out = Scale(method).fit_transform(df)  # type: ignore[arg-type]
    x = df["x"].to_numpy()
    want = (x - x.mean()) / x.std() if method == "standard" else (x - x.min()) / (x.max() - x.min())
    np.testing.assert_allclose(out["x"], want)
    assert out["k"].tolist() == [0.0, 0.0, 0.0, 0.0]  # no spread: divided by 1


def test_onehot_encoding_and_unknown_categories() -> None:
    df = _table()
    encode = EncodeCategories(columns=["city"]).fit(df)
    assert encode.categories_ == {"city": ["lyon", "nice", "paris"]}
    out = encode.transform(df)
    assert list(out.columns) == ["age", "income", "city=lyon", "city=nice", "city=paris", "vip"]
    assert out["city=paris"].tolist() == [1, 0, 1, 0, 0, 1]
    assert encode.transform({"city": "rome", "age": 1.0, "income": 2.0, "vip": True}) == {
        "age": 1.0, "income": 2.0, "city=lyon": 0, "city=nice": 0, "city=paris": 0, "vip": True,
    }  # fmt: skip
    strict = EncodeCategories(columns=["city"], handle_unknown="error").fit(df)
    with pytest.raises(InvalidInputError, match="'rome' \\(row 0\\)"):
        strict.transform({"city": "rome", "age": 1.0})


def test_ordinal_encoding_with_a_category_cap() -> None:
    df = _table()
    encode = EncodeCategories("ordinal", columns=["city"], max_categories=1).fit(df)
    assert encode.categories_ == {"city": ["paris"]}
    assert encode.transform(df)["city"].tolist() == [0, -1, 0, -1, -1, 0]
    default = EncodeCategories().fit(df)
    assert set(default.categories_ or {}) == {"city", "vip"}  # every non-numeric column


def test_drop_columns_ignores_absent_ones() -> None:
    drop = DropColumns(["vip", "not_there"])
    assert list(drop.transform(_table()).columns) == ["age", "income", "city"]
    with pytest.raises(InvalidInputError, match="list of column names"):
        DropColumns("vip")  # type: ignore[arg-type]


def _pipeline() -> Chain:
    return Chain(
        [
            Impute("median"),
            Impute("most_frequent", columns=["city"]),
            Clip(0.0, 0.8),
            Scale("standard"),
            EncodeCategories(columns=["city"]),
            DropColumns(["vip"]),
        ]
    )


def test_a_single_record_gets_exactly_its_row_of_the_batch() -> None:
    df = _table()
    chain = _pipeline().fit(df)
    batch = chain.transform(df)
    for i, row in enumerate(df.to_dict("records")):
        assert chain.transform(row) == pytest.approx(batch.iloc[i].to_dict(), rel=0, abs=0)


def test_a_saved_chain_loads_identical_through_the_artifact_store(tmp_path: Path) -> None:
    df = _table()
    chain = _pipeline().fit(df)
    store = FileArtifactStore(tmp_path / "blobs")
    digest, _ = store.put_bytes(chain.to_json())
    loaded = load_transform(store.read_bytes(digest))
    assert loaded.to_dict() == chain.to_dict()
    pd.testing.assert_frame_equal(loaded.transform(df), chain.transform(df))
    record = {"age": 33.0, "income": None, "city": "nice", "vip": True}
    assert loaded.transform(record) == chain.transform(record)
    saved = json.loads(chain.to_json())
    assert saved["transform"] == "Chain" and saved["params"]["steps"][3]["state"]["scales"]


def test_an_unfitted_transform_refuses_to_run() -> None:
    with pytest.raises(InvalidInputError, match="is not fitted"):
        Scale().transform(_table())
    assert not _pipeline().is_fitted and DropColumns(["a"]).is_fitted


def test_a_transform_missing_a_fitted_column_says_which() -> None:
    scale = Scale().fit(_table())
    with pytest.raises(InvalidInputError, match="no column 'income'"):
        scale.transform({"age": 1.0})


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"params": {}}, "expected a mapping with a 'transform' name"),
        ({"transform": "Pickle"}, "Unknown transform 'Pickle'"),
        ({"transform": "Scale", "params": {"colour": 1}}, "Bad parameters for Scale"),
        ({"transform": "Scale", "format": 9}, "format 9 is not supported"),
        (b"\x80not json", "not valid JSON"),
    ],
)
def test_load_transform_names_what_is_wrong(data: dict[str, object] | bytes, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        load_transform(data)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    images, _ = apples.generate_apples(6, seed=9, size=80)
    return images


def test_image_standardize_gives_the_standard_resolution(photos: np.ndarray) -> None:
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, 40:80] = 255  # a white square in the middle
    square = ImageStandardize(size=20).transform(wide)
    assert square.shape == (20, 20, 3) and square.dtype == np.uint8
    assert square[:, 1:-1].min() == 255  # the centre was kept, the black sides cropped away
    stretched = ImageStandardize(size=20, keep_aspect=False).transform(wide)
    assert stretched.shape == (20, 20, 3) and stretched.min() == 0
    grey = ImageStandardize(size=16).transform(np.full((30, 30), 7, np.uint8))
    assert grey.shape == (16, 16, 3)
    assert ImageStandardize(64).transform(photos).shape == (6, 64, 64, 3)


def test_resize_crop_and_contrast(photos: np.ndarray) -> None:
    assert Resize(32, 16).transform(photos[0]).shape == (16, 32, 3)
    crop = CenterCrop(40).transform(photos[0])
    assert np.array_equal(crop, photos[0][20:60, 20:60])
    dull = (photos[0] // 4 + 100).astype(np.uint8)
    stretched = AutoContrast().transform(dull)
    assert stretched.min() == 0 and stretched.max() == 255


def test_brightness_normalisation_learns_its_target(photos: np.ndarray) -> None:
    dark = (photos // 3).astype(np.uint8)
    norm = NormalizeBrightness().fit(photos)
    assert norm.target_ is not None and 0.2 < norm.target_ < 0.8
    out = norm.transform(dark)
    grey = out.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert grey.mean() / 255 == pytest.approx(norm.target_, abs=0.03)
    assert NormalizeBrightness(target=0.5).is_fitted


@pytest.mark.parametrize(
    "make",
    [
        lambda: ImageStandardize(48),
        lambda: Chain([ImageStandardize(48), AutoContrast(1.0), NormalizeBrightness()]),
    ],
    ids=["standardize", "chain"],
)
def test_image_transforms_round_trip_and_treat_one_image_like_a_batch(
    make: object, photos: np.ndarray
) -> None:
    transform: Transform = make()  # type: ignore[operator]
    batch = transform.fit_transform(photos)
    assert all(
        np.array_equal(transform.transform(p), b) for p, b in zip(photos, batch, strict=True)
    )
    as_list = transform.transform(list(photos))
    assert isinstance(as_list, list) and np.array_equal(np.stack(as_list), batch)
    loaded = load_transform(transform.to_json())
    assert np.array_equal(loaded.transform(photos), batch)


def test_image_transforms_refuse_what_is_not_an_image() -> None:
    with pytest.raises(InvalidInputError, match="uint8"):
        ImageStandardize().transform(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(InvalidInputError, match="takes an array"):
        ImageStandardize().transform("photo.png")
    with pytest.raises(InvalidInputError, match="Unknown resampling"):
        Resize(8, resample="fancy")  # type: ignore[arg-type]
