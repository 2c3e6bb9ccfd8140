"""open_artifact_store: URL schemes, plain paths and option validation (no I/O)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pomona.artifacts import open_artifact_store
from pomona.artifacts.backends.file import FileArtifactStore
from pomona.artifacts.backends.memory import MemoryArtifactStore
from pomona.artifacts.backends.s3 import S3ArtifactStore
from pomona.errors import ConfigError


def test_memory_url_opens_an_empty_memory_store() -> None:
    store = open_artifact_store("memory://")
    assert isinstance(store, MemoryArtifactStore)
    assert list(store.iter_digests()) == []


def test_file_url_opens_a_file_store(tmp_path: Path) -> None:
    store = open_artifact_store((tmp_path / "blobs").as_uri())
    assert isinstance(store, FileArtifactStore)
    assert store.root == tmp_path / "blobs"
    assert not store.root.exists()  # nothing happens until the first write


def test_relative_path_resolves_to_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_artifact_store("blobs")
    assert isinstance(store, FileArtifactStore)
    assert store.root == tmp_path.resolve() / "blobs"
    assert store.url == (tmp_path.resolve() / "blobs").as_uri()


def test_s3_url_carries_bucket_and_prefix() -> None:
    store = open_artifact_store("s3://ml-blobs/team/a/", endpoint_url="http://s3.local:9000")
    assert isinstance(store, S3ArtifactStore)
    assert (store.bucket, store.prefix, store.endpoint_url) == (
        "ml-blobs",
        "team/a",
        "http://s3.local:9000",
    )
    assert store.url == "s3://ml-blobs/team/a"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/blobs", "Unsupported artifact store URL scheme 'ftp'"),
        ("gs://bucket", "Unsupported artifact store URL scheme 'gs'"),
        ("s3:///no-bucket", "names no bucket"),
        ("file://otherhost/srv", "not a local file URL"),
        ("memory://named", "not a memory store URL"),
    ],
    ids=["ftp", "gs", "s3-no-bucket", "file-remote-host", "memory-with-path"],
)
def test_bad_urls_raise_config_error(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        open_artifact_store(url)
    assert info.value.hint is not None


def test_unknown_scheme_lists_the_supported_ones() -> None:
    with pytest.raises(ConfigError) as info:
        open_artifact_store("ftp://host/blobs")
    assert info.value.hint == "Use one of: file://, memory://, s3://, or a plain directory path."
    assert info.value.details == {"scheme": "ftp"}


@pytest.mark.parametrize(
    ("url", "options", "message"),
    [
        ("memory://", {"size": 3}, "unknown option 'size'"),
        ("s3://bucket", {"endpoint": "http://x"}, "unknown option 'endpoint'"),
        ("s3://bucket", {"region": 3}, "'region': Input should be a valid string"),
    ],
    ids=["memory-extra", "s3-typo", "s3-wrong-type"],
)
def test_bad_options_raise_config_error(url: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_artifact_store(url, **options)


def test_option_given_in_url_and_keyword_is_rejected() -> None:
    with pytest.raises(ConfigError, match="Option 'bucket' is given both"):
        open_artifact_store("s3://a", bucket="b")


def test_importing_artifacts_does_not_load_s3fs() -> None:
    code = (
        "import sys, pomona.artifacts; print([m for m in ('s3fs', 'botocore') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
