"""Sending a local folder or file to a Pomona server for an ingest.

Files are hashed here; the server says which digests it lacks; only those are sent, in
multipart batches of bounded count and size, each streamed from disk. The version is then
made on the server from (record id, digest) pairs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson

from pomona.client._remote import RemoteTracking
from pomona.datasets._sources import FileSource, is_sql_url, open_source
from pomona.errors import InvalidInputError

__all__ = ["BATCH_BYTES", "BATCH_FILES", "local_source", "upload_files"]

BATCH_FILES = 256
BATCH_BYTES = 64 * 1024 * 1024
_ASK = 10_000
_LONG = httpx.Timeout(None, connect=10.0)


def local_source(source: str | Path, query: str | None) -> FileSource | None:
    """The files of ``source`` when it is a folder or file on this machine, else ``None``."""
    text = str(source)
    if query is not None or is_sql_url(text) or ("://" in text and not text.startswith("file://")):
        return None
    path = Path(text.removeprefix("file://")).expanduser()
    if not path.exists():
        return None  # perhaps on the server's disk: it reads it there
    src = open_source(path.resolve())
    assert isinstance(src, FileSource)
    return src


def _hash(path: str) -> tuple[str, int]:
    try:
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256")
            return "sha256:" + digest.hexdigest(), fh.tell()
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot read '{path}': {exc.strerror or exc}.",
            hint="Check the file's permissions, or remove it from the source.",
            details={"field": "source", "file": path},
        ) from exc


def upload_files(http: RemoteTracking, src: FileSource) -> list[tuple[str, str]]:
    """Send the files the server lacks; (record id, digest) of every file of ``src``."""
    locations = [f.location for f in src.files]
    with ThreadPoolExecutor(8, thread_name_prefix="pomona-upload") as pool:
        hashed = list(pool.map(_hash, locations))
    pairs = [(f.record_id, d) for f, (d, _) in zip(src.files, hashed, strict=True)]
    wanted = list(dict.fromkeys(d for _, d in pairs))
    missing: set[str] = set()
    for i in range(0, len(wanted), _ASK):
        body = orjson.dumps({"digests": wanted[i : i + _ASK]})
        answer = http._request(
            "POST",
            "/datasets/uploads/missing",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        missing.update(answer["missing"])
    todo: dict[str, tuple[str, int]] = {}
    for location, (digest, size) in zip(locations, hashed, strict=True):
        if digest in missing:
            todo.setdefault(digest, (location, size))
    for batch in _batches(list(todo.items())):
        _send(http, batch)
    return pairs


def _batches(items: list[tuple[str, tuple[str, int]]]) -> Iterator[list[tuple[str, str]]]:
    batch: list[tuple[str, str]] = []
    size = 0
    for digest, (location, n) in items:
        if batch and (len(batch) >= BATCH_FILES or size + n > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append((digest, location))
        size += n
    if batch:
        yield batch


def _send(http: RemoteTracking, batch: Sequence[tuple[str, str]]) -> None:
    with ExitStack() as stack:
        files: list[tuple[str, Any]] = [
            (
                "file",
                (digest, stack.enter_context(open(location, "rb")), "application/octet-stream"),
            )
            for digest, location in batch
        ]
        http._request("POST", "/datasets/uploads/blobs", files=files, timeout=_LONG)
