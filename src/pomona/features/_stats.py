"""Per-feature statistics of a snapshot, computed by DuckDB in one scan."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.features._duck import ident, literal, translated
from pomona.features._resolve import BoundView
from pomona.features.base import FeatureStats
from pomona.features.definitions import ValueType

if TYPE_CHECKING:
    import duckdb

__all__ = ["compute_stats", "stats_from_json"]

_NUMERIC = (ValueType.INT64, ValueType.FLOAT64, ValueType.BOOL)


def _plain(value: Any) -> Any:
    """A JSON-safe value: timestamps as epoch ms, NaN and infinities as None."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def compute_stats(con: duckdb.DuckDBPyConnection, bound: BoundView, path: Path) -> dict[str, Any]:
    """``{"rows", "entities", "min_ms", "max_ms", "features": [{name, count, …}]}``."""
    keys = ", ".join(ident(k.name) for k in bound.keys)
    exprs = [
        "count(*)",
        f"approx_count_distinct(hash({keys}))",
        "epoch_ms(min(_event_ts))",
        "epoch_ms(max(_event_ts))",
    ]
    for feature in bound.view.schema:
        col = ident(feature.name)
        num = f"CAST({col} AS DOUBLE)" if feature.dtype in _NUMERIC else None
        low, high = f"min({col})", f"max({col})"
        if feature.dtype is ValueType.BOOL:
            low, high = f"min({num})", f"max({num})"
        elif feature.dtype is ValueType.TIMESTAMP:  # fetched as numbers: no pytz needed
            low, high = f"epoch_ms({low})", f"epoch_ms({high})"
        exprs += [
            f"count({col})",
            f"approx_count_distinct({col})",
            low,
            high,
            f"avg({num})" if num else "NULL",
            f"stddev_samp({num})" if num else "NULL",
        ]
    sql = f"SELECT {', '.join(exprs)} FROM read_parquet({literal(str(path))})"
    with translated(f"compute statistics of feature view '{bound.name}'"):
        [row] = con.execute(sql).fetchall()
    values = [_plain(v) for v in row]
    rows = int(values[0])
    features = []
    for i, feature in enumerate(bound.view.schema):
        count, distinct, low, high, mean, std = values[4 + 6 * i : 10 + 6 * i]
        features.append(
            {
                "name": feature.name,
                "dtype": feature.dtype.value,
                "count": int(count),
                "nulls": rows - int(count),
                "distinct": int(distinct),
                "min": low,
                "max": high,
                "mean": mean,
                "std": std,
            }
        )
    return {
        "rows": rows,
        "entities": int(values[1]) if rows else 0,
        "min_ms": values[2],
        "max_ms": values[3],
        "features": features,
    }


def stats_from_json(items: list[dict[str, Any]]) -> list[FeatureStats]:
    out = []
    for item in items:
        low, high = item.get("min"), item.get("max")
        if item.get("dtype") == ValueType.TIMESTAMP.value:
            low = None if low is None else datetime.fromtimestamp(low / 1000, tz=UTC)
            high = None if high is None else datetime.fromtimestamp(high / 1000, tz=UTC)
        out.append(
            FeatureStats(
                name=item["name"],
                dtype=item["dtype"],
                count=item["count"],
                nulls=item["nulls"],
                distinct=item["distinct"],
                min=low,
                max=high,
                mean=item.get("mean"),
                std=item.get("std"),
            )
        )
    return out
