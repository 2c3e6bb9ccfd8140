"""Datasets from real servers (PostgreSQL, an S3-compatible store), and an ingest killed mid-way."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

import pomona
from pomona.client import Workspace
from pomona.errors import InvalidInputError, NotFoundError
from pomona.examples.apples import write_apple_folder
from pomona.metadata.schema import dataset_versions, datasets
from pomona.testing._servers import S3Server


def _wine() -> pd.DataFrame:
    from sklearn.datasets import load_wine

    return load_wine(as_frame=True).frame.rename(columns=lambda c: c.replace("/", "_"))


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_sql_query_becomes_a_table_version(tmp_path: Path, pg_url: str, dialect: str) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}" if dialect == "sqlite" else pg_url
    engine = sa.create_engine(url)
    _wine().to_sql("wine", engine, index=False)
    engine.dispose()
    with pomona.connect(tmp_path / "ws") as ws:
        version = ws.datasets.ingest(
            "wine", url, query="SELECT * FROM wine WHERE alcohol > 13", labels="target"
        )
        expected = _wine().query("alcohol > 13")
        assert version.num_records == len(expected)
        assert "SELECT * FROM wine" in (version.lineage.source or "")
        table = ws.datasets.load_table(version)
        assert sorted(table["alcohol"]) == sorted(expected["alcohol"])
        with pytest.raises(InvalidInputError, match=r"The query on .* failed"):
            ws.datasets.ingest("bad", url, query="SELECT * FROM no_such_table")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_named_sql_source_is_read_by_name_embedded_and_over_a_server(
    tmp_path: Path, pg_url: str, dialect: str, live_app: Callable[[Workspace], str]
) -> None:
    url = f"sqlite:///{tmp_path / 'shop.db'}" if dialect == "sqlite" else pg_url
    engine = sa.create_engine(url)
    _wine().to_sql("wine", engine, index=False)
    engine.dispose()
    with pomona.connect(tmp_path / "ws", **{"datasets.sql_sources": {"shop": url}}) as local:
        query = "SELECT * FROM wine WHERE alcohol > 13"
        embedded = local.datasets.ingest("wine", "sql:shop", query=query, labels="target")
        assert embedded.lineage.source == f"sql:shop ({query})"
        with pomona.connect(live_app(local)) as remote:
            again = remote.datasets.ingest("wine", "sql:shop", query=query, labels="target")
            assert again.ref == embedded.ref  # the same rows: no new version
            with pytest.raises(InvalidInputError, match="does not connect to database URLs"):
                remote.datasets.ingest("wine", url, query=query)
            with pytest.raises(
                InvalidInputError, match=r"The query on sql:shop \(DELETE FROM wine\) failed"
            ):
                remote.datasets.ingest("gone", "sql:shop", query="DELETE FROM wine")
        assert len(local.datasets.load_table("wine")) == len(_wine().query("alcohol > 13"))
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # the source is as it was
        assert conn.execute(sa.text("SELECT COUNT(*) FROM wine")).scalar() == len(_wine())
    engine.dispose()


def _s3_upload(s3: S3Server, bucket: str, files: dict[str, bytes]) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(key=s3.access_key, secret=s3.secret_key, endpoint_url=s3.endpoint_url)
    for key, data in files.items():
        with fs.open(f"{bucket}/{key}", "wb") as fh:
            fh.write(data)


def test_an_object_storage_prefix_is_ingested(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.create_bucket(f"src-{uuid.uuid4().hex[:10]}")
    photos = write_apple_folder(tmp_path / "photos", 12, seed=8, defective_fraction=0.1)
    files = {
        f"farm/day1/{name}": (tmp_path / "photos" / name).read_bytes() for name in photos.files
    }
    files["farm/day1/labels.csv"] = photos.labels_csv.read_bytes()
    files["other/x.png"] = files[f"farm/day1/{photos.files[0]}"]
    _s3_upload(s3, bucket, files)
    options: dict[str, Any] = dict(s3.options)
    with pomona.connect(tmp_path / "ws") as ws:
        version = ws.datasets.ingest(
            "apples", f"s3://{bucket}/farm/day1", labels="subfolders", storage_options=options
        )
        assert version.num_records + version.num_quarantined == 12
        assert version.num_quarantined == len(photos.defective)
        ids = {r.record_id for r in ws.datasets.list_records(version, limit=100)}
        assert ids == set(photos.files) - {d.path for d in photos.defective}
        first = sorted(ids)[0]
        assert ws.datasets.read_record(version, first) == (tmp_path / "photos" / first).read_bytes()
        _wine().to_csv(tmp_path / "wine.csv", index=False)
        _s3_upload(s3, bucket, {"tables/wine.csv": (tmp_path / "wine.csv").read_bytes()})
        table = ws.datasets.ingest("wine", f"s3://{bucket}/tables/", storage_options=options)
        assert table.num_records == 178
        with pytest.raises(InvalidInputError, match="is empty: no object has this prefix"):
            ws.datasets.ingest("none", f"s3://{bucket}/nothing/", storage_options=options)


_INGEST = """
import sys, pomona
with pomona.connect(sys.argv[1]) as ws:
    ws.datasets.ingest("apples", sys.argv[2], labels="subfolders")
"""


def test_an_ingest_killed_mid_way_leaves_no_version_and_a_rerun_succeeds(tmp_path: Path) -> None:
    photos = write_apple_folder(tmp_path / "photos", 1000, seed=11)
    root = tmp_path / "ws"
    pomona.connect(root).close()
    blobs = root / ".pomona" / "artifacts" / "sha256"
    proc = subprocess.Popen(
        [sys.executable, "-c", _INGEST, str(root), str(tmp_path / "photos")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while sum(1 for _ in blobs.rglob("*")) < 60 if blobs.exists() else True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the ingest stored nothing"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    stored = sum(1 for p in blobs.rglob("*") if p.is_file())
    assert 0 < stored < 1000
    with pomona.connect(root) as ws:
        assert ws.metadata_store is not None
        with ws.metadata_store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(datasets)).scalar() == 0
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(dataset_versions)).scalar() == 0
            )
        with pytest.raises(NotFoundError):
            ws.datasets.get_version("apples")
        version = ws.datasets.ingest("apples", tmp_path / "photos", labels="subfolders")
        assert (version.version, version.num_records) == (1, 1000)
        assert version.label_counts == dict(
            sorted(photos.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        )
