"""The artifact store port: content-addressed blobs with atomic writes and verified reads."""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, ClassVar, Self

from pomona.errors import ArtifactCorruptedError, InvalidInputError
from pomona.types import Digest

__all__ = ["CHUNK_SIZE", "ArtifactStore", "HashingReader", "blob_key", "check_digest"]

CHUNK_SIZE = 1024 * 1024
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def check_digest(digest: str) -> Digest:
    """Return ``digest`` if it is a well-formed ``sha256:<hex>`` digest, else raise."""
    if not _DIGEST_RE.match(digest):
        raise InvalidInputError(
            f"'{digest}' is not an artifact digest.",
            hint="Digests look like 'sha256:' followed by 64 lowercase hex digits.",
            details={"field": "digest"},
        )
    return Digest(digest)


def blob_key(digest: Digest) -> str:
    """Relative storage key of a blob: ``sha256/ab/cdef…``."""
    hexdigest = digest.split(":", 1)[1]
    return f"sha256/{hexdigest[:2]}/{hexdigest[2:]}"


class HashingReader:
    """Wraps a binary stream, hashing what is read; raises at EOF if the digest differs."""

    def __init__(self, raw: BinaryIO, expected: Digest) -> None:
        self._raw = raw
        self._expected = expected
        self._hash = hashlib.sha256()
        self._checked = False

    def read(self, size: int = -1) -> bytes:
        if size == 0:  # b"" here is not EOF; checking now would flag a partial read
            return b""
        data = self._raw.read(size)
        self._hash.update(data)
        if (not data or size < 0) and not self._checked:
            self._checked = True
            actual = "sha256:" + self._hash.hexdigest()
            if actual != self._expected:
                raise ArtifactCorruptedError(
                    f"Artifact {self._expected} is corrupted: its bytes hash to {actual}.",
                    hint="Restore the blob from a backup or log the artifact again.",
                    details={"digest": self._expected, "actual": actual},
                )
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class ArtifactStore(ABC):
    """Stores blobs under their sha256 digest.

    Writes are atomic: a blob is visible under its digest only once complete.
    Reads verify the digest and raise ``ArtifactCorruptedError`` on mismatch.
    """

    name: ClassVar[str]

    @property
    @abstractmethod
    def url(self) -> str:
        """Where the blobs live, as a URL (``file:///…``, ``s3://bucket/prefix``)."""

    @abstractmethod
    def put_stream(self, stream: BinaryIO) -> tuple[Digest, int]:
        """Store the bytes of ``stream`` without reading them whole into memory.

        Returns:
            The digest and size in bytes. Storing existing content is a no-op.
        Raises:
            BackendError: the backend failed; nothing partial is visible.
        """

    @abstractmethod
    def open(self, digest: Digest) -> HashingReader:
        """Open a blob for streaming reads that verify the digest at EOF.

        Raises:
            ArtifactNotFoundError: no blob has this digest.
        """

    @abstractmethod
    def exists(self, digest: Digest) -> bool:
        """Whether a blob with this digest is stored."""

    @abstractmethod
    def size(self, digest: Digest) -> int:
        """Size in bytes of a stored blob. Raises ``ArtifactNotFoundError``."""

    @abstractmethod
    def delete(self, digest: Digest) -> None:
        """Remove a blob; removing a missing blob is not an error."""

    @abstractmethod
    def iter_digests(self) -> Iterator[Digest]:
        """Every stored digest, in no particular order."""

    def stored_at_ms(self, digest: Digest) -> int | None:
        """When the blob was last stored (epoch ms): storing existing content again counts
        as storing it, where the backend can. ``None`` when the backend cannot tell (or the
        blob is gone); ``pomona gc`` then never frees it.
        """
        return None

    def iter_stored(self) -> Iterator[tuple[Digest, int | None]]:
        """Every stored digest with ``stored_at_ms`` (a backend may list both at once)."""
        for digest in self.iter_digests():
            yield digest, self.stored_at_ms(digest)

    def discard_partial(self, older_than_ms: int) -> int:
        """Remove writes left unfinished (by a killed process) that started before
        ``older_than_ms`` (epoch ms); returns how many. Nothing by default."""
        return 0

    def put_bytes(self, data: bytes) -> tuple[Digest, int]:
        """Store a small in-memory payload."""
        import io

        return self.put_stream(io.BytesIO(data))

    def put_file(self, path: Path) -> tuple[Digest, int]:
        """Store a local file, streaming it."""
        with Path(path).open("rb") as fh:
            return self.put_stream(fh)

    def put_files(self, paths: Sequence[Path], *, workers: int = 8) -> list[tuple[Digest, int]]:
        """Store many local files (digest and size of each, in order), ``workers`` at a time.

        Each blob is visible only once complete; when this returns, every one is stored.
        """
        if len(paths) <= 1:
            return [self.put_file(p) for p in paths]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(workers, len(paths))) as pool:
            return list(pool.map(self.put_file, paths))

    def read_bytes(self, digest: Digest) -> bytes:
        """Read a whole blob (verified). For small blobs only."""
        with self.open(digest) as reader:
            return reader.read()

    def get_file(self, digest: Digest, dest: Path) -> Path:
        """Copy a blob to ``dest`` atomically; ``dest`` appears only if the digest verified."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.partial")
        try:
            with self.open(digest) as reader, tmp.open("wb") as out:
                for chunk in reader:
                    out.write(chunk)
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the store may not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
