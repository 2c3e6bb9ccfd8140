"""Server-side dataset sources: a server reads only what its own settings allow.

Replays issue 13 §2 against a real ``pomona server``: ``POST /api/v1/datasets/{name}/versions``
with a path the server can read (a secret file, a symlink to it, ``local://``, ``file:``,
chained URLs), a URL it would fetch (``http://http://…``, an ``s3://`` source with a
client-chosen ``endpoint_url``), a database URL (``sqlite://`` running ``ATTACH`` or
``VACUUM INTO``, ``postgresql://`` to a port that never answers); label files and suites
named by path; feature views whose source is such a file or database. Each is refused
with a 4xx naming the field, and leaves nothing behind: no dataset or view stored, no
file created, no connection to the listener the test runs, the secret never in an answer.
What the settings allow still works: a file under ``datasets.allowed_roots``, a named SQL
source (read-only), an allowed protocol with the server's own credentials.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from PIL import Image

if TYPE_CHECKING:
    from _server import Listener, ServerProcess, StartServer

    from pomona.testing._servers import S3Server


# --- helpers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Secret:
    """A file outside every allowed root, standing for ``/etc/passwd``."""

    path: Path
    marker: str

    def assert_absent(self, answer: httpx.Response) -> None:
        """Neither the file's contents nor, unless the client named it, its path."""
        assert self.marker not in answer.text, answer.text
        sent = answer.request.content.decode()
        if str(self.path) not in sent:
            assert str(self.path) not in answer.text, answer.text


@pytest.fixture
def secret(tmp_path: Path) -> Secret:
    marker = f"SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "private" / "passwd"
    path.parent.mkdir()
    # a CSV parse error on line 2 would have quoted the line, marker included
    path.write_text(f"name\nroot:x:0:0:{marker},/root,/bin/bash\n")
    return Secret(path, marker)


def _ingest(server: ServerProcess, name: str, **body: Any) -> httpx.Response:
    with server.client() as http:
        return http.post(f"/api/v1/datasets/{name}/versions", json=body)


def _refused(answer: httpx.Response, field: str, *words: str) -> None:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["details"]["field"] == field, error
    for word in words:
        assert word in error["message"], error


def _datasets(server: ServerProcess) -> list[str]:
    with server.client() as http:
        return [d["name"] for d in http.get("/api/v1/datasets").json()["items"]]


def _wine() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"alcohol": rng.uniform(11, 15, 60), "target": rng.integers(0, 3, 60)})


