"""Build the workspace's embedded feature store from its settings."""

from __future__ import annotations

from pomona.artifacts import ArtifactStore
from pomona.config import Settings
from pomona.features.online import open_online_store
from pomona.features.service import FeatureStore
from pomona.metadata import MetadataStore

__all__ = ["embedded_features"]


def embedded_features(
    settings: Settings, metadata: MetadataStore, artifacts: ArtifactStore
) -> FeatureStore:
    """The feature store on the workspace's stores and its configured online store.

    Dataset-version sources are not wired yet (``resolver=None``): they raise a clear
    ``InvalidInputError`` until the datasets domain provides a ``SourceResolver``.
    """
    f = settings.features
    online = open_online_store(f.online_url, default_path=settings.workspace_dir / "online.db")
    return FeatureStore(
        metadata,
        artifacts,
        online,
        settings.workspace_dir / "cache" / "features",
        memory_limit_mb=f.memory_limit_mb,
        batch_rows=f.batch_rows,
    )
