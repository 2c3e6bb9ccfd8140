"""What the embedded registry's parts share: the two stores and the default actor."""

from __future__ import annotations

from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore

__all__ = ["Stores"]


class Stores:
    """The metadata and artifact stores the registry writes to, and who acts by default."""

    def __init__(
        self, metadata: MetadataStore, artifacts: ArtifactStore, *, default_actor: str = "unknown"
    ) -> None:
        self._db = metadata
        self._blobs = artifacts
        self._default_actor = default_actor