def _png() -> bytes:
    buf = io.BytesIO()
    pixels = np.random.default_rng(1).integers(0, 255, (96, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _upload_png(server: ServerProcess) -> list[list[str]]:
    """Send one PNG by digest; the (record id, digest) pairs of an ``upload`` ingest."""
    data = _png()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with server.client() as http:
        answer = http.post(
            "/api/v1/datasets/uploads/blobs", files=[("files", (digest, data, "image/png"))]
        )
    assert answer.status_code == 201, answer.text
    return [["good/a.png", digest]]


# --- local files --------------------------------------------------------------------------


def test_a_server_without_roots_reads_no_file_of_its_own_disk(
    start_server: StartServer, workspace_dir: Path, secret: Secret, tmp_path: Path
) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "passwd.csv").symlink_to(secret.path)
    (public / "ok.csv").write_text("a,b\n1,2\n")
    server = start_server(workspace_dir)
    for source in (
        str(secret.path),
        str(public / "passwd.csv"),
        str(public),
        str(public / "ok.csv"),  # readable, but no root allows it
        f"file://{secret.path}",
        f"file:{secret.path}",
        f"local://{secret.path}",
        f"LOCAL://{secret.path}",
        f"simplecache::file://{secret.path}",
        "memory://x.csv",
    ):
        answer = _ingest(server, "leak", source=source)
        _refused(answer, "source")
        secret.assert_absent(answer)
    assert _datasets(server) == []


def test_roots_hold_after_symlinks_and_urls_are_resolved(
    start_server: StartServer, workspace_dir: Path, secret: Secret, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "table").mkdir(parents=True)
    (data / "passwd.csv").symlink_to(secret.path)
    (data / "table" / "ok.csv").write_text("a,b\n1,2\n")
    (data / "table" / "zz.csv").symlink_to(secret.path)  # one link among good files
    (data / "up.csv").symlink_to(data / ".." / "private" / "passwd")
    server = start_server(workspace_dir, settings={"datasets.allowed_roots": [str(data)]})
    for source, words in (
        (str(data / "passwd.csv"), ["outside the folders"]),
        (str(data / "up.csv"), ["outside the folders"]),
        (str(data / "table"), [str(data / "table" / "zz.csv"), "outside"]),
        (str(data / ".." / "private" / "passwd"), ["outside"]),
        (f"local://{secret.path}", ["local://"]),
        (f"local://{data / 'passwd.csv'}", ["local://"]),
        (f"file://{data / 'table' / 'ok.csv'}", ["file://"]),
        (f"file:{secret.path}", ["plain remote URLs"]),
        (f"file:///{secret.path}", ["file://"]),
        (f"simplecache::local://{secret.path}", ["chained"]),
        (f"dir::file://{data}", ["chained"]),
    ):
        answer = _ingest(server, "leak", source=source)
        _refused(answer, "source", *words)
        secret.assert_absent(answer)
    assert _datasets(server) == []
    (data / "table" / "zz.csv").unlink()
    answer = _ingest(server, "ok", source=str(data / "table"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["num_records"] == 1
    assert _datasets(server) == ["ok"]


def test_a_file_that_fails_to_parse_is_never_quoted(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    marker = f"SECRET-{uuid.uuid4().hex}"
    (data / "rows.csv").write_text(f"user,password\nroot,{marker},x\n")
    (data / "types.csv").write_text("a,b\n" + "1,2\n" * 2_100_000 + f"3,{marker}\n")
    (data / "t.parquet").write_bytes(b"PAR1" + marker.encode() * 10 + b"PAR1")
    server = start_server(workspace_dir, settings={"datasets.allowed_roots": [str(data)]})
    for name, words in (
        ("rows.csv", ["'rows.csv', line 2", "Expected 2 columns, got 3"]),
        ("types.csv", ["'types.csv', line 2100002", "column 'b'"]),
        ("t.parquet", ["Cannot read 't.parquet' as Parquet"]),
    ):
        answer = _ingest(server, "bad", source=str(data / name))
        _refused(answer, "source", *words)
        assert marker not in answer.text, answer.text
    assert _datasets(server) == []


def test_label_files_and_suites_sent_with_an_upload_name_no_server_file(
    start_server: StartServer, workspace_dir: Path, secret: Secret, tmp_path: Path
) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / "labels.csv").symlink_to(secret.path)
    suite = tmp_path / "private" / "suite.yaml"
    suite.write_text(f"columns: {{{secret.marker}: 1}}\n")
    server = start_server(workspace_dir)  # no roots: every server path is refused
    upload = {"files": _upload_png(server), "source": "photos"}
    for body, field_name in (
        ({"upload": upload, "labels": str(secret.path)}, "labels"),
        ({"upload": upload, "labels": str(public / "labels.csv")}, "labels"),
        ({"upload": upload, "suite": str(suite)}, "suite"),
    ):
        answer = _ingest(server, "photos", **body)
        _refused(answer, field_name)
        secret.assert_absent(answer)
        assert str(suite) not in answer.text or str(suite) in answer.request.content.decode()
    assert _datasets(server) == []
    made = _ingest(server, "photos", upload=upload, labels="subfolders")
    assert made.status_code == 201, made.text
    with server.client() as http:
        answer = http.post(
            "/api/v1/datasets/photos/versions/1/validate", json={"suite": str(suite)}
        )
    _refused(answer, "suite")
    assert secret.marker not in answer.text


def test_label_files_of_a_server_side_source_lie_under_the_roots(
    start_server: StartServer, workspace_dir: Path, secret: Secret, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "photos" / "good").mkdir(parents=True)
    (data / "photos" / "good" / "a.png").write_bytes(_png())
    (data / "labels.csv").symlink_to(secret.path)
    server = start_server(workspace_dir, settings={"datasets.allowed_roots": [str(data)]})
    for labels in (str(secret.path), str(data / "labels.csv")):
        answer = _ingest(server, "photos", source=str(data / "photos"), labels=labels)
        _refused(answer, "labels", "outside the folders")
        secret.assert_absent(answer)
    assert _datasets(server) == []
    (data / "good.csv").write_text("file,label\ngood/a.png,fine\n")
    answer = _ingest(server, "photos", source=str(data / "photos"), labels=str(data / "good.csv"))
    assert answer.status_code == 201, answer.text
    assert answer.json()["label_counts"] == {"fine": 1}


# --- remote URLs ----------------------------------------------------------------------------


def test_http_and_client_endpoints_are_never_contacted(
    start_server: StartServer, workspace_dir: Path, listener: Listener
) -> None:
    here = f"127.0.0.1:{listener.port}"
    server = start_server(workspace_dir, settings={"datasets.allowed_protocols": ["s3"]})
    for source, options, field_name in (
        (f"http://{here}/x.csv", {}, "source"),
        (f"http://http://{here}/x.csv", {}, "source"),
        (f"https://{here}/x.csv", {}, "source"),
        (f"simplecache::http://{here}/x.csv", {}, "source"),
        (f"s3://http://{here}/x.csv", {}, "source"),
        (f"ftp://{here}/x.csv", {}, "source"),
        ("s3://bucket/x.csv", {"endpoint_url": f"http://{here}"}, "storage_options"),
        (
            "s3://bucket/x.csv",
            {"client_kwargs": {"endpoint_url": f"http://{here}"}},
            "storage_options",
        ),
        ("s3://bucket/x.csv", {"key": "k", "secret": "s"}, "storage_options"),
    ):
        answer = _ingest(server, "fetched", source=source, storage_options=options)
        _refused(answer, field_name)
    time.sleep(0.3)
    assert listener.connections == 0
    assert _datasets(server) == []


def test_an_allowed_protocol_is_read_with_the_servers_own_settings(
    start_server: StartServer, workspace_dir: Path, s3: S3Server, tmp_path: Path
) -> None:
    import s3fs

    bucket = s3.create_bucket(f"src-{uuid.uuid4().hex[:10]}")
    fs = s3fs.S3FileSystem(key=s3.access_key, secret=s3.secret_key, endpoint_url=s3.endpoint_url)
    fs.pipe(f"{bucket}/tables/wine.csv", _wine().to_csv(index=False).encode())
    env = {
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "AWS_ENDPOINT_URL": s3.endpoint_url,
        "AWS_DEFAULT_REGION": s3.region,
    }
    server = start_server(workspace_dir, env=env, settings={"datasets.allowed_protocols": ["s3"]})
    answer = _ingest(server, "wine", source=f"s3://{bucket}/tables/")
    assert answer.status_code == 201, answer.text
    assert answer.json()["num_records"] == 60
    answer = _ingest(server, "wine2", source=f"s3://{bucket}/tables/", storage_options=s3.options)
    _refused(answer, "storage_options", "endpoint_url")
    assert _datasets(server) == ["wine"]


# --- SQL ----------------------------------------------------------------------------------


def test_database_urls_sent_by_clients_are_refused(
    start_server: StartServer, workspace_dir: Path, listener: Listener, tmp_path: Path
) -> None:
    db = tmp_path / "shop.db"
    _wine().to_sql("wine", sa.create_engine(f"sqlite:///{db}"), index=False)
    attached, vacuumed = tmp_path / "attached.db", tmp_path / "copy.db"
    server = start_server(
        workspace_dir, settings={"datasets.sql_sources": {"shop": f"sqlite:///{db}"}}
    )
    for source, query in (
        (f"sqlite:///{db}", f"ATTACH DATABASE '{attached}' AS x"),
        (f"sqlite:///{db}", f"VACUUM INTO '{vacuumed}'"),
        (f"sqlite:///{db}", "SELECT * FROM wine"),  # even the configured database
        (f"SQLite:///{db}", "SELECT * FROM wine"),
        (f"postgresql://me@127.0.0.1:{listener.port}/db", "SELECT 1"),
        (f"postgresql+psycopg://me@127.0.0.1:{listener.port}/db", "SELECT 1"),
    ):
        answer = _ingest(server, "shop", source=source, query=query)
        _refused(answer, "source", "sql:shop")
        assert str(db) not in answer.text or str(db) in source
    time.sleep(0.3)
    assert listener.connections == 0
    assert not attached.exists() and not vacuumed.exists()
    assert _datasets(server) == []


def test_a_named_sqlite_source_only_reads(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "shop.db"
    _wine().to_sql("wine", sa.create_engine(f"sqlite:///{db}"), index=False)
    before = db.read_bytes()
    attached, vacuumed = tmp_path / "attached.db", tmp_path / "copy.db"
    server = start_server(
        workspace_dir, settings={"datasets.sql_sources": {"shop": f"sqlite:///{db}"}}
    )
    for query in (
        f"ATTACH DATABASE '{attached}' AS x",
        f"VACUUM INTO '{vacuumed}'",
        "VACUUM",
        "PRAGMA user_version = 7",
        "PRAGMA journal_mode = wal",
        "DELETE FROM wine",
        "INSERT INTO wine VALUES (1, 2)",
        "CREATE TABLE t2 (a)",
        "CREATE TEMP TABLE t3 (a)",
        "DROP TABLE wine",
        "WITH x AS (SELECT 1) DELETE FROM wine",
        "SELECT file FROM pragma_database_list",  # where the server keeps the database
    ):
        answer = _ingest(server, "shop", source="sql:shop", query=query)
        assert answer.status_code == 422, (query, answer.text)
        assert answer.json()["error"]["details"]["field"] in ("query", "source"), answer.text
        assert str(db) not in answer.text
    assert not attached.exists() and not vacuumed.exists()
    assert db.read_bytes() == before
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM wine").fetchone() == (60,)
    answer = _ingest(server, "shop", source="sql:nope", query="SELECT 1")
    _refused(answer, "source", "No SQL source is named 'nope'", "shop")
    assert _datasets(server) == []

    answer = _ingest(server, "shop", source="sql:shop", query="SELECT * FROM wine")
    assert answer.status_code == 201, answer.text
    assert answer.json()["num_records"] == 60
    assert answer.json()["lineage"]["source"].startswith("sql:shop (SELECT")
    assert str(db) not in answer.text


def test_a_named_postgres_source_reads_in_read_only_transactions(
    start_server: StartServer, workspace_dir: Path, pg_url: str
) -> None:
    engine = sa.create_engine(pg_url)
    _wine().to_sql("wine", engine, index=False)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SEQUENCE ids"))
    server = start_server(workspace_dir, settings={"datasets.sql_sources": {"wh": pg_url}})
    answer = _ingest(server, "wh", source="sql:wh", query="SELECT nextval('ids')")
    _refused(answer, "query", "cannot execute nextval() in a read-only transaction")
    for query in (
        "SELECT set_config('transaction_read_only', 'off', true), nextval('ids')",
        "SELECT set_config('default_transaction_read_only', 'off', false), nextval('ids')",
        "DELETE FROM wine RETURNING *",
        "WITH gone AS (DELETE FROM wine RETURNING *) SELECT * FROM gone",
    ):
        _refused(_ingest(server, "wh", source="sql:wh", query=query), "query")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM wine")).scalar() == 60
        assert conn.execute(sa.text("SELECT last_value, is_called FROM ids")).one() == (1, False)
    engine.dispose()
    answer = _ingest(server, "wh", source="sql:wh", query="SELECT * FROM wine WHERE target = 1")
    assert answer.status_code == 201, answer.text
    assert "postgres" not in answer.json()["lineage"]["source"]
    assert _datasets(server) == ["wh"]


def test_a_silent_database_answers_within_the_timeout(
    start_server: StartServer, workspace_dir: Path, listener: Listener
) -> None:
    silent = f"postgresql+psycopg://me@127.0.0.1:{listener.port}/db"
    server = start_server(
        workspace_dir,
        settings={"datasets.sql_sources": {"slow": silent}, "datasets.source_timeout_s": 1.0},
    )
    started = time.monotonic()
    answer = _ingest(server, "slow", source="sql:slow", query="SELECT 1")
    elapsed = time.monotonic() - started
    _refused(answer, "query", "timeout")
    assert elapsed < 10, elapsed
    assert listener.connections >= 1  # it did try the configured server, and gave up
    with server.client() as http:
        assert http.get("/healthz").status_code == 200
    assert _datasets(server) == []


# --- feature sources ----------------------------------------------------------------------


def _view(source: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"kind": "entity", "name": "apple", "join_keys": {"apple_id": "int64"}},
        {
            "kind": "feature_view",
            "name": "sizes",
            "entities": ["apple"],
            "features": [{"name": "size", "dtype": "float64"}],
            "source": source,
        },
    ]


def test_feature_sources_follow_the_servers_rules(
    start_server: StartServer,
    workspace_dir: Path,
    secret: Secret,
    listener: Listener,
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    (data / "parts").mkdir(parents=True)
    frame = pd.DataFrame(
        {
            "apple_id": [1, 2],
            "size": [1.0, 2.0],
            "event_timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True),
        }
    )
    frame.to_parquet(data / "sizes.parquet")
    frame.to_parquet(data / "parts" / "a.parquet")
    (data / "parts" / "b.parquet").symlink_to(secret.path)
    (data / "link.parquet").symlink_to(secret.path)
    db = tmp_path / "shop.db"
    attached = tmp_path / "attached.db"
    server = start_server(workspace_dir, settings={"datasets.allowed_roots": [str(data)]})
    with server.client() as http:
        for source, field_name in (
            ({"type": "file", "path": str(secret.path), "format": "csv"}, "source.path"),
            ({"type": "parquet", "path": str(data / "link.parquet")}, "source.path"),
            ({"type": "parquet", "path": str(data / "parts")}, "source.path"),
            ({"type": "sql", "url": f"sqlite:///{db}", "table": "wine"}, "source.url"),
            (
                {
                    "type": "sql",
                    "url": f"sqlite:///{db}",
                    "query": f"SELECT 1 FROM pragma_database_list, (SELECT '{attached}')",
                },
                "source.url",
            ),
            (
                {
                    "type": "sql",
                    "url": f"postgresql://me@127.0.0.1:{listener.port}/db",
                    "table": "t",
                },
                "source.url",
            ),
        ):
            answer = http.post("/api/v1/features/apply", json={"objects": _view(source)})
            _refused(answer, field_name)
            secret.assert_absent(answer)
        assert http.get("/api/v1/features/views").json()["items"] == []
        time.sleep(0.3)
        assert listener.connections == 0
        assert not db.exists() and not attached.exists()
        source = {"type": "parquet", "path": str(data / "sizes.parquet")}
        answer = http.post("/api/v1/features/apply", json={"objects": _view(source)})
        assert answer.status_code == 200, answer.text
        views = http.get("/api/v1/features/views").json()["items"]
        assert [v["view"]["name"] for v in views] == ["sizes"]
