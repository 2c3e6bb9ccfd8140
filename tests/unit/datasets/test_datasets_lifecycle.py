"""Dataset events start pipeline triggers; deleting versions and datasets; gc; relabelling
tables; the file store's batched put."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import pomona as pm
from pomona.artifacts.backends.file import FileArtifactStore
from pomona.client import Workspace
from pomona.client.connect import gc
from pomona.errors import ConflictError, InvalidInputError
from pomona.examples.apples import write_apple_folder
from pomona.pipelines import Scheduler


@pm.step
def noted(event: dict[str, Any] | None) -> str:
    return "none" if event is None else f"{event['dataset']}:{event['version']}:{event['ref']}"


@pm.pipeline
def on_new_data(event: dict[str, Any] | None = None) -> None:
    noted(event)


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    with pm.connect(tmp_path / "ws") as workspace:
        yield workspace


def _wine(path: Path, n: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "alcohol": rng.normal(12, 1, n).round(2),
            "colour": rng.choice(["red", "white"], n),
            "grade": rng.integers(0, 3, n),
        }
    )
    frame.to_csv(path, index=False)
    return path


def test_a_new_version_starts_an_event_trigger(ws: Workspace, tmp_path: Path) -> None:
    ws.pipelines.create_schedule(
        "on-wine",
        on_new_data,
        on_event="dataset.version_created",
        event_filter={"dataset": "wine"},
    )
    csv = _wine(tmp_path / "wine.csv")
    first = ws.datasets.ingest("wine", csv, labels="grade")
    assert ws.datasets.ingest("wine", csv, labels="grade").ref == first.ref  # no new version
    [event] = ws.pipelines.list_events("dataset.version_created")
    assert event.payload == {"dataset": "wine", "version": 1, "ref": "wine:1"}
    [run_id] = Scheduler(ws.pipelines).run_once()
    run = ws.pipelines.get_run(run_id)
    assert run.trigger == f"event:dataset.version_created#{event.event_id}"
    assert ws.pipelines.load_output(run_id, "noted") == "wine:1:wine:1"
    ws.datasets.relabel(first, {"0": "2"})  # derived versions are announced too
    assert [e.payload["ref"] for e in ws.pipelines.list_events("dataset.version_created")] == [
        "wine:2",
        "wine:1",
    ]


def test_deleting_versions_refuses_referred_ones_and_gc_frees_blobs(
    ws: Workspace, tmp_path: Path
) -> None:
    write_apple_folder(tmp_path / "photos", 24, seed=1, defective_fraction=0.0)
    raw = ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
    relabelled = ws.datasets.relabel(raw, {ws.datasets.list_records(raw)[0].record_id: "bad"})
    ws.datasets.split(relabelled, test=0.25, val=0.0, seed=0)
    assert ws.artifact_store is not None
    before = set(ws.artifact_store.iter_digests())

    with pytest.raises(ConflictError, match=r"apples:1 is still referred to by version apples:2"):
        ws.datasets.delete_version("apples:1")
    with pytest.raises(InvalidInputError, match="names no version"):
        ws.datasets.delete_version("apples")
    from sklearn.dummy import DummyClassifier

    model = DummyClassifier().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    ws.models.register(
        "grader", model, input_example=np.zeros((2, 2)), dataset_versions=["apples:2"]
    )
    with pytest.raises(ConflictError, match=r"model 'grader' version 1"):
        ws.datasets.delete_version("apples:2")
    with pytest.raises(ConflictError, match=r"model 'grader' version 1"):
        ws.datasets.delete("apples")

    ws.datasets.delete_version("apples:2", force=True)
    ws.datasets.delete_version("apples:2")  # idempotent
    assert [v.version for v in ws.datasets.list_versions("apples")] == [1]
    freed = gc(ws).blobs_freed
    after = set(ws.artifact_store.iter_digests())
    # the photos are still held by apples:1; its index, manifest, report, split are gone
    assert freed == len(before - after) > 0
    assert ws.datasets.list_records("apples:1", limit=1000).total == raw.num_records
    for record in ws.datasets.list_records("apples:1", limit=3):
        assert ws.datasets.read_record("apples:1", record.record_id)[:4] == b"\x89PNG"

    ws.datasets.delete("apples", force=True)
    assert [d.name for d in ws.datasets.list_datasets()] == []
    gc(ws)
    assert not before & set(ws.artifact_store.iter_digests())  # nothing of apples remains
    assert ws.datasets.ingest("apples", tmp_path / "photos").ref.version == 1  # stored again


def test_relabelling_a_table_changes_its_label_column(ws: Workspace, tmp_path: Path) -> None:
    first = ws.datasets.ingest("wine", _wine(tmp_path / "wine.csv"), labels="grade")
    table = ws.datasets.load_table(first)
    new = ws.datasets.relabel(first, {"3": "2", "5": "0"})
    assert new.lineage.operation == "relabel" and new.lineage.parent == first.ref
    changed = ws.datasets.load_table(new)
    assert changed.loc[3, "grade"] == 2 and changed.loc[5, "grade"] == 0
    assert changed["grade"].dtype == table["grade"].dtype
    same = changed.drop(index=[3, 5])
    pd.testing.assert_frame_equal(same, table.drop(index=[3, 5]).loc[same.index])
    expected = table["grade"].copy()
    expected.loc[3], expected.loc[5] = 2, 0
    assert new.label_counts == {str(k): int(v) for k, v in expected.value_counts().items()}
    with pytest.raises(InvalidInputError, match="'999' is not a record of wine:1"):
        ws.datasets.relabel(first, {"999": "1"})
    with pytest.raises(InvalidInputError, match="the label 'high' is not an integer"):
        ws.datasets.relabel(first, {"3": "high"})
    plain = ws.datasets.ingest("plain", _wine(tmp_path / "plain.csv"))
    with pytest.raises(InvalidInputError, match="has no label column"):
        ws.datasets.relabel(plain, {"1": "x"})


def test_relabelling_a_categorical_label_keeps_quarantined_rows(
    ws: Workspace, tmp_path: Path
) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, None, 4.0, 5.0, 6.0], "kind": list("aabbab")})
    path = tmp_path / "t.parquet"
    frame.astype({"kind": "category"}).to_parquet(path)
    suite = (
        "version: 1\nblocking: []\ncolumns:\n"
        "  x: {dtype: float, nullable: false}\n  kind: {dtype: str, nullable: false}\n"
    )
    first = ws.datasets.ingest("t", path, labels="kind", suite=suite)
    assert (first.num_records, first.num_quarantined) == (5, 1)
    new = ws.datasets.relabel(first, {"0": "c", "2": "a"})
    assert (new.num_records, new.num_quarantined) == (5, 1)
    assert ws.datasets.load_table(new).loc[0, "kind"] == "c"
    assert ws.datasets.load_table(new, quarantined=True).loc[2, "kind"] == "a"
    assert new.label_counts == {"a": 2, "b": 2, "c": 1}


def test_the_file_store_puts_a_batch_atomically(tmp_path: Path) -> None:
    files = []
    for i in range(40):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(bytes([i % 7]) * (i * 100))
        files.append(path)
    store = FileArtifactStore(tmp_path / "blobs")
    stored = store.put_files(files, workers=4)
    assert [size for _, size in stored] == [i * 100 for i in range(40)]
    for (digest, _), path in zip(stored, files, strict=True):
        assert store.read_bytes(digest) == path.read_bytes()
    assert list((store.root / "tmp").iterdir()) == []
    assert len(set(store.iter_digests())) == len({d for d, _ in stored})
    assert store.put_files(files[:3]) == stored[:3]  # storing again is a no-op
