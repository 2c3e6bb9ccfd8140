"""An in-process artifact store: blobs in a dict, for tests and throwaway work."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from typing import BinaryIO, ClassVar

from pydantic import BaseModel, ConfigDict

from pomona.artifacts.base import CHUNK_SIZE, ArtifactStore, HashingReader, check_digest
from pomona.errors import ArtifactNotFoundError
from pomona.types import Digest

__all__ = ["MemoryArtifactStore", "MemoryArtifactStoreConfig"]


class MemoryArtifactStoreConfig(BaseModel):
    """Configuration of ``MemoryArtifactStore``: it takes no options."""

    model_config = ConfigDict(extra="forbid")


class MemoryArtifactStore(ArtifactStore):
    """Keeps blobs in memory; thread-safe; contents vanish with the object."""

    name: ClassVar[str] = "memory"
    config_class: ClassVar[type[BaseModel]] = MemoryArtifactStoreConfig

    def __init__(self) -> None:
        self._blobs: dict[Digest, bytes] = {}
        self._stored_ms: dict[Digest, int] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return "memory://"

    def put_stream(self, stream: BinaryIO) -> tuple[Digest, int]:
        hasher = hashlib.sha256()
        buffer = io.BytesIO()
        while chunk := stream.read(CHUNK_SIZE):
            hasher.update(chunk)
            buffer.write(chunk)
        digest = Digest("sha256:" + hasher.hexdigest())
        data = buffer.getvalue()
        with self._lock:
            self._blobs.setdefault(digest, data)
            self._stored_ms[digest] = time.time_ns() // 1_000_000
        return digest, len(data)

    def open(self, digest: Digest) -> HashingReader:
        return HashingReader(io.BytesIO(self._get(digest)), digest)

    def exists(self, digest: Digest) -> bool:
        digest = check_digest(digest)
        with self._lock:
            return digest in self._blobs

    def size(self, digest: Digest) -> int:
        return len(self._get(digest))

    def delete(self, digest: Digest) -> None:
        digest = check_digest(digest)
        with self._lock:
            self._blobs.pop(digest, None)
            self._stored_ms.pop(digest, None)

    def iter_digests(self) -> Iterator[Digest]:
        with self._lock:
            digests = list(self._blobs)
        return iter(digests)

    def stored_at_ms(self, digest: Digest) -> int | None:
        digest = check_digest(digest)
        with self._lock:
            return self._stored_ms.get(digest)

    def _get(self, digest: Digest) -> bytes:
        digest = check_digest(digest)
        with self._lock:
            data = self._blobs.get(digest)
        if data is None:
            raise ArtifactNotFoundError(
                f"Artifact {digest} is not stored in {self.url}.",
                hint="Memory stores keep blobs only as long as the store object lives.",
                details={"digest": digest},
            )
        return data
