"""Content-addressed artifact storage: the ``ArtifactStore`` port and its built-in backends.

Open a store with ``open_artifact_store("file:///srv/blobs")`` or pass an instance.
The S3 backend lives in ``pomona.artifacts.backends.s3`` (extra ``pomona[s3]``).
"""

from __future__ import annotations

from pomona.artifacts._factory import open_artifact_store
from pomona.artifacts.backends.file import FileArtifactStore
from pomona.artifacts.backends.memory import MemoryArtifactStore
from pomona.artifacts.base import ArtifactStore, HashingReader, blob_key, check_digest

__all__ = [
    "ArtifactStore",
    "FileArtifactStore",
    "HashingReader",
    "MemoryArtifactStore",
    "blob_key",
    "check_digest",
    "open_artifact_store",
]
