"""Data no one here made: scikit-learn's breast_cancer and wine tables, digits as PNG files."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

from pomona.datasets.checks import (
    ImageSuite,
    TableSuite,
    hamming_distance,
    infer_table_suite,
    validate_images,
    validate_table,
)
from pomona.datasets.profiling import profile_images, profile_table
from pomona.datasets.transforms import Chain, Impute, Scale, load_transform


def _cancer() -> pd.DataFrame:
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    return frame.assign(patient=[f"P{i:04d}" for i in range(len(frame))])


def _wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame.assign(cellar=lambda f: np.arange(1000, 1000 + len(f)))


def _faults(df: pd.DataFrame, numeric: str, label: str, key: str) -> pd.DataFrame:
    bad = df.copy()
    bad[label] = bad[label].astype(object)
    bad.loc[3, numeric] = np.nan  # a null where the reference had none
    bad.loc[10, numeric] = df[numeric].max() * 50  # far out of range
    bad.loc[17, label] = "unknown"  # a class never seen
    bad.loc[25, key] = bad.loc[4, key]  # a duplicate key
    return bad


@pytest.mark.parametrize(
    ("load", "numeric", "label", "key", "class_check"),
    [
        (_cancer, "mean radius", "diagnosis", "patient", "categories"),
        (_wine, "proline", "target", "cellar", "dtype"),  # integer classes: text is no class
    ],
    ids=["breast_cancer", "wine"],
)
def test_faults_injected_in_real_tables_are_caught(
    load: object, numeric: str, label: str, key: str, class_check: str
) -> None:
    df: pd.DataFrame = load()  # type: ignore[operator]
    suite = infer_table_suite(df, label=label)
    assert suite.columns[key].unique
    assert TableSuite.from_yaml(suite.to_yaml()) == suite
    clean = validate_table(df, suite)
    assert clean.passed and clean.quarantined == {}
    report = validate_table(_faults(df, numeric, label, key), suite)
    assert set(report.quarantined) == {"3", "10", "17", "25"}
    assert report.quarantined["3"] == [f"not_null:{numeric}: missing"]
    assert report.quarantined["10"][0].startswith(f"range:{numeric}: ")
    assert report.quarantined["17"] == [f"{class_check}:{label}: unknown"]
    assert report.quarantined["25"][0].startswith(f"unique:{key}: ")
    failed = {c.name for c in report.failed_checks}
    assert failed == {
        f"not_null:{numeric}",
        f"range:{numeric}",
        f"{class_check}:{label}",
        f"unique:{key}",
    }


def test_real_tables_profile_and_prepare() -> None:
    df = _cancer()
    profile = profile_table(df, label="diagnosis")
    assert profile.class_counts == {"benign": 357, "malignant": 212}
    radius = profile.columns["mean radius"]
    assert radius.mean == pytest.approx(df["mean radius"].mean())
    assert radius.quantiles[0.5] == pytest.approx(df["mean radius"].median(), rel=0.03)
    features = df.drop(columns=["diagnosis", "patient"])
    prepare = Chain([Impute("median"), Scale("standard")]).fit(features)
    out = prepare.transform(features)
    np.testing.assert_allclose(out.mean().to_numpy(), 0.0, atol=1e-9)
    again = load_transform(prepare.to_json())
    pd.testing.assert_frame_equal(again.transform(features), out)


def _write_digits(root: Path) -> tuple[list[tuple[str, Path]], list[str], dict[str, str]]:
    digits = load_digits()
    pixels = (digits.images * (255 / 16)).round().astype(np.uint8)
    records, labels = [], {}
    for i, (image, target) in enumerate(zip(pixels, digits.target, strict=True)):
        big = Image.fromarray(image, mode="L").resize((32, 32), Image.Resampling.NEAREST)
        path = root / str(target) / f"digit_{i:04d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        big.save(path)
        records.append((path.relative_to(root).as_posix(), path))
        labels[records[-1][0]] = str(target)
    cut = root / "cut.png"
    cut.write_bytes((root / records[0][0]).read_bytes()[:60])
    tiny = root / "tiny.png"
    Image.fromarray(pixels[1], mode="L").save(tiny)
    records += [("cut.png", cut), ("tiny.png", tiny)]
    return records, [str(t) for t in digits.target], labels


def test_digits_written_as_png_are_validated_and_profiled(tmp_path: Path) -> None:
    records, targets, labels = _write_digits(tmp_path)
    suite = ImageSuite(brightness=(0.05, 0.95), near_duplicate_distance=8)
    result = validate_images(records, suite)
    report = result.report
    assert report.quarantined["cut.png"][0].startswith("decodable: ")
    assert report.quarantined["tiny.png"] == ["resolution: 8x8 is below 32x32"]
    first: dict[str, str] = {}
    expected = {}
    for name, path in records[:-2]:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if first.setdefault(digest, name) != name:
            expected[name] = first[digest]
    assert result.exact_duplicates == expected
    for earlier, later, distance in result.near_duplicates:
        props = result.properties
        assert distance == hamming_distance(props[earlier].phash, props[later].phash) <= 8
    assert result.properties[records[5][0]].mode == "L"
    clean = {k: v for k, v in result.properties.items() if k not in report.quarantined}
    profile = profile_images(clean, labels)
    kept = [labels[k] for k in clean]
    assert profile.class_counts == dict(Counter(kept))
    assert profile.sizes == {"32x32": len(clean)}
    assert sum(profile.class_counts.values()) + len(report.quarantined) == len(targets) + 2
