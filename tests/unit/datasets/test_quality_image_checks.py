"""Image checks on the apple farm's photos: defective files, duplicates, blur, light."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pomona.datasets.checks import (
    IMAGE_CHECKS,
    ImageProperties,
    ImageSuite,
    ImageValidator,
    find_near_duplicates,
    hamming_distance,
    validate_images,
)
from pomona.datasets.checks._near import near_duplicate_pairs
from pomona.errors import InvalidInputError
from pomona.examples import apples


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(image: np.ndarray, quality: int = 80) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.fixture(scope="module")
def photos() -> np.ndarray:
    images, _ = apples.generate_apples(40, seed=3)
    return images


def test_defective_apple_files_are_caught_by_the_right_check(tmp_path: Path) -> None:
    farm = apples.write_apple_folder(tmp_path / "farm", 150, seed=7, defective_fraction=0.1)
    records = [(f, farm.root / f) for f in farm.files]
    result = validate_images(records, workers=1)
    expected_check = {
        "truncated_png": "decodable",
        "truncated_jpeg": "decodable",
        "not_an_image": "decodable",
        "tiny_image": "resolution",
        "wrong_format": "format",
    }
    report = result.report
    assert {d.kind for d in farm.defective} == set(expected_check)
    for bad in farm.defective:
        reasons = report.quarantined[bad.path]
        assert reasons[0].startswith(expected_check[bad.kind] + ": "), (bad, reasons)
    broken = {d.path for d in farm.defective}
    clean = [f for f in farm.files if f not in broken]
    assert not set(report.quarantined) & set(clean)  # no good photo is quarantined
    decodable = report.find_check("decodable")
    assert decodable is not None
    assert (decodable.failed, decodable.total) == (9, 150)
    assert set(result.properties) == {f for f in farm.files if f not in _undecodable(farm)}


def _undecodable(farm: apples.AppleFolderSummary) -> set[str]:
    kinds = ("truncated_png", "truncated_jpeg", "not_an_image")
    return {d.path for d in farm.defective if d.kind in kinds}


def test_every_check_is_in_the_report_and_clean_photos_pass(photos: np.ndarray) -> None:
    result = validate_images([(f"p{i}", _png(img)) for i, img in enumerate(photos)])
    assert [c.name for c in result.report.checks] == list(IMAGE_CHECKS)
    assert result.report.passed and result.report.quarantined == {}
    assert all(c.passed and c.total == 40 for c in result.report.checks)


def test_properties_describe_each_image(photos: np.ndarray) -> None:
    result = validate_images([("a", _png(photos[0])), ("b", _jpeg(photos[1]))])
    a = result.properties["a"]
    assert (a.width, a.height, a.format, a.mode) == (64, 64, "PNG", "RGB")
    grey = photos[0].astype(np.float64) @ [0.299, 0.587, 0.114]
    assert a.brightness == pytest.approx(grey.mean() / 255, abs=1e-5)
    assert a.contrast == pytest.approx(grey.std() / 255, abs=1e-5)
    assert a.mean_rgb == pytest.approx(tuple(photos[0].reshape(-1, 3).mean(axis=0)), abs=1e-3)
    assert len(a.phash) == 64 and a.n_bytes == len(_png(photos[0]))
    assert result.properties["b"].format == "JPEG"
    assert ImageProperties.from_dict(a.to_dict()) == a


def test_exact_and_near_duplicates_are_quarantined(photos: np.ndarray) -> None:
    near = _jpeg(photos[2], quality=70)
    records = [(f"p{i}", _png(img)) for i, img in enumerate(photos[:10])]
    records += [("copy_of_p1", _png(photos[1])), ("jpeg_of_p2", near)]
    result = validate_images(records)
    report = result.report
    assert report.quarantined["copy_of_p1"] == ["exact_duplicate: same bytes as p1"]
    (reason,) = report.quarantined["jpeg_of_p2"]
    assert reason.startswith("near_duplicate: looks like p2 (")
    assert set(report.quarantined) == {"copy_of_p1", "jpeg_of_p2"}
    assert result.exact_duplicates == {"copy_of_p1": "p1"}
    ((first, later, distance),) = result.near_duplicates
    assert (first, later) == ("p2", "jpeg_of_p2")
    assert distance == hamming_distance(
        result.properties["p2"].phash, result.properties["jpeg_of_p2"].phash
    )


def _records(images: dict[str, np.ndarray]) -> list[tuple[str, bytes]]:
    return [(k, _png(v)) for k, v in images.items()]


def test_blur_light_and_shape_checks(photos: np.ndarray) -> None:
    blurred = np.asarray(Image.fromarray(photos[0]).filter(ImageFilter.GaussianBlur(6)))
    wide = np.asarray(Image.fromarray(photos[1]).resize((320, 64)))
    images = {
        "sharp": photos[3],
        "blurred": blurred,
        "black": np.zeros((64, 64, 3), np.uint8),
        "flat_grey": np.full((64, 64, 3), 128, np.uint8),
        "wide": wide,
    }
    suite = ImageSuite(min_blur=50.0, near_duplicate_distance=None)
    report = validate_images(_records(images), suite).report
    kinds = {k: sorted(r.split(":")[0] for r in v) for k, v in report.quarantined.items()}
    assert kinds == {
        "blurred": ["blur"],
        "black": ["blur", "brightness", "contrast"],
        "flat_grey": ["blur", "contrast"],
        "wide": ["aspect_ratio"],
    }
    assert report.quarantined["wide"] == ["aspect_ratio: 5.00 is above 4"]


def test_blocking_checks_fail_the_report(photos: np.ndarray) -> None:
    records = [("ok", _png(photos[0])), ("cut", _png(photos[1])[:200])]
    assert validate_images(records).report.passed
    report = validate_images(records, ImageSuite(blocking=("decodable",))).report
    assert not report.passed
    assert report.quarantined["cut"][0].startswith("decodable: ")


def test_tolerance_and_missing_files(tmp_path: Path, photos: np.ndarray) -> None:
    good = tmp_path / "good.png"
    good.write_bytes(_png(photos[0]))
    suite = ImageSuite(blocking=("decodable",), tolerance={"decodable": 0.5})
    report = validate_images([("good", good), ("gone", tmp_path / "gone.png")], suite).report
    assert report.passed
    assert report.quarantined["gone"] == [
        "decodable: cannot read the file: No such file or directory"
    ]


def test_workers_give_the_same_result_as_one_process(photos: np.ndarray) -> None:
    records = [(f"p{i}", _png(photos[i % 40])) for i in range(600)]
    one = validate_images(records, workers=1)
    two = validate_images(records, workers=2)
    assert two.report == one.report
    assert dict(two.properties) == dict(one.properties)
    assert len(one.report.quarantined) == 560  # every image after the first 40 is a copy


def test_a_validator_takes_batches_and_sees_duplicates_across_them(photos: np.ndarray) -> None:
    with ImageValidator(ImageSuite(), workers=1) as validator:
        validator.update([("a", _png(photos[0]))])
        validator.update([("b", _png(photos[0]))])
        result = validator.result()
        with pytest.raises(InvalidInputError, match="already gave its result"):
            validator.update([("c", _png(photos[1]))])
    assert result.report.quarantined == {"b": ["exact_duplicate: same bytes as a"]}


def test_a_record_id_given_twice_is_refused(photos: np.ndarray) -> None:
    with pytest.raises(InvalidInputError, match="Record id 'a' appears twice"):
        validate_images([("a", _png(photos[0])), ("a", _png(photos[1]))])


def test_image_suite_yaml_round_trip() -> None:
    suite = ImageSuite(formats=("png", "jpg"), min_blur=None, blocking=("decodable", "format"))
    assert suite.formats == ("PNG", "JPEG")
    again = ImageSuite.from_yaml(suite.to_yaml())
    assert again == suite and again.min_blur is None
    with pytest.raises(InvalidInputError, match="brightness"):
        ImageSuite.from_dict({"brightness": [0.9, 0.1]})


def test_near_duplicate_search_is_exact() -> None:
    rng = np.random.default_rng(0)
    hashes = rng.integers(0, 256, size=(400, 32), dtype=np.uint8)
    for i in range(0, 40, 2):  # plant pairs 0..20 bits apart
        flip = rng.choice(256, size=i // 2, replace=False)
        bits = np.unpackbits(hashes[i])
        bits[flip] ^= 1
        hashes[i + 1] = np.packbits(bits)
    table = np.unpackbits(hashes, axis=1).astype(np.int16)
    brute = (table[:, None, :] != table[None, :, :]).sum(axis=2)
    for limit in (0, 5, 16):
        i, j, d = near_duplicate_pairs(hashes, limit)
        rows, cols = np.nonzero(np.triu(brute <= limit, 1))
        want = sorted(zip(rows.tolist(), cols.tolist(), strict=True))
        assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == want
        assert (d == brute[i, j]).all()
    named = {f"h{k}": hashes[k].tobytes().hex() for k in range(4)}
    assert find_near_duplicates(named, 1) == [("h0", "h1", 0), ("h2", "h3", 1)]
    with pytest.raises(InvalidInputError, match="different lengths"):
        hamming_distance("ab", "abcd")


_POOL_CHECK = """
import os
from pomona.datasets.checks._pool import ChunkPool

