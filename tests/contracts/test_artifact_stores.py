"""The artifact store contract on every built-in backend: memory, file and S3 (moto)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from pomona.artifacts import ArtifactStore, blob_key, open_artifact_store
from pomona.artifacts.backends.file import FileArtifactStore
from pomona.artifacts.backends.memory import MemoryArtifactStore
from pomona.artifacts.backends.s3 import S3ArtifactStore
from pomona.errors import BackendError, BackendUnavailableError
from pomona.testing._servers import S3Server
from pomona.testing.artifacts import ArtifactStoreContract
from pomona.types import Digest


def _flip_first_byte(data: bytes) -> bytes:
    return bytes([data[0] ^ 0xFF]) + data[1:] if data else b"x"


class TestMemoryArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[ArtifactStore]:
        with open_artifact_store("memory://") as store:
            yield store

    def corrupt(self, store: ArtifactStore, digest: Digest) -> None:
        assert isinstance(store, MemoryArtifactStore)
        store._blobs[digest] = _flip_first_byte(store._blobs[digest])  # no public way, by design


class TestFileArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ArtifactStore]:
        with open_artifact_store((tmp_path / "blobs").as_uri()) as store:
            yield store

    def corrupt(self, store: ArtifactStore, digest: Digest) -> None:
        assert isinstance(store, FileArtifactStore)
        path = store.root / blob_key(digest)
        path.write_bytes(_flip_first_byte(path.read_bytes()))

    def test_put_leaves_no_temporary_files(self, store: ArtifactStore) -> None:
        assert isinstance(store, FileArtifactStore)
        store.put_bytes(b"one")
        store.put_bytes(b"one")
        assert list((store.root / "tmp").iterdir()) == []


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with S3Server() as server:
        yield server


class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def store(self, s3_server: S3Server) -> Iterator[ArtifactStore]:
        bucket = s3_server.create_bucket(f"pomona-{uuid.uuid4().hex[:12]}")
        url = f"s3://{bucket}/team/blobs"
        # the smallest part size S3 allows, so the 5 MiB+ contract payload goes multipart
        with open_artifact_store(url, part_size=5 * 1024 * 1024, **s3_server.options) as store:
            yield store

    def corrupt(self, store: ArtifactStore, digest: Digest) -> None:
        assert isinstance(store, S3ArtifactStore)
        client = _client(store)
        key = f"{store.prefix}/{blob_key(digest)}"
        data = client.get_object(Bucket=store.bucket, Key=key)["Body"].read()
        client.put_object(Bucket=store.bucket, Key=key, Body=_flip_first_byte(data))
        client.close()

    def test_put_leaves_no_temporary_objects(self, store: ArtifactStore) -> None:
        assert isinstance(store, S3ArtifactStore)
        store.put_bytes(b"one")
        store.put_bytes(b"one")
        client = _client(store)
        listing = client.list_objects_v2(Bucket=store.bucket, Prefix=f"{store.prefix}/tmp/")
        client.close()
        assert listing["KeyCount"] == 0


def test_s3_missing_bucket_raises_backend_error(s3_server: S3Server) -> None:
    with open_artifact_store("s3://no-such-bucket/x", **s3_server.options) as store:
        with pytest.raises(BackendError, match="no-such-bucket") as info:
            store.put_bytes(b"data")
        assert not isinstance(info.value, BackendUnavailableError)
        assert info.value.hint == "Check that the bucket 'no-such-bucket' exists."


def _client(store: S3ArtifactStore) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint_url,
        aws_access_key_id=S3Server.access_key,
        aws_secret_access_key=S3Server.secret_key,
        region_name=store.region,
    )


@pytest.fixture(params=["memory", "file", "s3"])
def any_store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server
) -> Iterator[ArtifactStore]:
    if request.param == "memory":
        url, options = "memory://", {}
    elif request.param == "file":
        url, options = (tmp_path / "blobs").as_uri(), {}
    else:
        url = f"s3://{s3_server.create_bucket(f'pomona-{uuid.uuid4().hex[:12]}')}/blobs"
        options = s3_server.options
    with open_artifact_store(url, **options) as store:
        yield store


def test_put_files_stores_a_batch_in_order(any_store: ArtifactStore, tmp_path: Path) -> None:
    paths = []
    for i in range(30):
        path = tmp_path / f"in-{i}.bin"
        path.write_bytes(str(i % 10).encode() * (i + 1) * 50)
        paths.append(path)
    stored = any_store.put_files(paths, workers=4)
    assert [size for _, size in stored] == [(i + 1) * 50 for i in range(30)]
    for (digest, _), path in zip(stored, paths, strict=True):
        assert any_store.read_bytes(digest) == path.read_bytes()
    assert any_store.put_files(paths[:1]) == stored[:1]
    assert any_store.put_files([]) == []
