"""What keeps an ingest's memory bounded: compact per-record state, spilled index rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import pomona
from pomona.artifacts.backends.memory import MemoryArtifactStore
from pomona.datasets._image_index import DigestTable
from pomona.datasets._ingest_images import build_image_version
from pomona.datasets._manifest import INDEX_ROW_GROUP, IndexWriter, index_table, read_index
from pomona.datasets._quality import empty_report
from pomona.datasets._sources import FileList, open_source
from pomona.datasets.checks import ImageValidator
from pomona.datasets.checks._compact import KeySet, TextLog, text_keys
from pomona.errors import InvalidInputError
from pomona.examples.apples import write_apple_folder


def _rows(n: int) -> list[dict[str, object]]:
    return [
        {"record_id": f"r{i:05d}", "digest": "sha256:" + format(i % 7, "064x"), "size": i}
        for i in range(n)
    ]


def test_an_index_has_the_same_bytes_however_its_rows_were_fed(tmp_path: Path) -> None:
    rows = _rows(INDEX_ROW_GROUP + 5)
    files = []
    for step in (100, 3000, len(rows)):
        writer = IndexWriter(tmp_path / f"{step}.parquet")
        for start in range(0, len(rows), step):
            writer.write(index_table(rows[start : start + step]))
        writer.store(MemoryArtifactStore())
        files.append((tmp_path / f"{step}.parquet").read_bytes())
    assert files[0] == files[1] == files[2]


def test_a_version_built_from_rows_counts_content_once_per_digest() -> None:
    blobs = MemoryArtifactStore()
    ingested = build_image_version(blobs, _rows(20), empty_report(), None)
    assert len(ingested.content) == 7 and sum(ingested.content.values()) == 20
    assert ingested.content["sha256:" + format(3, "064x")] == 3
    assert "sha256:" + format(8, "064x") not in ingested.content
    assert "not a digest" not in ingested.content
    index = ingested.manifest.records[0]
    assert index.digest in ingested.blobs  # the index itself is referred to
    assert [r["record_id"] for r in read_index(blobs, [index])] == [f"r{i:05d}" for i in range(20)]


def test_a_digest_table_keeps_the_first_value_or_the_sum() -> None:
    rows = np.zeros((3, 32), np.uint8)
    rows[1, 0] = 1
    values = np.array([5, 6, 7], np.int64)
    first, summed = DigestTable.of(rows, values, add=False), DigestTable.of(rows, values, add=True)
    zero = "sha256:" + "00" * 32
    assert (first[zero], summed[zero], len(first)) == (5, 12, 2)


def test_compact_sets_and_logs_answer_like_python_ones() -> None:
    keys = KeySet()
    for start in range(0, 1000, 37):
        keys.add(text_keys(str(i) for i in range(start, start + 37)))
    probe = text_keys(str(i) for i in (0, 500, 1035, 1036, 5000))
    assert keys.contains(probe).tolist() == [True, True, True, False, False]
    log = TextLog()
    log.extend(["a", "été", ""])
    log.extend(["zz"])
    assert list(log) == ["a", "été", "", "zz"] and log[1] == "été" and log[3] == "zz"


def test_a_streaming_validator_still_refuses_a_repeated_id(tmp_path: Path) -> None:
    photos = write_apple_folder(tmp_path / "p", 3, seed=4)
    path = tmp_path / "p" / photos.files[0]
    with ImageValidator(keep_properties=False, workers=1) as validator:
        validator.update([("a", path), ("b", path)])
        with pytest.raises(InvalidInputError, match="'a' appears twice"):
            validator.update([("a", path)])


def test_a_file_list_reads_like_the_sorted_listing(tmp_path: Path) -> None:
    listing = FileList([("b/x.png", "/s/b/x.png"), ("a.png", "/s/a.png")], root="/s")
    assert [f.record_id for f in listing] == ["a.png", "b/x.png"]
    assert listing[-1].location == "/s/b/x.png" and listing[0:1][0].location == "/s/a.png"
    other = FileList([("k", "sha256:1"), ("j", "sha256:2")])
    assert [(f.record_id, f.location) for f in other] == [("j", "sha256:2"), ("k", "sha256:1")]
    write_apple_folder(tmp_path / "photos", 4, seed=5)
    source = open_source(tmp_path / "photos")
    assert all(Path(f.location).is_file() for f in source.files)  # type: ignore[union-attr]


def test_ingesting_twice_with_other_batch_sizes_gives_the_same_version(tmp_path: Path) -> None:
    write_apple_folder(tmp_path / "photos", 40, seed=6, defective_fraction=0.1)
    digests = []
    for batch in (3, 512):
        with pomona.connect(tmp_path / f"ws{batch}", **{"datasets.batch_size": batch}) as ws:
            version = ws.datasets.ingest("x", tmp_path / "photos", labels="subfolders")
            digests.append((version.manifest_digest, version.num_quarantined))
    assert digests[0] == digests[1] and digests[0][1] > 0