def pid(chunk, _):
    return chunk, os.getpid()

pool = ChunkPool(2)
try:
    results = list(pool.map(pid, range(6), None))
finally:
    pool.close()
assert [chunk for chunk, _ in results] == list(range(6))
assert results[0][1] == os.getpid()
assert {p for _, p in results[1:]} - {os.getpid()}, "no chunk ran in a worker process"
assert list(ChunkPool(1).map(pid, range(3), None)) == [(i, os.getpid()) for i in range(3)]
"""


def test_chunks_after_the_first_run_in_worker_processes() -> None:
    # Workers start only in a single-threaded process (fork safety): check in a fresh one.
    result = subprocess.run(
        [sys.executable, "-c", _POOL_CHECK], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_near_duplicate_search_of_very_alike_images_compares_every_pair() -> None:
    rng = np.random.default_rng(1)
    hashes = np.zeros((600, 32), np.uint8)  # plain backgrounds: most bands are equal
    hashes[:, 26:] = rng.integers(0, 256, size=(600, 6), dtype=np.uint8)
    table = np.unpackbits(hashes, axis=1).astype(np.int16)
    brute = (table[:, None, :] != table[None, :, :]).sum(axis=2)
    rows, cols = np.nonzero(np.triu(brute <= 12, 1))
    i, j, d = near_duplicate_pairs(hashes, 12)
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(
        zip(rows.tolist(), cols.tolist(), strict=True)
    )
    assert len(i) > 10 and (d == brute[i, j]).all()
