"""Blob downloads that never answer 200 with bytes that fail their digest.

A blob up to ``VERIFY_FIRST_BYTES`` is read and verified before the status line goes out:
a corrupted one answers the error envelope (502 ``artifact_corrupted``). A larger one is
streamed while its digest is computed, one chunk held back: a mismatch is found before
the last chunk is sent, and the connection is cut short of its ``Content-Length``, so no
HTTP client takes it for a complete body. Every download carries ``X-Pomona-Digest`` so a
client can check the bytes itself (the Pomona SDK does).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from urllib.parse import quote

from starlette.responses import Response, StreamingResponse

__all__ = ["VERIFY_FIRST_BYTES", "verified_download"]

VERIFY_FIRST_BYTES = 64 * 1024**2
_CHUNK = 1024 * 1024


class _Reader(Protocol):
    """A stream that raises at EOF when its bytes do not match the digest (``HashingReader``)."""

    def read(self, size: int = -1) -> bytes: ...

    def close(self) -> None: ...


def verified_download(
    reader: _Reader, size: int, digest: str, *, filename: str | None = None
) -> Response:
    """The response for a blob of ``size`` bytes read from ``reader`` (verified at EOF).

    Raises:
        ArtifactCorruptedError: a blob up to ``VERIFY_FIRST_BYTES`` fails its digest.
    """
    headers = {"X-Pomona-Digest": digest, "Content-Length": str(size)}
    if filename is not None:
        plain = filename.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
        headers["Content-Disposition"] = (
            f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"
        )
    if size <= VERIFY_FIRST_BYTES:
        try:
            data = reader.read()  # a HashingReader checks the digest on a whole read
        finally:
            reader.close()
        return Response(data, media_type="application/octet-stream", headers=headers)
    return StreamingResponse(
        _held_back(reader), media_type="application/octet-stream", headers=headers
    )


def _held_back(reader: _Reader) -> Iterator[bytes]:
    """The chunks of ``reader``, each sent only once the next one was read: the read that
    meets EOF (and checks the digest) comes before the last chunk goes out."""
    try:
        pending = reader.read(_CHUNK)
        while pending:
            following = reader.read(_CHUNK)
            yield pending
            pending = following
    finally:
        reader.close()
