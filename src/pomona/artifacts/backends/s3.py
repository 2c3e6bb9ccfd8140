"""An S3 artifact store (any S3-compatible service) through s3fs.

Needs the ``pomona[s3]`` extra; only this module imports s3fs and botocore.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, BinaryIO, ClassVar, cast

import aiohttp
import botocore.exceptions
import s3fs
from fsspec.exceptions import FSTimeoutError
from pydantic import BaseModel, ConfigDict, Field

from pomona.artifacts.base import (
    CHUNK_SIZE,
    ArtifactStore,
    HashingReader,
    blob_key,
    check_digest,
)
from pomona.errors import (
    ArtifactNotFoundError,
    BackendError,
    BackendUnavailableError,
    InvalidInputError,
    PomonaError,
)
from pomona.types import Digest

__all__ = ["S3ArtifactStore", "S3ArtifactStoreConfig"]

_MIB = 1024 * 1024
_UNAVAILABLE = (
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    aiohttp.ClientConnectionError,
    FSTimeoutError,
    ConnectionError,
    TimeoutError,
)
_FOREIGN = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    aiohttp.ClientError,
    OSError,
    ValueError,
)


class S3ArtifactStoreConfig(BaseModel):
    """Configuration of ``S3ArtifactStore``."""

    model_config = ConfigDict(extra="forbid")

    bucket: str = Field(min_length=1, description="Bucket that holds the blobs.")
    prefix: str = Field(default="", description="Key prefix inside the bucket.")
    endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint.")
    key: str | None = Field(default=None, description="Access key id.")
    secret: str | None = Field(default=None, repr=False, description="Secret access key.")
    region: str | None = Field(default=None, description="Region, e.g. 'eu-west-1'.")
    part_size: int = Field(
        default=16 * _MIB,
        ge=5 * _MIB,
        description="Bytes per multipart upload part (S3 allows 10,000 parts per object).",
    )


class S3ArtifactStore(ArtifactStore):
    """Stores blob ``sha256:ab…`` at ``s3://<bucket>/<prefix>/sha256/ab/…``.

    Uploads go to ``<prefix>/tmp/<uuid>`` while hashing and are then copied to their
    final key, so an incomplete blob is never visible under its digest.
    Without ``key``/``secret`` the usual AWS credential chain applies.
    """

    name: ClassVar[str] = "s3"
    config_class: ClassVar[type[BaseModel]] = S3ArtifactStoreConfig

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        region: str | None = None,
        part_size: int = 16 * _MIB,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self.region = region
        self.part_size = part_size
        self._key = key
        self._secret = secret
        self._fs_instance: s3fs.S3FileSystem | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def put_stream(self, stream: BinaryIO) -> tuple[Digest, int]:
        tmp = self._path(f"tmp/{uuid.uuid4().hex}")
        hasher = hashlib.sha256()
        size = 0
        with self._translate("upload a blob"):
            fs = self._fs()
            try:
                with fs.open(tmp, "wb", block_size=self.part_size) as out:
                    while chunk := stream.read(CHUNK_SIZE):
                        hasher.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
                digest = Digest("sha256:" + hasher.hexdigest())
                final = self._blob_path(digest)
                if not fs.exists(final):
                    fs.cp_file(tmp, final)
            finally:
                with contextlib.suppress(*_FOREIGN):
                    fs.rm_file(tmp)
        return digest, size

    def open(self, digest: Digest) -> HashingReader:
        path = self._blob_path(digest)
        with self._translate("open a blob", digest):
            raw = self._fs().open(path, "rb", block_size=self.part_size)
        return HashingReader(cast(BinaryIO, _Reader(self, raw, digest)), digest)

    def exists(self, digest: Digest) -> bool:
        path = self._blob_path(digest)
        with self._translate("check a blob"):
            return bool(self._fs().exists(path))

    def size(self, digest: Digest) -> int:
        path = self._blob_path(digest)
        with self._translate("stat a blob", digest):
            return int(self._fs().info(path)["size"])

    def delete(self, digest: Digest) -> None:
        path = self._blob_path(digest)
        with self._translate("delete a blob"), contextlib.suppress(FileNotFoundError):
            self._fs().rm_file(path)

    def iter_digests(self) -> Iterator[Digest]:
        base = self._path("sha256")
        with self._translate("list blobs"):
            paths: list[str] = self._fs().find(base)
        for path in paths:
            parts = path.rsplit("/", 2)
            with contextlib.suppress(InvalidInputError):
                yield check_digest(f"sha256:{parts[-2]}{parts[-1]}")

    def stored_at_ms(self, digest: Digest) -> int | None:
        path = self._blob_path(digest)
        with self._translate("stat a blob"):
            try:
                info = self._fs().info(path)
            except FileNotFoundError:
                return None
        return _modified_ms(info)

    def iter_stored(self) -> Iterator[tuple[Digest, int | None]]:
        base = self._path("sha256")
        with self._translate("list blobs"):
            found: dict[str, Any] = self._fs().find(base, detail=True)
        for path, info in found.items():
            parts = path.rsplit("/", 2)
            with contextlib.suppress(InvalidInputError):
                yield check_digest(f"sha256:{parts[-2]}{parts[-1]}"), _modified_ms(info)

    def close(self) -> None:
        """Close the S3 client's connections; a later call opens a new client."""
        with self._lock:
            fs, self._fs_instance = self._fs_instance, None
        creator = getattr(fs, "_s3creator", None)  # what s3fs's own finalizer closes
        if fs is not None and creator is not None:
            with contextlib.suppress(Exception):
                s3fs.S3FileSystem.close_session(fs.loop, creator)

    def _fs(self) -> s3fs.S3FileSystem:
        with self._lock:
            if self._fs_instance is None:
                self._fs_instance = s3fs.S3FileSystem(
                    key=self._key,
                    secret=self._secret,
                    endpoint_url=self.endpoint_url,
                    client_kwargs={"region_name": self.region} if self.region else None,
                    config_kwargs={"retries": {"max_attempts": 3, "mode": "standard"}},
                    skip_instance_cache=True,
                    use_listings_cache=False,
                )
            return self._fs_instance

    def _path(self, key: str) -> str:
        return "/".join(p for p in (self.bucket, self.prefix, key) if p)

    def _blob_path(self, digest: Digest) -> str:
        return self._path(blob_key(check_digest(digest)))

    @contextlib.contextmanager
    def _translate(self, action: str, digest: Digest | None = None) -> Iterator[None]:
        """Turn botocore, aiohttp, s3fs and OS errors into Pomona errors."""
        try:
            yield
        except PomonaError:
            raise
        except FileNotFoundError as exc:
            if digest is not None:
                raise ArtifactNotFoundError(
                    f"Artifact {digest} is not stored in {self.url}.",
                    hint="Check the digest, or log the artifact again.",
                    details={"digest": digest},
                ) from exc
            raise BackendError(
                f"Could not {action} in {self.url}: {exc}.",
                hint=f"Check that the bucket '{self.bucket}' exists.",
            ) from exc
        except PermissionError as exc:
            raise BackendError(
                f"Could not {action} in {self.url}: access denied ({exc}).",
                hint="Check the credentials and the bucket policy.",
            ) from exc
        except _UNAVAILABLE as exc:
            raise BackendUnavailableError(
                f"Could not {action}: {self.endpoint_url or 'S3'} is unreachable ({exc}).",
                hint="Check the endpoint URL and the network.",
            ) from exc
        except _FOREIGN as exc:
            raise BackendError(f"Could not {action} in {self.url}: {exc}.") from exc


def _modified_ms(info: Mapping[str, Any]) -> int | None:
    """An object's ``LastModified`` (epoch ms), or ``None`` when the listing lacks it."""
    modified = info.get("LastModified")
    return int(modified.timestamp() * 1000) if isinstance(modified, datetime) else None


class _Reader:
    """A read-only s3fs file whose errors come out as Pomona errors."""

    def __init__(self, store: S3ArtifactStore, raw: BinaryIO, digest: Digest) -> None:
        self._store = store
        self._raw = raw
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        with self._store._translate("read a blob", self._digest):
            return self._raw.read(size)

    def close(self) -> None:
        with contextlib.suppress(*_FOREIGN):
            self._raw.close()
