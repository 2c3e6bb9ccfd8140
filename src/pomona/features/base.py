"""The feature store interface both transports (embedded and remote) implement, and the
records it returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from pomona.features._codec import FeatureValue
from pomona.features.definitions import Definition, Entity, FeatureService, FeatureView
from pomona.types import Digest, Page

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = [
    "AppliedObject",
    "EntityInfo",
    "EntityRows",
    "FeatureServiceInfo",
    "FeatureStats",
    "FeatureViewInfo",
    "FeaturesAPI",
    "FeaturesRef",
    "MaterializeResult",
    "PushResult",
    "SnapshotInfo",
    "TrainingDataset",
    "ViewMaterialization",
]

EntityRows = Mapping[str, Sequence[object]] | Sequence[Mapping[str, object]]
"""Entity keys: columns ``{"apple_id": [1, 2]}`` or rows ``[{"apple_id": 1}, …]``."""
FeaturesRef = Sequence[str] | str
"""Feature references ``view:feature`` / ``view:*``, or the name of a feature service."""


@dataclass(frozen=True)
class AppliedObject:
    """What ``apply`` did to one definition."""

    kind: str
    name: str
    version: int
    status: Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class FeatureStats:
    """Statistics of one feature in a view's current snapshot."""

    name: str
    dtype: str
    count: int
    nulls: int
    distinct: int
    min: FeatureValue = None
    max: FeatureValue = None
    mean: float | None = None
    std: float | None = None


@dataclass(frozen=True)
class SnapshotInfo:
    """The view's source as last ingested into the offline store."""

    digest: Digest
    num_rows: int
    dropped_rows: int
    entities: int
    min_event_at: datetime | None
    max_event_at: datetime | None
    created_at: datetime
    features: list[FeatureStats] = field(default_factory=list)


@dataclass(frozen=True)
class EntityInfo:
    entity: Entity
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class FeatureViewInfo:
    """A feature view's definition at one version, with its offline and online state."""

    view: FeatureView
    version: int
    created_at: datetime
    updated_at: datetime
    snapshot: SnapshotInfo | None = None
    pushed_rows: int = 0
    materialized_until: datetime | None = None


@dataclass(frozen=True)
class FeatureServiceInfo:
    """A feature service with its references resolved to ``view:feature``, in order."""

    service: FeatureService
    version: int
    created_at: datetime
    updated_at: datetime
    features: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingDataset:
    """A point-in-time join saved as a Parquet artifact, with lineage to the views it read.

    ``lineage`` maps each view to ``{"version": n, "segments": [digest, …]}``.
    """

    name: str
    version: int
    digest: Digest
    num_rows: int
    columns: list[str]
    features: list[str]
    feature_columns: list[str]
    lineage: dict[str, dict[str, object]]
    created_at: datetime
    entity_digest: str | None = None
    """sha256 of the entity rows it was joined for (Arrow IPC of the frame as given)."""
    dataset: str | None = None
    """The table dataset version holding the same rows (``grader_train:2``), when the
    store is wired to the workspace's datasets: train on it to trace a model back here."""


@dataclass(frozen=True)
class ViewMaterialization:
    view: str
    start_at: datetime
    end_at: datetime
    entities: int
    written: int


@dataclass(frozen=True)
class MaterializeResult:
    views: list[ViewMaterialization]

    @property
    def entities(self) -> int:
        return sum(v.entities for v in self.views)


@dataclass(frozen=True)
class PushResult:
    view: str
    rows: int
    online_written: int
    offline_digest: Digest | None


class FeaturesAPI(Protocol):
    """Definitions, the offline store (point-in-time joins), the online store, pushes."""

    def apply(self, objects: Sequence[Definition], *, ingest: bool = True) -> list[AppliedObject]:
        """Validate and store definitions; a changed one gets a new version.

        With ``ingest``, feature views whose source changed are snapshotted now.
        Raises:
            InvalidInputError: a definition is invalid, names a missing entity or feature,
                or its source lacks the timestamp or a key column. Nothing is stored then.
        """
        ...

    def get_entity(self, name: str) -> EntityInfo: ...

    def list_entities(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[EntityInfo]: ...

    def get_feature_view(self, name: str, *, version: int | None = None) -> FeatureViewInfo: ...

    def list_feature_views(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[FeatureViewInfo]: ...

    def get_feature_service(self, name: str) -> FeatureServiceInfo: ...

    def list_feature_services(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[FeatureServiceInfo]: ...

    def ingest(self, view: str) -> FeatureViewInfo:
        """Snapshot the view's source into the offline store now (even if unchanged)."""
        ...

    def get_historical_features(
        self,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> pd.DataFrame:
        """Every entity row with the latest value of each feature at or before its
        timestamp and within the view's TTL; ``NaN``/``None`` where there is none."""
        ...

    def get_historical_table(
        self,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> pa.Table:
        """``get_historical_features`` as a ``pyarrow.Table`` (entity columns, then features)."""
        ...

    def save_training_dataset(
        self,
        name: str,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> TrainingDataset:
        """``get_historical_features`` saved as a Parquet artifact, versioned by name, and
        in a workspace also as the next version of the table dataset ``name``."""
        ...

    def get_training_dataset(self, name: str, *, version: int | None = None) -> TrainingDataset: ...

    def load_training_dataset(self, name: str, *, version: int | None = None) -> pd.DataFrame: ...

    def materialize(
        self, start: datetime, end: datetime, *, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        """Load the latest value per entity with event time in ``[start, end]`` online."""
        ...

    def materialize_incremental(
        self, end: datetime | None = None, *, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        """Materialise each view from where its last materialisation ended up to ``end``."""
        ...

    def get_online_features(
        self,
        entity_rows: EntityRows,
        features: FeaturesRef,
        *,
        full_names: bool = False,
        at: datetime | None = None,
    ) -> dict[str, list[FeatureValue]]:
        """Columns: the entity keys, then each feature (``None`` if missing or expired at
        ``at``, default now). One round trip to the online store."""
        ...

    def push(
        self,
        view: str,
        rows: pd.DataFrame | pa.Table | Sequence[Mapping[str, object]],
        *,
        to: Literal["online", "offline", "online_and_offline"] = "online_and_offline",
    ) -> PushResult:
        """Write real-time feature rows (keys, timestamp, features) to the stores."""
        ...

    def get_feature_vectors(
        self, service: str, entity_rows: EntityRows, *, at: datetime | None = None
    ) -> list[list[FeatureValue]]:
        """The service's features for each entity, in the service's order (for a model)."""
        ...
