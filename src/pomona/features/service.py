"""The embedded feature store: definitions, offline and online stores, on one workspace."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pomona._utils.clock import from_ms, now_ms, to_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.artifacts.base import ArtifactStore
from pomona.errors import InvalidInputError, NotFoundError
from pomona.features import _registry, _segments
from pomona.features._codec import FeatureValue, entity_columns
from pomona.features._duck import DuckSettings
from pomona.features._offline import OfflineStore
from pomona.features._resolve import BoundView, Catalog, bind_view
from pomona.features._stats import stats_from_json
from pomona.features._training import TrainingSets
from pomona.features.base import (
    AppliedObject,
    EntityInfo,
    EntityRows,
    FeatureServiceInfo,
    FeaturesRef,
    FeatureViewInfo,
    MaterializeResult,
    PushResult,
    SnapshotInfo,
    TrainingDataset,
)
from pomona.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
)
from pomona.features.online.base import OnlineStore
from pomona.metadata import MetadataStore
from pomona.metadata.schema import feature_materializations as mat_t
from pomona.types import Page

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    from pomona.features._online import ReadPlan
    from pomona.features.sources import DatasetSink, SourceResolver

__all__ = ["FeatureStore"]

MAX_PAGE = 1000


class FeatureStore:
    """Implements ``FeaturesAPI`` on a metadata store, an artifact store and an online store.

    Args:
        cache_dir: local folder for verified copies of Parquet blobs and DuckDB spill files.
        resolver: turns dataset versions into Parquet blobs (wired by the client).
        sink: stores training datasets as table dataset versions too (wired by the client).
        memory_limit_mb: DuckDB's memory limit per query (it spills to disk beyond).
        batch_rows: rows per streamed batch (ingest, materialisation).
        catalog_ttl_s: how long online reads trust cached definitions.
    """

    def __init__(
        self,
        metadata: MetadataStore,
        artifacts: ArtifactStore,
        online: OnlineStore,
        cache_dir: Path,
        *,
        resolver: SourceResolver | None = None,
        sink: DatasetSink | None = None,
        memory_limit_mb: int = 1024,
        batch_rows: int = 65_536,
        catalog_ttl_s: float = 5.0,
    ) -> None:
        self._db = metadata
        self.online = online
        self.offline = OfflineStore(
            metadata,
            artifacts,
            Path(cache_dir),
            resolver=resolver,
            duck=DuckSettings(memory_limit_mb, temp_dir=Path(cache_dir) / "duckdb"),
            batch_rows=batch_rows,
        )
        self._training = TrainingSets(metadata, artifacts, self.offline, sink)
        self._catalog_ttl_s = catalog_ttl_s
        self._catalog: tuple[float, tuple[int, int, int], Catalog] | None = None
        self._layouts: dict[tuple[str, int], tuple[str, ...]] = {}

    def close(self) -> None:
        self.online.close()

    # --- definitions --------------------------------------------------------------------

    def apply(self, objects: Sequence[Definition], *, ingest: bool = True) -> list[AppliedObject]:
        objects = list(objects)
        for obj in objects:
            if not isinstance(obj, (Entity, FeatureView, FeatureService)):
                raise InvalidInputError(
                    f"apply takes entities, feature views and feature services, "
                    f"not {type(obj).__name__}.",
                    details={"field": "objects"},
                )
        names = [(_registry.kind_of(o), o.name) for o in objects]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidInputError(
                f"The {dupes[0][0].replace('_', ' ')} '{dupes[0][1]}' is given twice.",
                details={"field": "objects"},
            )
        bound = self._validate(objects)
        with self._db.write() as conn:
            applied = _registry.store(conn, objects, now_ms())
        self._catalog = None
        if ingest:
            versions = {(a.kind, a.name): a.version for a in applied}
            for view in bound:
                current = BoundView(view.view, versions[("feature_view", view.name)], view.keys)
                self.offline.ensure_snapshot(current)
        return applied

    def _validate(self, objects: list[Definition]) -> list[BoundView]:
        """Check references and sources before anything is stored."""
        with self._db.read() as conn:
            entities = {n: s.definition for n, s in _registry.load_all(conn, "entity").items()}
            views = {n: s.definition for n, s in _registry.load_all(conn, "feature_view").items()}
        entities.update({o.name: o for o in objects if isinstance(o, Entity)})
        new_views = [o for o in objects if isinstance(o, FeatureView)]
        views.update({v.name: v for v in new_views})
        bound = [bind_view(v, 0, entities) for v in new_views]  # type: ignore[arg-type]
        catalog = Catalog(
            {n: bind_view(v, 0, entities) for n, v in views.items()},  # type: ignore[arg-type]
            {},
        )
        for service in (o for o in objects if isinstance(o, FeatureService)):
            catalog.columns(list(service.features))
        for view in bound:
            if view.view.transformation is not None:
                view.view.transformation.load()
            self.offline.check_source(view)
        return bound

    def catalog(self, *, fresh: bool = False) -> Catalog:
        """The latest definitions, trusted for ``catalog_ttl_s`` (``fresh``: checked now).

        A check reads one row (a stamp of the definitions); they are reloaded only when
        the stamp changed, so cached read plans survive the check.
        """
        cached = self._catalog
        now = time.monotonic()
        if not fresh and cached is not None and now - cached[0] < self._catalog_ttl_s:
            return cached[2]
        with self._db.read() as conn:
            stamp = _registry.stamp(conn)
            if cached is not None and cached[1] == stamp:
                self._catalog = (now, stamp, cached[2])
                return cached[2]
            entities = _registry.load_all(conn, "entity")
            views = _registry.load_all(conn, "feature_view")
            services = _registry.load_all(conn, "feature_service")
        by_name = {n: s.definition for n, s in entities.items()}
        catalog = Catalog(
            {
                n: bind_view(s.definition, s.version, by_name)  # type: ignore[arg-type]
                for n, s in views.items()
            },
            {n: s.definition for n, s in services.items()},  # type: ignore[misc]
        )
        self._catalog = (now, stamp, catalog)
        return catalog

    def get_entity(self, name: str) -> EntityInfo:
        with self._db.read() as conn:
            return _entity_info(_registry.load(conn, "entity", name))

    def list_entities(self, *, limit: int = 100, page_token: str | None = None) -> Page[EntityInfo]:
        items, token, total = self._page("entity", limit, page_token)
        return Page([_entity_info(s) for s in items], token, total)

    def get_feature_view(self, name: str, *, version: int | None = None) -> FeatureViewInfo:
        with self._db.read() as conn:
            return self._view_info(conn, _registry.load(conn, "feature_view", name, version))

    def list_feature_views(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[FeatureViewInfo]:
        items, token, total = self._page("feature_view", limit, page_token)
        with self._db.read() as conn:
            return Page([self._view_info(conn, s) for s in items], token, total)

    def get_feature_service(self, name: str) -> FeatureServiceInfo:
        with self._db.read() as conn:
            stored = _registry.load(conn, "feature_service", name)
        return self._service_info(stored)

    def list_feature_services(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[FeatureServiceInfo]:
        items, token, total = self._page("feature_service", limit, page_token)
        return Page([self._service_info(s) for s in items], token, total)

    def _page(
        self, kind: _registry.Kind, limit: int, page_token: str | None
    ) -> tuple[list[_registry.Stored], str | None, int]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(
                f"limit must be between 1 and {MAX_PAGE}.", details={"field": "limit"}
            )
        offset = decode_page_token(page_token)
        with self._db.read() as conn:
            items, total = _registry.page(conn, kind, offset, limit)
        token = encode_page_token(offset + limit) if offset + limit < total else None
        return items, token, total

    def _view_info(self, conn: object, stored: _registry.Stored) -> FeatureViewInfo:
        from sqlalchemy import Connection, select

        assert isinstance(conn, Connection) and isinstance(stored.definition, FeatureView)
        snap = _segments.latest_snapshot(conn, stored.name, stored.version)
        end = conn.execute(select(mat_t.c.end_ms).where(mat_t.c.view_name == stored.name)).scalar()
        return FeatureViewInfo(
            view=stored.definition,
            version=stored.version,
            created_at=_at(stored.created_ms),
            updated_at=_at(stored.updated_ms),
            snapshot=None if snap is None else _snapshot_info(snap),
            pushed_rows=_segments.pushed_rows(conn, stored.name),
            materialized_until=from_ms(end),
        )

    def _service_info(self, stored: _registry.Stored) -> FeatureServiceInfo:
        assert isinstance(stored.definition, FeatureService)
        columns = self.catalog(fresh=True).columns(list(stored.definition.features))
        return FeatureServiceInfo(
            service=stored.definition,
            version=stored.version,
            created_at=_at(stored.created_ms),
            updated_at=_at(stored.updated_ms),
            features=[c.ref for c in columns],
        )

    # --- offline ------------------------------------------------------------------------

    def ingest(self, view: str) -> FeatureViewInfo:
        bound = self.catalog(fresh=True).view(view)
        self.offline.ensure_snapshot(bound, force=True)
        return self.get_feature_view(view)

    def get_historical_features(
        self,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> pd.DataFrame:
        return self._training.historical(
            self.catalog(fresh=True), entity_df, features, timestamp_column, full_names
        )

    def get_historical_table(
        self,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> pa.Table:
        return self._training.table(
            self.catalog(fresh=True), entity_df, features, timestamp_column, full_names
        )

    def save_training_dataset(
        self,
        name: str,
        entity_df: pd.DataFrame | pa.Table,
        features: FeaturesRef,
        *,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> TrainingDataset:
        return self._training.save(
            name, self.catalog(fresh=True), entity_df, features, timestamp_column, full_names
        )

    def get_training_dataset(self, name: str, *, version: int | None = None) -> TrainingDataset:
        return self._training.get(name, version)

    def load_training_dataset(self, name: str, *, version: int | None = None) -> pd.DataFrame:
        return self._training.load(name, version).to_pandas()

    # --- online -------------------------------------------------------------------------

    def materialize(
        self, start: datetime, end: datetime, *, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        from pomona.features._materialize import materialize

        return materialize(self, self._db, start, end, views)

    def materialize_incremental(
        self, end: datetime | None = None, *, views: Sequence[str] | None = None
    ) -> MaterializeResult:
        from pomona.features._materialize import materialize

        return materialize(self, self._db, None, end or datetime.now(UTC), views)

    def get_online_features(
        self,
        entity_rows: EntityRows,
        features: FeaturesRef,
        *,
        full_names: bool = False,
        at: datetime | None = None,
    ) -> dict[str, list[FeatureValue]]:
        from pomona.features._online import read_features

        plan = self._read_plan(features, full_names)
        at_ms = now_ms() if at is None else to_ms(at)
        return read_features(self.online, plan, entity_columns(entity_rows), at_ms, self._layout)

    def _layout(self, view: str, version: int) -> tuple[str, ...]:
        """The features of ``view`` at ``version`` (to read payloads it wrote), cached."""
        key = (view, version)
        names = self._layouts.get(key)
        if names is None:
            try:
                with self._db.read() as conn:
                    stored = _registry.load(conn, "feature_view", view, version)
            except NotFoundError:
                return ()
            assert isinstance(stored.definition, FeatureView)
            names = tuple(stored.definition.feature_names)
            self._layouts[key] = names
        return names

    def _read_plan(self, features: FeaturesRef, full_names: bool) -> ReadPlan:
        from pomona.features._online import read_plan

        catalog = self.catalog()
        key = ("read", features if isinstance(features, str) else tuple(features), full_names)
        return catalog.memo(
            key, lambda: read_plan(catalog.columns(features, full_names=full_names))
        )

    def get_feature_vectors(
        self, service: str, entity_rows: EntityRows, *, at: datetime | None = None
    ) -> list[list[FeatureValue]]:
        from pomona.features._online import read_features

        plan = self._read_plan(service, False)
        at_ms = now_ms() if at is None else to_ms(at)
        cols = read_features(
            self.online, plan, entity_columns(entity_rows), at_ms, self._layout, with_keys=False
        )
        values = [cols[name] for name in plan.names]
        return [list(row) for row in zip(*values, strict=True)] if values else []

    def push(
        self,
        view: str,
        rows: pd.DataFrame | pa.Table | Sequence[Mapping[str, object]],
        *,
        to: Literal["online", "offline", "online_and_offline"] = "online_and_offline",
    ) -> PushResult:
        from pomona.features._materialize import push

        if to not in ("online", "offline", "online_and_offline"):
            raise InvalidInputError(
                f"push to={to!r} is not one of online, offline, online_and_offline.",
                details={"field": "to"},
            )
        return push(self, self.catalog(fresh=True).view(view), rows, to)


def _at(ms: int) -> datetime:
    moment = from_ms(ms)
    assert moment is not None
    return moment


def _entity_info(stored: _registry.Stored) -> EntityInfo:
    assert isinstance(stored.definition, Entity)
    return EntityInfo(
        stored.definition, stored.version, _at(stored.created_ms), _at(stored.updated_ms)
    )


def _snapshot_info(seg: _segments.Segment) -> SnapshotInfo:
    stats = seg.stats or {}
    return SnapshotInfo(
        digest=seg.digest,
        num_rows=seg.num_rows,
        dropped_rows=int(stats.get("dropped", 0)),
        entities=int(stats.get("entities", 0)),
        min_event_at=from_ms(seg.min_ts_ms),
        max_event_at=from_ms(seg.max_ts_ms),
        created_at=_at(seg.created_ms),
        features=stats_from_json(stats.get("features", [])),
    )
