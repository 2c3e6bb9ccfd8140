"""Point-in-time joins for callers, and training datasets saved as Parquet artifacts (and,
through a ``DatasetSink``, as table dataset versions)."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from pomona._utils.clock import from_ms, now_ms
from pomona.artifacts.base import ArtifactStore
from pomona.errors import NotFoundError
from pomona.features._frames import attach, entity_table, to_arrow, training_table
from pomona.features._offline import OfflineStore
from pomona.features._resolve import Catalog, Column
from pomona.features.base import FeaturesRef, TrainingDataset
from pomona.features.definitions import check_name
from pomona.features.sources import DatasetSink
from pomona.metadata import MetadataStore
from pomona.metadata.schema import feature_training_sets as sets_t
from pomona.types import Digest

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = ["TrainingSets"]


class TrainingSets:
    """Historical features, and their saved, versioned training datasets."""

    def __init__(
        self,
        db: MetadataStore,
        blobs: ArtifactStore,
        offline: OfflineStore,
        sink: DatasetSink | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.offline = offline
        self.sink = sink

    def _join(
        self,
        catalog: Catalog,
        entity_df: Any,
        features: FeaturesRef,
        timestamp_column: str,
        full_names: bool,
    ) -> tuple[pa.Table, pa.Table, list[Column], dict[str, dict[str, object]]]:
        columns = catalog.columns(features, full_names=full_names)
        original = to_arrow(entity_df)
        entities = entity_table(original, columns, timestamp_column)
        result, lineage = self.offline.historical(entities, columns)
        return original, result, columns, lineage

    def historical(
        self,
        catalog: Catalog,
        entity_df: Any,
        features: FeaturesRef,
        timestamp_column: str,
        full_names: bool,
    ) -> pd.DataFrame:
        original, result, columns, _ = self._join(
            catalog, entity_df, features, timestamp_column, full_names
        )
        return attach(entity_df, original, result, columns)

    def table(
        self,
        catalog: Catalog,
        entity_df: Any,
        features: FeaturesRef,
        timestamp_column: str,
        full_names: bool,
    ) -> pa.Table:
        original, result, columns, _ = self._join(
            catalog, entity_df, features, timestamp_column, full_names
        )
        return training_table(original, result, columns)

    def save(
        self,
        name: str,
        catalog: Catalog,
        entity_df: Any,
        features: FeaturesRef,
        timestamp_column: str,
        full_names: bool,
    ) -> TrainingDataset:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        check_name(name, "training dataset")
        original, result, columns, lineage = self._join(
            catalog, entity_df, features, timestamp_column, full_names
        )
        table = training_table(original, result, columns)
        entity_digest = _digest(original)
        self.offline.scratch.mkdir(parents=True, exist_ok=True)
        path = self.offline.scratch / f"training-{uuid.uuid4().hex}.parquet"
        try:
            pq.write_table(table, path)
            digest, size = self.blobs.put_file(path)
            dataset = self._save_dataset(name, path, features, lineage, entity_digest)
        finally:
            path.unlink(missing_ok=True)
        described = {
            "refs": [c.ref for c in columns],
            "columns": [c.output for c in columns],
            "entity_digest": entity_digest,
            "dataset": dataset,
        }
        row = {
            "name": name,
            "digest": digest,
            "size": size,
            "num_rows": table.num_rows,
            "columns": json.dumps(table.column_names),
            "features": json.dumps(described),
            "lineage": json.dumps(lineage),
            "created_ms": now_ms(),
        }
        with self.db.write() as conn:
            latest = conn.execute(
                select(func.max(sets_t.c.version)).where(sets_t.c.name == name)
            ).scalar()
            row["version"] = int(latest or 0) + 1
            conn.execute(sets_t.insert().values(**row))
        return _dataset(row)

    def _save_dataset(
        self,
        name: str,
        path: Path,
        features: FeaturesRef,
        lineage: dict[str, dict[str, object]],
        entity_digest: str,
    ) -> str | None:
        """Store the training set as a table dataset version; its ref (``None``: no sink)."""
        if self.sink is None:
            return None
        views = ", ".join(f"{view} v{info['version']}" for view, info in lineage.items())
        if isinstance(features, str) and ":" not in features:
            asked = f"feature service '{features}' ({views})"
        else:
            asked = f"features of {views}"
        return self.sink.save_table(
            name,
            path,
            source=f"point-in-time join of {asked}; entity rows {entity_digest}",
            description=f"Training set '{name}' (ws.features.get_training_dataset('{name}')).",
        )

    def get(self, name: str, version: int | None) -> TrainingDataset:
        stmt = select(sets_t).where(sets_t.c.name == name)
        if version is None:
            stmt = stmt.order_by(sets_t.c.version.desc()).limit(1)
        else:
            stmt = stmt.where(sets_t.c.version == version)
        with self.db.read() as conn:
            row = conn.execute(stmt).mappings().first()
        if row is None:
            which = f"'{name}'" if version is None else f"'{name}' version {version}"
            raise NotFoundError(
                f"No training dataset {which}.",
                hint="Save one with ws.features.save_training_dataset(name, entity_df, features).",
                details={"name": name, "version": version},
            )
        return _dataset(dict(row))

    def load(self, name: str, version: int | None) -> pa.Table:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        dataset = self.get(name, version)
        return pq.read_table(self.offline.cache.path(dataset.digest))


def _dataset(row: dict[str, Any]) -> TrainingDataset:
    features = json.loads(row["features"])
    created = from_ms(row["created_ms"])
    assert created is not None
    return TrainingDataset(
        name=row["name"],
        version=row["version"],
        digest=Digest(row["digest"]),
        num_rows=row["num_rows"],
        columns=json.loads(row["columns"]),
        features=features["refs"],
        feature_columns=features["columns"],
        lineage=json.loads(row["lineage"]),
        created_at=created,
        entity_digest=features.get("entity_digest"),
        dataset=features.get("dataset"),
    )


def _digest(table: pa.Table) -> str:
    """sha256 of ``table`` as an Arrow IPC stream: the same rows and types, the same digest."""
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return "sha256:" + hashlib.sha256(sink.getvalue()).hexdigest()
