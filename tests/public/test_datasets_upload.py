"""A remote client ingests a folder or file only it has: the files are uploaded (those the
server lacks), the server makes the version; deleting over REST and the CLI."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import pomona as pm
from pomona.client import Workspace
from pomona.errors import ConflictError, InvalidInputError
from pomona.examples.apples import write_apple_folder


def _digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def server(tmp_path: Path, live_app: Callable[[Workspace], str]) -> tuple[Workspace, str]:
    """A server that may read only its own folder: the client's files are not in it."""
    allowed = tmp_path / "server-data"
    allowed.mkdir()
    local = pm.connect(tmp_path / "server", **{"datasets.allowed_roots": [str(allowed)]})
    return local, live_app(local)


def test_a_remote_client_uploads_a_local_folder(
    server: tuple[Workspace, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local, url = server
    monkeypatch.chdir(tmp_path)
    write_apple_folder("photos", 30, seed=3, defective_fraction=0.1)
    client = pm.connect(url)
    version = client.datasets.ingest("apples", "photos/", labels="subfolders")
    assert version.lineage.source == f"upload of {(tmp_path / 'photos').resolve()}"
    embedded = local.datasets.get_version("apples:1")
    assert (embedded.num_records, embedded.num_quarantined) == (
        version.num_records,
        version.num_quarantined,
    )
    assert version.num_records + version.num_quarantined == 30
    assert set(version.label_counts) <= {"good", "ok", "bad"}
    record = client.datasets.list_records(version, limit=1)[0]
    assert (
        client.datasets.read_record(version, record.record_id)
        == (tmp_path / "photos" / record.record_id).read_bytes()
    )

    # content-addressed: the server holds every file now, so nothing would be sent again
    pngs = sorted(p for p in (tmp_path / "photos").rglob("*.png"))
    ask = {"digests": [_digest(p) for p in pngs]}
    assert httpx.post(f"{url}/api/v1/datasets/uploads/missing", json=ask).json() == {"missing": []}
    new = tmp_path / "photos" / "good" / "extra.png"
    new.write_bytes(pngs[0].read_bytes()[::-1])  # a broken file, but a new one
    ask = {"digests": [_digest(p) for p in [*pngs, new]]}
    answer = httpx.post(f"{url}/api/v1/datasets/uploads/missing", json=ask).json()
    assert answer == {"missing": [_digest(new)]}
    second = client.datasets.ingest("apples", "photos/", labels="subfolders")
    assert second.version == 2 and second.num_new == 1
    assert "good/extra.png" in {
        r.record_id for r in client.datasets.list_records(second, quarantined=True, limit=1000)
    }

    # a label CSV the client has goes with the upload
    labels = tmp_path / "photos" / "labels.csv"
    third = client.datasets.ingest("apples-csv", "photos/", labels=labels, label_column="grade")
    expected = pd.read_csv(labels)["grade"].value_counts()
    assert sum(third.label_counts.values()) == third.num_records
    assert set(third.label_counts) <= set(expected.index)
    client.close()
    local.close()


def test_a_remote_client_uploads_a_table_file(
    server: tuple[Workspace, str], tmp_path: Path
) -> None:
    local, url = server
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "y": rng.integers(0, 2, 50)})
    csv = tmp_path / "client" / "table.csv"
    csv.parent.mkdir()
    frame.to_csv(csv, index=False)
    client = pm.connect(url)
    version = client.datasets.ingest("tab", csv, labels="y")
    assert version.kind == "table" and version.num_records == 50
    assert version.schema["label"] == "y"
    pd.testing.assert_frame_equal(
        client.datasets.load_table(version).reset_index(drop=True)[["x", "y"]],
        frame,
        check_exact=False,
    )
    assert local.artifact_store is not None
    assert not local.artifact_store.exists(_digest(csv))  # the raw CSV is not kept
    client.close()
    local.close()


def test_uploads_are_verified_and_server_paths_still_checked(
    server: tuple[Workspace, str], tmp_path: Path
) -> None:
    local, url = server
    tampered = {"file": ("sha256:" + "0" * 64, b"not what the name says", "image/png")}
    answer = httpx.post(f"{url}/api/v1/datasets/uploads/blobs", files=tampered)
    assert answer.status_code == 422
    assert "changed on the way" in answer.json()["error"]["message"]
    client = pm.connect(url)
    missing = "sha256:" + "1" * 64
    body = {"upload": {"files": [["a.png", missing]], "source": "x"}}
    answer = httpx.post(f"{url}/api/v1/datasets/up/versions", json=body)
    assert answer.status_code == 422 and "not stored on the server" in answer.text
    body = {"upload": {"files": [["../a.png", missing]], "source": "x"}}
    answer = httpx.post(f"{url}/api/v1/datasets/up/versions", json=body)
    assert answer.status_code == 422 and "not a record id" in answer.text
    with pytest.raises(InvalidInputError, match="outside the folders"):
        client.datasets.ingest("elsewhere", "/nonexistent-on-client/photos")
    write_apple_folder(tmp_path / "few", 3, seed=0, layout="flat")
    labels = tmp_path / "mylabels.csv"
    labels.write_text("file,grade\nmissing.png,good\n")
    with pytest.raises(InvalidInputError, match=r"mylabels.csv, line 2: 'missing.png' is not"):
        client.datasets.ingest("few", tmp_path / "few", labels=labels)
    client.close()
    local.close()


def test_deleting_over_rest(server: tuple[Workspace, str], tmp_path: Path) -> None:
    local, url = server
    csv = tmp_path / "t.csv"
    pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "a"]}).to_csv(csv, index=False)
    client = pm.connect(url)
    first = client.datasets.ingest("t", csv, labels="y")
    client.datasets.relabel(first, {"0": "b"})
    with pytest.raises(ConflictError, match="t:1 is still referred to by version t:2"):
        client.datasets.delete_version("t:1")
    client.datasets.delete_version("t:2")
    client.datasets.delete_version("t:2")
    assert [v.version for v in client.datasets.list_versions("t")] == [1]
    response = httpx.delete(f"{url}/api/v1/datasets/t")
    assert response.status_code == 204
    assert [d.name for d in client.datasets.list_datasets()] == []
    client.close()
    local.close()
