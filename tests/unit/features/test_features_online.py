"""Online stores (conformance, one query per read), materialisation and pushes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_store
from pomona._utils.clock import to_ms
from pomona.artifacts import MemoryArtifactStore
from pomona.errors import BackendError, ConfigError
from pomona.features import Entity, FeatureService, FeatureStore, FeatureView, FileSource
from pomona.features.online import (
    MemoryOnlineStore,
    OnlineRecord,
    SqliteOnlineStore,
    open_online_store,
)
from pomona.features.online.conformance import check_online_store
from pomona.metadata import open_metadata_store

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_memory_store_conforms() -> None:
    check_online_store(MemoryOnlineStore)


def test_sqlite_store_conforms(tmp_path: Path) -> None:
    counter = iter(range(100))
    check_online_store(lambda: SqliteOnlineStore(tmp_path / f"o{next(counter)}.db"))


def test_sqlite_reads_any_number_of_keys_in_one_query(tmp_path: Path) -> None:
    store = SqliteOnlineStore(tmp_path / "o.db")
    store.write([OnlineRecord("v", f"[{i}]", i, b"{}") for i in range(40_000)])
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    got = store.read([("v", f"[{i}]") for i in range(40_000)])
    assert sum(r is not None for r in got) == 40_000
    assert len(statements) == 1 and statements[0].startswith("SELECT")
    store.close()


@pytest.mark.parametrize(
    ("url", "kind"),
    [("sqlite", SqliteOnlineStore), ("", SqliteOnlineStore), ("memory", MemoryOnlineStore)],
)
def test_online_store_urls(tmp_path: Path, url: str, kind: type) -> None:
    store = open_online_store(url, default_path=tmp_path / "online.db")
    assert isinstance(store, kind)


def test_an_absolute_sqlite_url_names_the_file(tmp_path: Path) -> None:
    store = open_online_store(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(store, SqliteOnlineStore) and store.path == tmp_path / "x.db"


def test_an_unknown_online_store_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="Use one of: memory, redis, sqlite"):
        open_online_store("cassandra")


def _apply(store: FeatureStore, folder: Path, entities: int = 50, days: int = 3) -> None:
    rows = [
        (a, T0 + timedelta(days=d), float(a * 10 + d)) for a in range(entities) for d in range(days)
    ]
    pd.DataFrame(rows, columns=["apple_id", "event_timestamp", "weight"]).to_parquet(
        folder / "w.parquet"
    )
    store.apply(
        [
            Entity("apple", join_keys={"apple_id": "int64"}),
            FeatureView(
                "weights",
                source=FileSource(str(folder / "w.parquet")),
                entities=["apple"],
                features={"weight": "float64"},
                ttl=timedelta(days=2),
            ),
            FeatureService("grader", ["weights:weight"]),
        ]
    )


def test_materialize_loads_the_latest_value_in_the_window(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    _apply(feature_store, tmp_path)
    result = feature_store.materialize(T0, T0 + timedelta(days=1))
    assert result.entities == 50
    at = T0 + timedelta(days=1, hours=1)
    got = feature_store.get_online_features({"apple_id": [3, 7, 99]}, "grader", at=at)
    assert got == {"apple_id": [3, 7, 99], "weight": [31.0, 71.0, None]}
    expired = feature_store.get_online_features(
        {"apple_id": [3]}, "grader", at=at + timedelta(days=2)
    )
    assert expired["weight"] == [None]  # older than the TTL at read time


def test_incremental_materialisation_resumes_where_it_ended(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    _apply(feature_store, tmp_path)
    first = feature_store.materialize_incremental(T0 + timedelta(hours=12))
    second = feature_store.materialize_incremental(T0 + timedelta(days=5))
    assert first.views[0].start_at == datetime(1970, 1, 1, tzinfo=UTC)
    assert second.views[0].start_at == T0 + timedelta(hours=12)
    assert (first.entities, second.entities) == (50, 50)
    info = feature_store.get_feature_view("weights")
    assert info.materialized_until == T0 + timedelta(days=5)
    got = feature_store.get_feature_vectors("grader", [{"apple_id": 4}], at=T0 + timedelta(days=2))
    assert got == [[42.0]]


def test_online_reads_follow_definitions_changed_by_another_store(tmp_path: Path) -> None:
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    blobs, online = MemoryArtifactStore(), MemoryOnlineStore()
    writer = FeatureStore(metadata, blobs, online, tmp_path / "w")
    reader = FeatureStore(metadata, blobs, online, tmp_path / "r", catalog_ttl_s=0.0)
    _apply(writer, tmp_path)
    writer.materialize(T0, T0 + timedelta(days=3))
    at = T0 + timedelta(days=2, hours=12)
    assert reader.get_online_features({"apple_id": [3]}, "grader", at=at)["weight"] == [32.0]
    catalog = reader.catalog()
    assert reader.catalog() is catalog  # checked again, unchanged: kept with its read plans
    view = writer.get_feature_view("weights").view
    shorter = FeatureView(
        view.name, view.source, list(view.entities), {"weight": "float64"}, ttl=timedelta(hours=6)
    )
    writer.apply([shorter])
    assert reader.get_online_features({"apple_id": [3]}, "grader", at=at)["weight"] == [None]
    assert reader.catalog() is not catalog
    # Payloads written by version 1 are still read by their layout; old JSON objects too.
    soon = T0 + timedelta(days=2, hours=1)
    assert reader.get_online_features({"apple_id": [3]}, "grader", at=soon)["weight"] == [32.0]
    online.write([OnlineRecord("weights", "[77]", to_ms(soon), b'{"weight": 7.5}')])
    got = reader.get_online_features({"apple_id": [77, 3]}, "grader", at=soon)
    assert got["weight"] == [7.5, 32.0]


def test_payloads_of_an_earlier_view_version_are_read_by_its_layout(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    _apply(feature_store, tmp_path)  # version 1: weight
    feature_store.materialize(T0, T0 + timedelta(days=3))
    rows = pd.read_parquet(tmp_path / "w.parquet").assign(extra=1.5)
    rows.to_parquet(tmp_path / "w2.parquet")
    features = {"extra": "float64", "weight": "float64"}  # another order, one more feature
    feature_store.apply(
        [
            FeatureView(
                "weights", FileSource(str(tmp_path / "w2.parquet")), ["apple"], features,
                ttl=timedelta(days=2),
            ),
            FeatureService("grader", ["weights:weight", "weights:extra"]),
        ]
    )  # fmt: skip
    at = T0 + timedelta(days=2, hours=1)
    got = feature_store.get_online_features({"apple_id": [3]}, "grader", at=at)
    assert got == {"apple_id": [3], "weight": [32.0], "extra": [None]}
    feature_store.materialize(T0, T0 + timedelta(days=3))
    got = feature_store.get_online_features({"apple_id": [3]}, "grader", at=at)
    assert got == {"apple_id": [3], "weight": [32.0], "extra": [1.5]}


class _Flaky(MemoryOnlineStore):
    """An online store that fails once after ``fail_after`` batches; records batch sizes."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.fail_after = fail_after
        self.batches: list[int] = []

    def write(self, records: Sequence[OnlineRecord]) -> int:
        if self.fail_after is not None and len(self.batches) == self.fail_after:
            self.fail_after = None
            raise BackendError("the online store went away")
        self.batches.append(len(records))
        return super().write(records)


