"""Conformance suite every ``ArtifactStore`` backend must pass.

Subclass ``ArtifactStoreContract`` in a ``Test*`` class and provide the ``store``
fixture and the ``corrupt`` hook::

    class TestMyArtifactStore(ArtifactStoreContract):
        @pytest.fixture
        def store(self, tmp_path: Path) -> Iterator[ArtifactStore]:
            with MyArtifactStore(tmp_path) as store:
                yield store

        def corrupt(self, store: ArtifactStore, digest: Digest) -> None:
            ...  # overwrite the stored bytes behind the store's back
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from pomona.artifacts.base import CHUNK_SIZE, ArtifactStore, check_digest
from pomona.errors import ArtifactCorruptedError, ArtifactNotFoundError, InvalidInputError
from pomona.types import Digest

__all__ = ["ArtifactStoreContract"]

MISSING = Digest("sha256:" + "0" * 64)
LARGE_SIZE = 5 * 1024 * 1024 + 12345


class _ChunkedStream:
    """A stream of ``size`` pseudo-random bytes that refuses whole or oversized reads."""

    def __init__(self, size: int) -> None:
        self._left = size
        self._counter = 0

    def read(self, size: int = -1) -> bytes:
        assert 0 < size <= CHUNK_SIZE, f"put_stream must read in chunks, asked for {size}"
        out = bytearray()
        while len(out) < min(size, self._left):
            out += hashlib.sha256(self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        data = bytes(out[: min(size, self._left)])
        self._left -= len(data)
        return data


def _expected(size: int) -> tuple[Digest, int]:
    hasher = hashlib.sha256()
    stream = _ChunkedStream(size)
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
    return Digest("sha256:" + hasher.hexdigest()), size


class ArtifactStoreContract(ABC):
    """Behaviour shared by all artifact stores; see the module docstring."""

    @pytest.fixture
    @abstractmethod
    def store(self) -> Iterator[ArtifactStore]:
        """An empty store of the backend under test."""

    @abstractmethod
    def corrupt(self, store: ArtifactStore, digest: Digest) -> None:
        """Change the stored bytes of ``digest`` without going through ``put_*``."""

    def test_put_bytes_round_trip(self, store: ArtifactStore) -> None:
        digest, size = store.put_bytes(b"hello pomona")
        assert (size, store.read_bytes(digest)) == (12, b"hello pomona")

    def test_digest_is_sha256_of_content(self, store: ArtifactStore) -> None:
        digest, _ = store.put_bytes(b"abc")
        assert digest == "sha256:" + hashlib.sha256(b"abc").hexdigest()
        assert check_digest(digest) == digest

    def test_empty_blob(self, store: ArtifactStore) -> None:
        digest, size = store.put_bytes(b"")
        assert (size, store.size(digest), store.read_bytes(digest)) == (0, 0, b"")

    def test_put_same_content_twice_is_a_noop(self, store: ArtifactStore) -> None:
        first = store.put_bytes(b"same")
        second = store.put_stream(io.BytesIO(b"same"))
        assert first == second
        assert list(store.iter_digests()) == [first[0]]

    def test_exists_size_delete(self, store: ArtifactStore) -> None:
        digest, _ = store.put_bytes(b"12345")
        assert store.exists(digest)
        assert store.size(digest) == 5
        store.delete(digest)
        assert not store.exists(digest)
        store.delete(digest)  # idempotent
        store.delete(MISSING)

    def test_iter_digests_lists_every_blob(self, store: ArtifactStore) -> None:
        assert list(store.iter_digests()) == []
        digests = {store.put_bytes(f"blob {i}".encode())[0] for i in range(5)}
        assert sorted(store.iter_digests()) == sorted(digests)

    def test_stored_times_for_gc(self, store: ArtifactStore) -> None:
        """``pomona gc`` frees an unreferenced blob only once it is older than a grace
        period: a backend tells when each blob was stored (or ``None``: never freed)."""
        before = time.time_ns() // 1_000_000 - 2_000  # object stores keep whole seconds
        digests = {store.put_bytes(f"aged {i}".encode())[0] for i in range(3)}
        after = time.time_ns() // 1_000_000 + 2_000
        listed = dict(store.iter_stored())
        assert set(listed) == digests
        for digest in digests:
            stored = store.stored_at_ms(digest)
            assert stored is None or before <= stored <= after
            assert listed[digest] == stored
        assert store.stored_at_ms(MISSING) is None
        assert store.discard_partial(after) >= 0  # leaves complete blobs alone
        assert sorted(store.iter_digests()) == sorted(digests)

    def test_large_payload_streams_in_chunks(self, store: ArtifactStore) -> None:
        digest, size = store.put_stream(cast(BinaryIO, _ChunkedStream(LARGE_SIZE)))
        assert (digest, size) == _expected(LARGE_SIZE)
        hasher, total = hashlib.sha256(), 0
        with store.open(digest) as reader:
            for chunk in reader:
                assert len(chunk) <= CHUNK_SIZE
                hasher.update(chunk)
                total += len(chunk)
        assert ("sha256:" + hasher.hexdigest(), total) == (digest, LARGE_SIZE)

    def test_put_file_and_get_file(self, store: ArtifactStore, tmp_path: Path) -> None:
        src = tmp_path / "model.bin"
        src.write_bytes(os.urandom(3000))
        digest, _ = store.put_file(src)
        dest = store.get_file(digest, tmp_path / "out" / "model.bin")
        assert dest.read_bytes() == src.read_bytes()
        assert sorted(p.name for p in dest.parent.iterdir()) == ["model.bin"]

    def test_corrupted_blob_is_detected_on_read(self, store: ArtifactStore) -> None:
        digest, _ = store.put_bytes(b"precious weights")
        self.corrupt(store, digest)
        with pytest.raises(ArtifactCorruptedError, match=digest):
            store.read_bytes(digest)
        with pytest.raises(ArtifactCorruptedError), store.open(digest) as reader:
            list(reader)

    def test_get_file_leaves_nothing_when_corrupted(
        self, store: ArtifactStore, tmp_path: Path
    ) -> None:
        digest, _ = store.put_bytes(b"precious weights")
        self.corrupt(store, digest)
        with pytest.raises(ArtifactCorruptedError):
            store.get_file(digest, tmp_path / "out" / "weights.bin")
        assert list((tmp_path / "out").iterdir()) == []

    def test_missing_digest_raises_not_found(self, store: ArtifactStore, tmp_path: Path) -> None:
        for call in (store.open, store.size, store.read_bytes):
            with pytest.raises(ArtifactNotFoundError, match=MISSING):
                call(MISSING)
        with pytest.raises(ArtifactNotFoundError, match=MISSING):
            store.get_file(MISSING, tmp_path / "missing.bin")
        assert not (tmp_path / "missing.bin").exists()
        assert not store.exists(MISSING)

    @pytest.mark.parametrize(
        "bad",
        ["", "sha256:abc", "md5:" + "0" * 32, "sha256:" + "G" * 64, "../../etc/passwd"],
        ids=["empty", "short", "md5", "uppercase", "path"],
    )
    def test_invalid_digest_is_rejected(self, store: ArtifactStore, bad: str) -> None:
        with pytest.raises(InvalidInputError, match="not an artifact digest"):
            check_digest(bad)
        for call in (store.open, store.exists, store.size, store.delete):
            with pytest.raises(InvalidInputError):
                call(Digest(bad))

    def test_concurrent_puts_of_same_content(self, store: ArtifactStore) -> None:
        payload = os.urandom(256 * 1024)
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda _: store.put_bytes(payload), range(16)))
        assert set(results) == {_digest_of(payload)}
        assert store.read_bytes(results[0][0]) == payload
        assert list(store.iter_digests()) == [results[0][0]]

    def test_url_names_the_backend(self, store: ArtifactStore) -> None:
        assert store.url.startswith(f"{store.name}://")


def _digest_of(data: bytes) -> tuple[Digest, int]:
    return Digest("sha256:" + hashlib.sha256(data).hexdigest()), len(data)
