"""HashingReader verifies the digest at EOF, however the stream is read."""

from __future__ import annotations

import hashlib
import io

import pytest

from pomona.artifacts import HashingReader
from pomona.errors import ArtifactCorruptedError
from pomona.types import Digest

DATA = b"weights" * 1000
DIGEST = Digest("sha256:" + hashlib.sha256(DATA).hexdigest())


def test_zero_size_read_is_not_taken_for_eof() -> None:
    reader = HashingReader(io.BytesIO(DATA), DIGEST)
    assert reader.read(10) == DATA[:10]
    assert reader.read(0) == b""
    assert reader.read() == DATA[10:]


def test_mismatch_raises_at_eof_naming_both_digests() -> None:
    reader = HashingReader(io.BytesIO(DATA + b"!"), DIGEST)
    assert reader.read(100) == DATA[:100]
    with pytest.raises(ArtifactCorruptedError, match=f"Artifact {DIGEST} is corrupted"):
        list(reader)
