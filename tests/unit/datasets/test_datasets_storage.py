"""What a version stores: content-addressed blobs, only new content, kept by garbage collection."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import pomona
from pomona.client import Workspace, gc
from pomona.datasets import DatasetService
from pomona.datasets._manifest import load_manifest
from pomona.datasets.transforms import Scale, load_transform
from pomona.errors import InvalidInputError
from pomona.examples.apples import write_apple_folder
from pomona.metadata.schema import dataset_versions
from pomona.types import Digest


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = pomona.connect(tmp_path / "ws")
    yield workspace  # type: ignore[misc]
    workspace.close()


def _blobs(ws: Workspace) -> set[Digest]:
    assert ws.artifact_store is not None
    return set(ws.artifact_store.iter_digests())


def test_a_second_ingest_stores_the_new_files_and_the_version_records_only(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "photos"
    write_apple_folder(folder, 30, seed=1)
    ws.datasets.ingest("apples", folder, labels="subfolders")
    before = _blobs(ws)
    extra = write_apple_folder(tmp_path / "extra", 5, seed=77)
    for name in extra.files:
        shutil.copy(tmp_path / "extra" / name, folder / name.replace("apple_", "more_"))
    second = ws.datasets.ingest("apples", folder, labels="subfolders")
    added = _blobs(ws) - before
    assert ws.artifact_store is not None
    files = {
        Digest(r.digest) for r in ws.datasets.list_records(second, limit=1000)
        if r.record_id.split("/")[-1].startswith("more_") and r.digest
    }  # fmt: skip
    assert len(files) == 5 and files <= added
    # besides the 5 files: manifest, record index, report, profile (the suite is unchanged)
    assert len(added - files) <= 4
    assert second.num_new == 5


def test_the_same_content_gives_the_same_manifest_anywhere(tmp_path: Path) -> None:
    write_apple_folder(tmp_path / "photos", 12, seed=2)
    digests = []
    for name in ("a", "b"):
        with pomona.connect(tmp_path / name) as ws:
            digests.append(ws.datasets.ingest("x", tmp_path / "photos").manifest_digest)
    assert digests[0] == digests[1]


def test_gc_keeps_blobs_that_versions_refer_to(ws: Workspace, tmp_path: Path) -> None:
    photos = write_apple_folder(tmp_path / "photos", 6, seed=3)
    version = ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
    first = tmp_path / "photos" / photos.files[0]
    with ws.start_run("same-bytes") as run:  # a run artifact with an image's bytes
        run.log_artifact(first, "copy.png")
    ws.runs.delete_run(run.run_id)
    result = gc(ws)
    assert result.runs_purged == 1 and result.blobs_freed == 0
    assert ws.datasets.read_record(version, photos.files[0]) == first.read_bytes()
    assert isinstance(ws.datasets, DatasetService)
    manifest = load_manifest(ws.artifact_store, version.manifest_digest)  # type: ignore[arg-type]
    assert all(ws.artifact_store.exists(b.digest) for b in manifest.blobs())  # type: ignore[union-attr]


def test_the_fitted_transform_round_trips_through_the_artifact_store(
    ws: Workspace, tmp_path: Path
) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 10.0], "b": [5, 6, 7, 8], "label": list("xyxy")})
    df.to_csv(tmp_path / "t.csv", index=False)
    raw = ws.datasets.ingest("t", tmp_path / "t.csv", labels="label")
    fitted = Scale(method="minmax")
    prepared = ws.datasets.prepare(raw, fitted)
    digest = prepared.lineage.transform_digest
    assert digest is not None and ws.artifact_store is not None
    stored = ws.artifact_store.read_bytes(digest)
    assert stored == fitted.to_json()
    loaded = load_transform(stored)
    new = pd.DataFrame({"a": [0.0, 5.5, 20.0], "b": [5, 8, 9]})
    pd.testing.assert_frame_equal(loaded.transform(new), fitted.transform(new))
    assert loaded.transform({"a": 10.0, "b": 8}) == {"a": 1.0, "b": 1.0}


def test_a_version_row_is_written_last_and_only_once(ws: Workspace, tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    ws.datasets.ingest("t", tmp_path / "t.csv")
    ws.datasets.ingest("t", tmp_path / "t.csv")  # same content: no new version
    assert ws.metadata_store is not None
    with ws.metadata_store.read() as conn:
        rows = conn.execute(dataset_versions.select()).all()
    assert len(rows) == 1
    assert ws.artifact_store is not None
    for column in ("manifest_digest", "report_digest", "profile_digest", "suite_digest"):
        assert ws.artifact_store.exists(Digest(rows[0]._mapping[column]))


def test_the_workspace_setting_limits_where_sources_may_be(tmp_path: Path) -> None:
    allowed = tmp_path / "data"
    allowed.mkdir()
    (allowed / "t.csv").write_text("a\n1\n")
    (tmp_path / "secret.csv").write_text("a\n2\n")
    with pomona.connect(tmp_path / "ws", **{"datasets.allowed_roots": [str(allowed)]}) as ws:
        assert ws.datasets.ingest("ok", allowed / "t.csv").num_records == 1
        with pytest.raises(InvalidInputError, match="outside the folders datasets may be read"):
            ws.datasets.ingest("no", tmp_path / "secret.csv")
        with pytest.raises(InvalidInputError, match="outside"):
            ws.datasets.ingest("no", f"sqlite:///{tmp_path / 'x.db'}", query="SELECT 1")
