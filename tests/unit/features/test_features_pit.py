"""Point-in-time joins against a naive reference, on randomised data (hypothesis).

Ties (equal key and time: pushes beat the source, later pushes beat earlier ones, the
last row of a batch wins), missing entities, expired values, several feature views.
"""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_store
from pomona.features import Entity, FeatureView, FileSource

T0 = datetime(2026, 3, 1, tzinfo=UTC)
Row = tuple[int, int, float]  # key, minute, value

# A small world (4 keys, 9 minutes) so that rows often tie with each other.
row = st.tuples(st.integers(0, 3), st.integers(0, 8), st.floats(-100, 100, allow_nan=False))
rows = st.lists(row, max_size=24)
# Pushes crowd into the last minutes of two keys: they tie with each other and the source.
late = st.tuples(st.integers(0, 1), st.integers(6, 8), st.floats(-100, 100, allow_nan=False))
pushed = st.lists(late, min_size=1, max_size=6)
ttls = st.one_of(st.none(), st.integers(0, 4))


def _at(minute: int) -> datetime:
    return T0 + timedelta(minutes=minute)


def _frame(data: list[Row], key: str = "apple_id") -> pd.DataFrame:
    return pd.DataFrame(
        {
            key: pd.Series([r[0] for r in data], dtype="int64"),
            "event_timestamp": pd.Series([_at(r[1]) for r in data], dtype="datetime64[us, UTC]"),
            "value": pd.Series([r[2] for r in data], dtype="float64"),
        }
    )


def reference(
    source: list[Row], pushes: list[list[Row]], key: int, minute: int, ttl: int | None
) -> float | None:
    """The value a correct join returns, by brute force."""
    best: tuple[tuple[int, int, int], float] | None = None
    segments = [source, *pushes]
    for rank, segment in enumerate(segments):
        for index, (k, ts, value) in enumerate(segment):
            if k == key and ts <= minute:
                order = (ts, rank, index)
                if best is None or order > best[0]:
                    best = (order, value)
    if best is None:
        return None
    if ttl is not None and minute - best[0][0] > ttl:
        return None
    return best[1]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    source_a=rows,
    pushes_a=st.lists(pushed, max_size=3),
    source_b=rows,
    ttl_a=ttls,
    ttl_b=ttls,
    entities=st.lists(st.tuples(st.integers(0, 4), st.integers(-1, 12)), min_size=1, max_size=25),
)
def test_point_in_time_join_matches_the_reference(
    source_a: list[Row],
    pushes_a: list[list[Row]],
    source_b: list[Row],
    ttl_a: int | None,
    ttl_b: int | None,
    entities: list[tuple[int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _frame(source_a).to_parquet(folder / "a.parquet")
        _frame(source_b).to_parquet(folder / "b.parquet")
        store = make_store(folder)
        apple = Entity("apple", join_keys={"apple_id": "int64"})
        views = [
            FeatureView(
                name,
                source=FileSource(str(folder / f"{name}.parquet")),
                entities=["apple"],
                features={"value": "float64"},
                ttl=None if ttl is None else timedelta(minutes=ttl),
            )
            for name, ttl in (("a", ttl_a), ("b", ttl_b))
        ]
        store.apply([apple, *views])
        for batch in pushes_a:
            store.push("a", _frame(batch), to="offline")
        entity_df = pd.DataFrame(
            {
                "apple_id": [e[0] for e in entities],
                "event_timestamp": [_at(e[1]) for e in entities],
            },
            index=[f"row{i}" for i in range(len(entities))],
        )
        got = store.get_historical_features(entity_df, ["a:value", "b:value"], full_names=True)
        store.close()
    assert list(got.index) == list(entity_df.index)  # every entity row kept, in order
    assert list(got["apple_id"]) == [e[0] for e in entities]
    for i, (key, minute) in enumerate(entities):
        for view, source, pushes, ttl in (
            ("a", source_a, pushes_a, ttl_a),
            ("b", source_b, [], ttl_b),
        ):
            want = reference(source, pushes, key, minute, ttl)
            value = got[f"{view}__value"].iloc[i]
            if want is None:
                assert math.isnan(value), (view, i, key, minute, value)
            else:
                assert value == want, (view, i, key, minute, value, want)
