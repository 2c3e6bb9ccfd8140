"""Datasets through the public SDK, on every backend pair and both transports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from pomona.client import Workspace
from pomona.datasets.checks import ImageSuite
from pomona.errors import DatasetValidationError, InvalidInputError, NotFoundError
from pomona.examples.apples import write_apple_folder


def test_images_are_ingested_and_defective_files_quarantined_not_dropped(
    ws: Workspace, tmp_path: Path
) -> None:
    photos = write_apple_folder(tmp_path / "photos", 40, seed=3, defective_fraction=0.15)
    version = ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
    broken = {d.path for d in photos.defective}
    assert (str(version), version.kind, version.version) == ("apples:1", "images", 1)
    assert version.num_records + version.num_quarantined == 40
    assert version.num_new == 40
    assert version.report is not None and version.report.passed
    held = ws.datasets.list_records(version, quarantined=True)
    assert {r.record_id for r in held} == broken
    assert all(r.reasons for r in held)
    kinds = {d.path: d.kind for d in photos.defective}
    for record in held:
        expected = "resolution" if kinds[record.record_id] == "tiny_image" else None
        if expected:
            assert any(reason.startswith(expected) for reason in record.reasons)
        assert (
            ws.datasets.read_record(version, record.record_id)
            == (tmp_path / "photos" / record.record_id).read_bytes()
        )
    clean = [g for f, g in zip(photos.files, photos.grades, strict=True) if f not in broken]
    expected_counts = {g: clean.count(g) for g in set(clean)}
    assert dict(version.label_counts) == expected_counts
    assert ws.datasets.label_distribution("apples:1") == expected_counts
    records = ws.datasets.list_records("apples", limit=1000)
    assert records.total == version.num_records
    assert all(r.attributes["width"] == 64 for r in records)
    profile = ws.datasets.get_profile(version)
    assert profile["class_counts"] == expected_counts
    assert {"width", "brightness", "blur", "mean_red"} <= set(profile["columns"])
    exported = ws.datasets.export(version, tmp_path / "out")
    files = sorted(p.relative_to(exported).as_posix() for p in exported.rglob("*.*"))
    assert len(files) == version.num_records
    assert {f.split("/")[0] for f in files} == set(expected_counts)


def test_ingesting_again_stores_only_the_new_files(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    write_apple_folder(folder, 20, seed=1)
    first = ws.datasets.ingest("apples", folder, labels="subfolders")
    assert ws.datasets.ingest("apples", folder, labels="subfolders").version == 1
    more = write_apple_folder(tmp_path / "more", 6, seed=99)
    for name in more.files:
        target = folder / name.replace("apple_", "new_apple_")
        target.parent.mkdir(exist_ok=True)
        shutil.copy(tmp_path / "more" / name, target)
    with ws.start_run("collect") as run:
        second = ws.datasets.ingest("apples", folder, labels="subfolders", run_id=run.run_id)
    assert (second.version, second.num_records, second.num_new) == (2, 26, 6)
    assert second.lineage.run_id == run.run_id
    with pytest.raises(InvalidInputError, match="is not a run id"):
        ws.datasets.ingest("apples", folder, run_id="nope")
    assert second.lineage.parent == first.ref
    assert second.lineage.operation == "ingest"
    assert ws.datasets.get_version("apples:1").num_records == 20
    assert [v.version for v in ws.datasets.list_versions("apples")] == [2, 1]
    [info] = ws.datasets.list_datasets()
    assert (info.name, info.latest_version, info.num_versions) == ("apples", 2, 2)


def test_a_split_is_stratified_reproducible_and_keeps_copies_together(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    photos = write_apple_folder(folder, 60, seed=5)
    for name in photos.files[:10]:  # exact copies under other names
        shutil.copy(folder / name, folder / name.replace("apple_", "copy_"))
    suite = ImageSuite(exact_duplicates=False, near_duplicate_distance=None)
    version = ws.datasets.ingest("apples", folder, labels="subfolders", suite=suite)
    assert version.num_records == 70
    split = ws.datasets.split(version, test=0.2, val=0.1, seed=0)
    assert sum(split.sizes.values()) == 70
    assert split.sizes["test"] == pytest.approx(14, abs=3)
    again = ws.datasets.split("apples:1", test=0.2, val=0.1, seed=0)
    assert again.split_id == split.split_id
    assignment = ws.datasets.split_assignment(split)
    assert assignment == ws.datasets.split_assignment(again)
    for name in photos.files[:10]:
        assert assignment[name] == assignment[name.replace("apple_", "copy_")]
    for subset in ("train", "test"):
        labels = {r.label for r in ws.datasets.list_records(split, subset=subset, limit=1000)}
        assert labels == {"good", "ok", "bad"}
    test_ids = {r.record_id for r in ws.datasets.list_records(split, subset="test", limit=1000)}
    assert test_ids == {k for k, v in assignment.items() if v == "test"}
    assert [s.split_id for s in ws.datasets.list_splits(version)] == [split.split_id]
    other = ws.datasets.split(version, seed=1)
    assert other.split_id != split.split_id


def test_tables_from_csv_and_parquet_validate_split_and_load(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer, load_wine

    wine = load_wine(as_frame=True).frame
    wine.to_csv(tmp_path / "wine.csv", index=False)
    version = ws.datasets.ingest("wine", tmp_path / "wine.csv", labels="target")
    assert (version.kind, version.num_records, version.num_quarantined) == ("table", 178, 0)
    assert version.label_counts == {"1": 71, "0": 59, "2": 48}
    split = ws.datasets.split(version, test=0.25, val=0.0, stratify="label", seed=3)
    train = ws.datasets.load_table(split, subset="train")
    test = ws.datasets.load_table(split, subset="test")
    assert len(train) + len(test) == 178
    assert set(train.index).isdisjoint(test.index)
    assert test["target"].value_counts().to_dict() == {1: 18, 0: 15, 2: 12}
    out = ws.datasets.export(split, tmp_path / "train", subset="train")
    pd.testing.assert_frame_equal(pd.read_parquet(out / "data.parquet"), train)
    cancer = load_breast_cancer(as_frame=True).frame
    cancer.to_parquet(tmp_path / "cancer.parquet")
    table = ws.datasets.ingest("cancer", tmp_path / "cancer.parquet", labels="target")
    loaded = ws.datasets.load_table(table)
    assert loaded.shape == (569, 31)
    pd.testing.assert_frame_equal(
        loaded.reset_index(drop=True), cancer, check_dtype=False, check_names=False
    )


def test_a_suite_inferred_from_a_reference_catches_bad_rows(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    wine.to_csv(tmp_path / "ref.csv", index=False)
    reference = ws.datasets.ingest("wine", tmp_path / "ref.csv", labels="target")
    suite = ws.datasets.infer_suite(reference)
    assert "alcohol" in suite and "min:" in suite
    assert ws.datasets.validate(reference, suite).passed
    bad = wine.copy()
    bad.loc[[3, 7], "alcohol"] = 99.0
    bad.to_csv(tmp_path / "bad.csv", index=False)
    (tmp_path / "suite.yaml").write_text(suite)
    version = ws.datasets.ingest(
        "wine", tmp_path / "bad.csv", labels="target", suite=tmp_path / "suite.yaml"
    )
    assert (version.version, version.num_records, version.num_quarantined) == (2, 176, 2)
    held = ws.datasets.list_records(version, quarantined=True)
    assert [r.record_id for r in held] == ["3", "7"]
    assert all("range:alcohol" in r.reasons[0] for r in held)
    assert held[0].attributes["alcohol"] == 99.0
    quarantined = ws.datasets.load_table(version, quarantined=True)
    assert list(quarantined.index) == [3, 7]


def test_a_strict_ingest_with_a_failing_blocking_check_makes_no_version(
    ws: Workspace, tmp_path: Path
) -> None:
    df = pd.DataFrame({"x": range(40), "label": ["a"] * 38 + ["b"] * 2})
    df.to_csv(tmp_path / "t.csv", index=False)
    suite = (
        "columns:\n  label:\n    dtype: str\n    class_balance: {a: [0.4, 0.6], b: [0.4, 0.6]}\n"
        "blocking: [class_balance]\n"
    )
    with pytest.raises(DatasetValidationError, match="failed 2 blocking check") as info:
        ws.datasets.ingest("t", tmp_path / "t.csv", labels="label", suite=suite, strict=True)
    assert info.value.report is not None and not info.value.report.passed
    with pytest.raises(NotFoundError, match="Dataset 't' does not exist"):
        ws.datasets.get_version("t")
    version = ws.datasets.ingest("t", tmp_path / "t.csv", labels="label", suite=suite)
    assert not version.passed
    assert not ws.datasets.validate(version).passed
    with pytest.raises(DatasetValidationError):
        ws.datasets.validate(version, strict=True)


def test_labels_are_imported_and_edited_as_new_versions(ws: Workspace, tmp_path: Path) -> None:
    photos = write_apple_folder(tmp_path / "photos", 12, seed=2, layout="flat")
    unlabelled = ws.datasets.ingest("apples", tmp_path / "photos")
    assert unlabelled.label_counts == {"(none)": 12}
    labelled = ws.datasets.import_labels(unlabelled, photos.labels_csv, label_column="grade")
    assert labelled.version == 2
    assert labelled.lineage.operation == "import_labels"
    assert labelled.label_counts == photos.counts
    assert labelled.num_new == 0
    first = photos.files[0]
    new_label = "bad" if photos.grades[0] != "bad" else "good"
    relabelled = ws.datasets.relabel(labelled, {first: new_label})
    assert relabelled.lineage.parent == labelled.ref
    [record] = [r for r in ws.datasets.list_records(relabelled) if r.record_id == first]
    assert record.label == new_label
    assert [r.label for r in ws.datasets.list_records(labelled) if r.record_id == first] == [
        photos.grades[0]
    ]
    wrong = tmp_path / "wrong.csv"
    wrong.write_text(f"file,grade\n{first},ok\nmissing.png,good\n")
    with pytest.raises(
        InvalidInputError, match=r"wrong\.csv, line 3: 'missing\.png' is not a file"
    ):
        ws.datasets.import_labels(relabelled, wrong)
    with pytest.raises(InvalidInputError, match=r"'nope\.png' is not a record of apples:3"):
        ws.datasets.relabel(relabelled, {"nope.png": "good"})
    assert ws.datasets.get_version("apples").version == 3


def test_digits_from_scikit_learn_go_through_ingest_validate_and_split(
    ws: Workspace, tmp_path: Path
) -> None:
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for i in range(200):
        folder = tmp_path / "digits" / str(digits.target[i])
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (digits.images[i] * 255 / 16).astype(np.uint8)
        Image.fromarray(np.kron(pixels, np.ones((4, 4), np.uint8))).save(folder / f"{i}.png")
    suite = ImageSuite(near_duplicate_distance=None)
    version = ws.datasets.ingest("digits", tmp_path / "digits", labels="subfolders", suite=suite)
    assert version.num_records + version.num_quarantined == 200
    assert set(version.label_counts) == {str(d) for d in range(10)}
    assert ws.datasets.validate(version, suite).passed
    split = ws.datasets.split(version, test=0.3, val=0.0, seed=0)
    assert set(split.counts["test"]) == {str(d) for d in range(10)}
    assert split.sizes["test"] == pytest.approx(0.3 * version.num_records, abs=6)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "is empty"),
        (
            lambda p: (
                (p / "a.csv").write_text("x,y\n1,2\n"),
                (p / "b.csv").write_text("x,z\n1,2\n"),
                p,
            )[-1],
            "'b.csv' has other columns than 'a.csv'",
        ),
        (
            lambda p: (p / "t.csv").write_text("a,b\n1,2\n3,4,5\n") and p / "t.csv",
            "'t.csv', line 3",
        ),
    ],
    ids=["missing", "empty", "schemas-disagree", "bad-row"],
)
def test_bad_sources_fail_naming_the_file(
    ws: Workspace, tmp_path: Path, make: object, message: str
) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    source = make(folder)  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match=message):
        ws.datasets.ingest("bad", source)
    with pytest.raises(NotFoundError):
        ws.datasets.get_version("bad")


def test_unknown_datasets_and_versions_are_not_found(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="Dataset 'pears' does not exist"):
        ws.datasets.get_version("pears:1")
    (tmp_path / "t.csv").write_text("a\n1\n")
    ws.datasets.ingest("t", tmp_path / "t.csv")
    with pytest.raises(NotFoundError, match=r"has no version 9 \(latest is 1\)"):
        ws.datasets.get_version("t:9")
    with pytest.raises(InvalidInputError, match="not a dataset reference"):
        ws.datasets.get_version("t:x")


def test_prepare_stores_the_fitted_transform_that_serving_loads(
    ws: Workspace, tmp_path: Path
) -> None:
    from sklearn.datasets import load_wine

    from pomona.datasets.transforms import Chain, Impute, Scale

    wine = load_wine(as_frame=True).frame
    wine.loc[[1, 5], "magnesium"] = float("nan")
    wine.to_csv(tmp_path / "wine.csv", index=False)
    raw = ws.datasets.ingest("wine", tmp_path / "wine.csv", labels="target")
    prepared = ws.datasets.prepare(raw, Chain([Impute(strategy="median"), Scale()]))
    assert prepared.lineage.operation == "prepare"
    assert prepared.lineage.parent == raw.ref
    assert prepared.lineage.transform == "Chain"
    assert prepared.lineage.transform_digest is not None
    assert prepared.label_counts == raw.label_counts
    table = ws.datasets.load_table(prepared)
    assert table["magnesium"].notna().all()
    assert abs(table["alcohol"].mean()) < 1e-9
    assert list(table["target"]) == list(wine["target"])
    served = ws.datasets.load_transform(prepared)
    features = ws.datasets.load_table(raw).drop(columns=["target"])
    pd.testing.assert_frame_equal(served.transform(features), table.drop(columns=["target"]))
    one = served.transform(features.iloc[5].to_dict())
    assert one["magnesium"] == pytest.approx(table["magnesium"].iloc[5])
    with pytest.raises(InvalidInputError, match="was not made by a transform"):
        ws.datasets.load_transform(raw)


def test_prepared_images_are_what_the_loaded_transform_gives(ws: Workspace, tmp_path: Path) -> None:
    import io

    import numpy as np
    from PIL import Image

    from pomona.datasets.transforms import ImageStandardize

    write_apple_folder(tmp_path / "photos", 8, seed=6)
    raw = ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
    prepared = ws.datasets.prepare(raw, ImageStandardize(size=32))
    assert (prepared.num_records, prepared.label_counts) == (8, raw.label_counts)
    assert prepared.lineage.transform_params["size"] == 32
    served = ws.datasets.load_transform(prepared)
    for record in ws.datasets.list_records(prepared):
        assert (record.attributes["width"], record.attributes["height"]) == (32, 32)
        source = np.asarray(
            Image.open(io.BytesIO(ws.datasets.read_record(raw, record.record_id))).convert("RGB")
        )
        stored = np.asarray(
            Image.open(io.BytesIO(ws.datasets.read_record(prepared, record.record_id)))
        )
        np.testing.assert_array_equal(served.transform(source), stored)
