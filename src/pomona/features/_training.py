"""Point-in-time joins for callers, and training datasets saved as Parquet artifacts."""

from __future__ import annotations

import json
import uuid
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
from pomona.metadata import MetadataStore
from pomona.metadata.schema import feature_training_sets as sets_t
from pomona.types import Digest

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = ["TrainingSets"]


class TrainingSets:
    """Historical features, and their saved, versioned training datasets."""

    def __init__(self, db: MetadataStore, blobs: ArtifactStore, offline: OfflineStore) -> None:
        self.db = db
        self.blobs = blobs
        self.offline = offline

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
        self.offline.scratch.mkdir(parents=True, exist_ok=True)
        path = self.offline.scratch / f"training-{uuid.uuid4().hex}.parquet"
        try:
            pq.write_table(table, path)
            digest, size = self.blobs.put_file(path)
        finally:
            path.unlink(missing_ok=True)
        row = {
            "name": name,
            "digest": digest,
            "size": size,
            "num_rows": table.num_rows,
            "columns": json.dumps(table.column_names),
            "features": json.dumps(
                {"refs": [c.ref for c in columns], "columns": [c.output for c in columns]}
            ),
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
    )
