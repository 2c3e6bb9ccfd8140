"""Build the workspace's embedded feature store, wired to the workspace's datasets."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pomona.artifacts import ArtifactStore
from pomona.config import Settings
from pomona.errors import InvalidInputError, NotFoundError
from pomona.features.online import open_online_store
from pomona.features.service import FeatureStore
from pomona.features.sources import DatasetSource, ResolvedDataset
from pomona.metadata import MetadataStore

if TYPE_CHECKING:
    from pomona.datasets._ingest_table import TableBatch
    from pomona.datasets._model import DatasetVersion
    from pomona.datasets.base import DatasetsAPI
    from pomona.datasets.service import DatasetService

__all__ = ["WorkspaceDatasets", "embedded_features"]

_BATCH_ROWS = 65_536


class WorkspaceDatasets:
    """The datasets service as the feature store sees it: table versions are read as
    feature sources (``SourceResolver``), training sets stored as versions (``DatasetSink``)."""

    def __init__(self, datasets: DatasetService, artifacts: ArtifactStore) -> None:
        self._datasets = datasets
        self._blobs = artifacts

    def resolve(self, source: DatasetSource) -> ResolvedDataset:
        """The Parquet parts of the version's clean rows; the fingerprint hashes their digests."""
        manifest = self._datasets.manifest(source.dataset)
        if manifest.kind != "table":
            raise InvalidInputError(
                f"Dataset {source.dataset} holds {manifest.kind}, not a table.",
                hint="A feature view reads a table version (keys, timestamp, features); "
                "compute image features with a transformation instead.",
                details={"field": "source.dataset"},
            )
        digests = tuple(part.digest for part in manifest.records)
        if not digests:
            raise InvalidInputError(
                f"Dataset {source.dataset} has no clean rows.",
                hint="Every row was quarantined: read its validation report.",
                details={"field": "source.dataset"},
            )
        fingerprint = hashlib.sha256(",".join(digests).encode()).hexdigest()[:32]
        return ResolvedDataset(digests, fingerprint)

    def save_table(self, name: str, path: Path, *, source: str, description: str) -> str:
        """Store a Parquet file as the next version of table dataset ``name`` (schema checks
        only: a training set's rows are never quarantined for their values)."""
        from pomona.datasets._commit import Provenance
        from pomona.datasets._ingest_table import store_table
        from pomona.datasets._refs import check_dataset_name

        check_dataset_name(name)
        parent = self._latest(name)
        if parent is not None and parent.kind != "table":
            raise InvalidInputError(
                f"Dataset '{name}' holds images; a training set is a table.",
                hint="Save the training set under another name.",
                details={"field": "name"},
            )
        ingested = store_table(_batches(path), blobs=self._blobs, suite=None, label=None)
        how = Provenance("features", parent=parent, source=source, description=description)
        return str(self._datasets.commit(name, ingested, how))

    def _latest(self, name: str) -> DatasetVersion | None:
        try:
            return self._datasets.get_version(name)
        except NotFoundError:
            return None


def _batches(path: Path) -> Iterator[TableBatch]:
    import numpy as np
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    from pomona.datasets._ingest_table import TableBatch

    offset = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
        if batch.num_rows:
            ids = np.arange(offset, offset + batch.num_rows, dtype=np.int64)
            yield TableBatch("training", batch, ids)
            offset += batch.num_rows


def embedded_features(
    settings: Settings,
    metadata: MetadataStore,
    artifacts: ArtifactStore,
    datasets: DatasetsAPI | None = None,
) -> FeatureStore:
    """The feature store on the workspace's stores and its configured online store.

    With the embedded ``datasets`` service, dataset versions can be feature sources and
    training sets are saved as dataset versions too.
    """
    from pomona.datasets.service import DatasetService

    f = settings.features
    online = open_online_store(f.online_url, default_path=settings.workspace_dir / "online.db")
    bridge = None
    if isinstance(datasets, DatasetService):
        bridge = WorkspaceDatasets(datasets, artifacts)
    return FeatureStore(
        metadata,
        artifacts,
        online,
        settings.workspace_dir / "cache" / "features",
        resolver=bridge,
        sink=bridge,
        memory_limit_mb=f.memory_limit_mb,
        batch_rows=f.batch_rows,
    )
