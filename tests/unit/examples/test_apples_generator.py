from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pomona.errors import AlreadyExistsError, InvalidInputError
from pomona.examples import apples
from pomona.examples.apples import PhotoConditions


def _decodes(path: Path) -> bool:
    try:
        with Image.open(path) as image:
            image.load()
    except (OSError, SyntaxError, ValueError):
        return False
    return True


def _sharpness(images: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours."""
    grey = images.astype(np.float64).mean(axis=-1)
    return float(np.abs(np.diff(grey, axis=2)).mean())


def test_same_seed_gives_identical_pixels_whatever_the_batch() -> None:
    images, metas = apples.generate_apples(6, seed=11)
    again, _ = apples.generate_apples(6, seed=11)
    first, _ = apples.generate_apples(2, seed=11)
    rest, rest_metas = apples.generate_apples(4, seed=11, start=2)
    single, single_meta = apples.generate_apple(apples.apple_rng(11, 4))

    assert np.array_equal(images, again)
    assert np.array_equal(images, np.concatenate([first, rest]))
    assert metas[2:] == rest_metas
    assert np.array_equal(single, images[4])
    assert single_meta == metas[4]


def test_other_seeds_give_other_photos() -> None:
    a, _ = apples.generate_apples(3, seed=1)
    b, _ = apples.generate_apples(3, seed=2)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a[0], a[1])


@pytest.mark.parametrize("size", [32, 64, 128], ids=lambda s: f"{s}px")
def test_photos_are_square_rgb_uint8(size: int) -> None:
    images, metas = apples.generate_apples(3, seed=0, size=size)
    image, _ = apples.generate_apple(5, size=size)
    assert images.shape == (3, size, size, 3)
    assert images.dtype == np.uint8
    assert image.shape == (size, size, 3)
    assert image.flags.c_contiguous
    assert all(m.grade in apples.GRADES and m.variety in apples.VARIETIES for m in metas)


def test_grades_follow_the_class_balance() -> None:
    mostly_bad = PhotoConditions(grade_probs={"good": 1, "ok": 1, "bad": 8})
    _, metas = apples.generate_apples(400, seed=3, size=16, conditions=mostly_bad)
    share = Counter(m.grade for m in metas)["bad"] / len(metas)
    assert 0.72 < share < 0.88

    _, only_good = apples.generate_apples(50, seed=3, size=16, conditions=PhotoConditions(
        grade_probs={"good": 1}))  # fmt: skip
    assert {m.grade for m in only_good} == {"good"}


def test_defect_area_separates_the_grades() -> None:
    _, metas = apples.generate_apples(300, seed=5)
    by_grade = {g: [m.defect_fraction for m in metas if m.grade == g] for g in apples.GRADES}
    assert max(by_grade["good"]) < 0.01
    assert min(by_grade["ok"]) > 0.003
    assert max(by_grade["ok"]) < 0.2
    assert min(by_grade["bad"]) > 0.04
    assert any(m.has_rot for m in metas if m.grade == "bad")
    assert not any(m.has_rot for m in metas if m.grade != "bad")


def test_new_variety_share_controls_the_new_variety() -> None:
    _, farm = apples.generate_apples(200, seed=1, size=16, conditions=apples.day0_conditions())
    _, all_new = apples.generate_apples(
        20, seed=1, size=16, conditions=PhotoConditions(new_variety="russet", new_variety_share=1)
    )
    _, day2 = apples.generate_apples(200, seed=1, size=16, conditions=apples.townsfolk_day2())
    assert not any(m.variety in ("pink_lady", "russet") for m in farm)
    assert {m.variety for m in all_new} == {"russet"}
    assert 0.25 < sum(m.variety == "pink_lady" for m in day2) / 200 < 0.55


def test_darkness_blur_and_noise_knobs_change_the_pixels() -> None:
    plain = PhotoConditions(blur=0, blur_jitter=0, noise=0)
    base, _ = apples.generate_apples(30, seed=2, conditions=plain)
    dark, _ = apples.generate_apples(30, seed=2, conditions=PhotoConditions(
        brightness=0.5, blur=0, blur_jitter=0, noise=0))  # fmt: skip
    blurry, metas = apples.generate_apples(30, seed=2, conditions=PhotoConditions(
        blur=2.0, blur_jitter=0, noise=0))  # fmt: skip
    noisy, _ = apples.generate_apples(30, seed=2, conditions=PhotoConditions(
        blur=0, blur_jitter=0, noise=20))  # fmt: skip

    assert dark.mean() < 0.6 * base.mean()
    assert _sharpness(blurry) < 0.7 * _sharpness(base)
    assert all(m.blur_sigma == 2.0 for m in metas)
    assert _sharpness(noisy) > 1.5 * _sharpness(base)


def test_day_presets_tell_the_drift_story() -> None:
    assert apples.townsfolk_day1() == apples.day0_conditions()
    day0, _ = apples.generate_apples(60, seed=4, conditions=apples.day0_conditions())
    day2, metas = apples.generate_apples(60, seed=4, conditions=apples.townsfolk_day2())
    assert day2.mean() < 0.75 * day0.mean()
    assert _sharpness(day2) < _sharpness(day0)
    assert Counter(m.grade for m in metas)["bad"] > 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("grade_probs", {"great": 1.0}),
        ("grade_probs", {"good": -1.0, "bad": 2.0}),
        ("variety_mix", {"fuji": 1.0}),
        ("new_variety", "fuji"),
        ("brightness", 0.0),
    ],
    ids=["unknown-grade", "negative-weight", "unknown-variety", "unknown-new", "black"],
)
def test_bad_conditions_say_which_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInputError, match=field):
        PhotoConditions(**{field: value})  # type: ignore[arg-type]


def test_write_apple_folder_labels_by_subfolder_and_csv(tmp_path: Path) -> None:
    summary = apples.write_apple_folder(tmp_path / "photos", 30, seed=8)
    images, metas = apples.generate_apples(30, seed=8)

    with summary.labels_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == list(summary.files)
    assert [r["grade"] for r in rows] == [m.grade for m in metas]
    assert [r["variety"] for r in rows] == [m.variety for m in metas]
    assert all(r["file"].split("/")[0] == r["grade"] for r in rows)
    assert sum(summary.counts.values()) == 30
    with Image.open(summary.root / summary.files[7]) as first:
        assert np.array_equal(np.asarray(first), images[7])
    assert summary.defective == ()


def test_defective_files_really_are_broken(tmp_path: Path) -> None:
    summary = apples.write_apple_folder(
        tmp_path / "photos", 40, seed=9, defective_fraction=0.25, layout="flat"
    )
    kinds = Counter(d.kind for d in summary.defective)
    assert len(summary.defective) == 10
    assert set(kinds) == set(apples.DEFECTIVE_FILE_KINDS)
    for bad in summary.defective:
        path = summary.root / bad.path
        assert "/" not in bad.path
        if bad.kind in ("truncated_png", "truncated_jpeg", "not_an_image"):
            assert not _decodes(path), bad
        elif bad.kind == "tiny_image":
            with Image.open(path) as image:
                assert image.size == (8, 8)
        else:
            with Image.open(path) as image:
                assert image.format not in ("PNG", "JPEG")
    broken = {d.path for d in summary.defective}
    assert all(_decodes(summary.root / f) for f in summary.files if f not in broken)


def test_write_apple_folder_refuses_a_folder_with_files(tmp_path: Path) -> None:
    (tmp_path / "old.png").write_bytes(b"x")
    with pytest.raises(AlreadyExistsError, match="not an empty folder"):
        apples.write_apple_folder(tmp_path, 3, seed=0)


def test_contact_sheet_has_a_captioned_tile_per_photo() -> None:
    images, metas = apples.generate_apples(10, seed=0, size=32)
    sheet = apples.contact_sheet(images, [m.grade for m in metas], cols=5, scale=2)
    assert sheet.width == 5 * (64 + 4) + 4
    assert sheet.height > 2 * 64
    with pytest.raises(InvalidInputError, match="one label per image"):
        apples.contact_sheet(images, ["good"])


def _colour_histograms(images: np.ndarray, bins: int = 8, margin: int = 12) -> np.ndarray:
    centre = images[:, margin:-margin, margin:-margin].astype(np.int64) // (256 // bins)
    codes = ((centre[..., 0] * bins + centre[..., 1]) * bins + centre[..., 2]).reshape(
        len(images), -1
    )
    counts = np.stack([np.bincount(c, minlength=bins**3) for c in codes])
    return np.sqrt(counts / codes.shape[1])


def test_grades_are_learnable_from_colour_histograms_and_drift_hurts() -> None:
    from sklearn.ensemble import RandomForestClassifier

    images, metas = apples.generate_apples(1500, seed=7)
    x, y = _colour_histograms(images), np.array([m.grade for m in metas])
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(x[:1050], y[:1050])
    accuracy = model.score(x[1050:], y[1050:])
    day2, day2_metas = apples.generate_apples(300, seed=8, conditions=apples.townsfolk_day2())
    drifted = model.score(_colour_histograms(day2), np.array([m.grade for m in day2_metas]))

    majority = Counter(y[1050:]).most_common(1)[0][1] / 450
    assert accuracy > 0.75 > majority + 0.2  # measured: 0.84 (majority class: 0.52)
    assert drifted < accuracy - 0.15  # measured: 0.48
