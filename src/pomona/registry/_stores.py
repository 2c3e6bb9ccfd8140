"""What the embedded registry's parts share: the two stores and the default actor."""

from __future__ import annotations

from collections.abc import Sequence

from pomona.artifacts.base import ArtifactStore
from pomona.metadata import MetadataStore

__all__ = ["Stores"]


class Stores:
    """The metadata and artifact stores the registry writes to, who acts by default, and
    the modules (besides Pomona's own) whose model classes may be imported."""

    def __init__(
        self,
        metadata: MetadataStore,
        artifacts: ArtifactStore,
        *,
        default_actor: str = "unknown",
        trusted_modules: Sequence[str] = (),
    ) -> None:
        self._db = metadata
        self._blobs = artifacts
        self._default_actor = default_actor
        self.trusted_modules = tuple(trusted_modules)
