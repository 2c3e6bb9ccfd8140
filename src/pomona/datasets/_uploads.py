"""Files a remote client uploads: blobs stored by digest, then read back as a source.

The client hashes its files, asks which digests the server lacks (``missing_blobs``),
sends only those (``receive_blobs`` verifies each digest) and then asks for a version
from (record id, digest) pairs: ``upload_source`` reads them from the artifact store like
any remote source, a batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.datasets import _catalog
from pomona.datasets._reading import safe_relative
from pomona.datasets._sources import FileSource, _kind, _select
from pomona.errors import ArtifactNotFoundError, InvalidInputError
from pomona.metadata import MetadataStore
from pomona.types import Digest

__all__ = [
    "MAX_UPLOAD_FILES",
    "missing_blobs",
    "receive_blobs",
    "release",
    "upload_source",
]

MAX_UPLOAD_FILES = 10_000_000


class _BlobFiles:
    """The artifact store as the ``filesystem`` of a ``FileSource`` (locations: digests)."""

    def __init__(self, blobs: ArtifactStore) -> None:
        self.blobs = blobs

    def get_file(self, location: str, dest: str) -> None:
        try:
            self.blobs.get_file(check_digest(location), Path(dest))
        except ArtifactNotFoundError as exc:
            raise InvalidInputError(
                f"The uploaded file {location} is not stored on the server.",
                hint="Upload the file first (the client does so before ingesting).",
                details={"field": "files", "digest": location},
            ) from exc


def missing_blobs(db: MetadataStore, blobs: ArtifactStore, digests: Iterable[str]) -> list[str]:
    """The digests among ``digests`` the artifact store does not hold, in order."""
    wanted = list(dict.fromkeys(check_digest(d) for d in digests))
    known = _catalog.known_digests(db, wanted)
    return [d for d in wanted if d not in known and not blobs.exists(d)]


def receive_blobs(blobs: ArtifactStore, items: Sequence[tuple[str, BinaryIO]]) -> list[Digest]:
    """Store uploaded files, each named by the digest the client computed.

    Raises:
        InvalidInputError: a file's bytes do not hash to its name (changed in transit).
    """
    stored = []
    for expected, stream in items:
        want = check_digest(expected)
        digest, _ = blobs.put_stream(stream)
        if digest != want:
            raise InvalidInputError(
                f"The file uploaded as {want} hashes to {digest}: it changed on the way.",
                hint="Upload it again; if it keeps failing, check the file and the network.",
                details={"field": "files", "digest": want},
            )
        stored.append(digest)
    return stored


def release(db: MetadataStore, blobs: ArtifactStore, digests: Iterable[Digest]) -> list[Digest]:
    """Delete uploaded blobs no record refers to (a table's raw files, once it is stored)."""
    from sqlalchemy import select

    from pomona.metadata.schema import blob_ref_columns

    candidates = sorted(set(digests))
    used: set[str] = set()
    with db.read() as conn:
        for col in blob_ref_columns():
            used.update(conn.execute(select(col).where(col.in_(candidates))).scalars())
    freed = [d for d in candidates if d not in used]
    for digest in freed:
        blobs.delete(digest)
    return freed


def upload_source(
    blobs: ArtifactStore, files: Sequence[tuple[str, str]], description: str
) -> FileSource:
    """A source over uploaded files: (record id, digest) pairs read from the artifact store."""
    if not files:
        raise InvalidInputError(
            f"The upload of '{description}' holds no files.",
            hint="Point the source at the folder holding the data.",
            details={"field": "files"},
        )
    if len(files) > MAX_UPLOAD_FILES:
        raise InvalidInputError(
            f"An upload holds at most {MAX_UPLOAD_FILES:,} files, not {len(files):,}.",
            details={"field": "files"},
        )
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for record_id, digest in files:
        clean = safe_relative(record_id).as_posix()
        if clean != record_id or record_id in seen:
            raise InvalidInputError(
                f"'{record_id}' is not a record id of an upload (relative, '/'-separated, "
                "each once).",
                details={"field": "files", "file": record_id},
            )
        seen.add(record_id)
        pairs.append((record_id, check_digest(digest)))
    kind = _kind([rel for rel, _ in pairs], f"The upload of '{description}'")
    return FileSource(
        description=f"upload of {description}",
        files=_select(kind, pairs),
        kind=kind,
        filesystem=_BlobFiles(blobs),
    )