def test_a_materialisation_that_died_part_way_is_rerun(tmp_path: Path) -> None:
    online = _Flaky(fail_after=2)
    store = make_store(tmp_path, online=online, batch_rows=7)
    _apply(store, tmp_path)  # ingest never touches the online store
    end = T0 + timedelta(days=3)
    with pytest.raises(BackendError, match="went away"):
        store.materialize_incremental(end)
    assert store.get_feature_view("weights").materialized_until is None  # not recorded
    store.materialize_incremental(end)
    assert max(online.batches) <= 7  # streamed in bounded batches
    clean = make_store(tmp_path / "clean")
    _apply(clean, tmp_path)
    clean.materialize_incremental(end)
    keys = {"apple_id": list(range(50))}
    at = end
    assert store.get_online_features(keys, "grader", at=at) == clean.get_online_features(
        keys, "grader", at=at
    )


def test_push_updates_the_online_store_and_appends_offline(
    feature_store: FeatureStore, tmp_path: Path
) -> None:
    _apply(feature_store, tmp_path)
    when = T0 + timedelta(days=4)
    result = feature_store.push(
        "weights",
        [
            {"apple_id": 1, "event_timestamp": when - timedelta(hours=1), "weight": 1.5},
            {"apple_id": 1, "event_timestamp": when, "weight": 2.5},
        ],
    )
    assert (result.rows, result.offline_digest is not None) == (2, True)
    online = feature_store.get_online_features({"apple_id": [1]}, "grader", at=when)
    assert online["weight"] == [2.5]
    entity_df = pd.DataFrame(
        {"apple_id": [1, 1], "event_timestamp": [when - timedelta(minutes=30), when]}
    )
    offline = feature_store.get_historical_features(entity_df, "grader")
    assert list(offline["weight"]) == [1.5, 2.5]
    assert feature_store.get_feature_view("weights").pushed_rows == 2


def test_many_pushes_are_merged_without_changing_results(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    _apply(store, tmp_path, entities=3, days=1)
    for i in range(40):
        store.push(
            "weights",
            [{"apple_id": i % 3, "event_timestamp": T0 + timedelta(hours=i // 2), "weight": i}],
            to="offline",
        )
    from pomona.features import _segments

    with store.offline.db.read() as conn:
        assert len(_segments.pushes(conn, "weights")) <= 32
    entity_df = pd.DataFrame(
        {"apple_id": [0, 1, 2], "event_timestamp": [T0 + timedelta(days=1)] * 3}
    )
    got = store.get_historical_features(entity_df, "grader")
    assert list(got["weight"]) == [39.0, 37.0, 38.0]


def test_pushed_rows_are_checked(feature_store: FeatureStore, tmp_path: Path) -> None:
    from pomona.errors import InvalidInputError

    _apply(feature_store, tmp_path)
    with pytest.raises(InvalidInputError, match="no feature 'weight'"):
        feature_store.push("weights", [{"apple_id": 1, "event_timestamp": T0}])
    with pytest.raises(InvalidInputError, match="Cannot push rows to feature view 'weights'"):
        feature_store.push("weights", [{"apple_id": 1, "event_timestamp": T0, "weight": "heavy"}])
    assert feature_store.get_feature_view("weights").pushed_rows == 0
