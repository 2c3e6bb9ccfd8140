"""Between Arrow batches and the online store: encode latest rows, read feature vectors."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson

from pomona.features._codec import FeatureValue, check_key_value, decode_value, encode_key
from pomona.features._resolve import BoundView, Column
from pomona.features.definitions import Feature, ValueType
from pomona.features.online.base import OnlineKey, OnlineRecord, OnlineStore

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

__all__ = ["encode_records", "read_features"]


def _millis(column: pa.ChunkedArray | pa.Array) -> list[int | None]:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
    return [None if v is None else v // 1000 for v in micros]


def encode_records(bound: BoundView, batch: pa.RecordBatch) -> list[OnlineRecord]:
    """One record per row (keys, ``_event_ts``, features) of a latest-value batch."""
    keys = [batch.column(k.name).to_pylist() for k in bound.keys]
    stamps = _millis(batch.column("_event_ts"))
    names = bound.view.feature_names
    values = []
    for feature in bound.view.schema:
        column = batch.column(feature.name)
        values.append(
            _millis(column) if feature.dtype is ValueType.TIMESTAMP else column.to_pylist()
        )
    out = []
    dumps = orjson.dumps
    for i, stamp in enumerate(stamps):
        payload = dumps(dict(zip(names, (v[i] for v in values), strict=True)))
        key = encode_key([k[i] for k in keys])
        out.append(OnlineRecord(bound.name, key, int(stamp or 0), payload))
    return out


def _entity_keys(
    views: Sequence[BoundView], entity_columns: dict[str, list[object]]
) -> tuple[dict[str, Feature], int]:
    """The join keys the views need (checked present) and the number of entity rows."""
    from pomona.errors import InvalidInputError

    needed: dict[str, Feature] = {}
    for bound in views:
        for key in bound.keys:
            needed.setdefault(key.name, key)
            if key.name not in entity_columns:
                raise InvalidInputError(
                    f"The entity rows have no key '{key.name}' (needed by '{bound.name}').",
                    hint=f"Pass '{key.name}' with each entity.",
                    details={"field": key.name},
                )
    rows = len(next(iter(entity_columns.values()))) if entity_columns else 0
    return needed, rows


def read_features(
    store: OnlineStore,
    columns: Sequence[Column],
    entity_columns: dict[str, list[object]],
    at_ms: int,
    *,
    with_keys: bool = True,
) -> dict[str, list[FeatureValue]]:
    """The requested feature columns (after the entity key columns if ``with_keys``).

    A value is ``None`` when none is stored, it is newer than ``at_ms``, or older than
    the view's TTL at ``at_ms``. All keys go to the store in one ``read``.
    """
    views = list({c.view.name: c.view for c in columns}.values())
    needed, n = _entity_keys(views, entity_columns)
    checked = {
        name: [check_key_value(v, key, i) for i, v in enumerate(entity_columns[name])]
        for name, key in needed.items()
    }
    wanted: list[OnlineKey] = []
    for i in range(n):
        for bound in views:
            wanted.append((bound.name, encode_key([checked[k.name][i] for k in bound.keys])))
    records = store.read(wanted)
    payloads = _valid_payloads(records, views, at_ms)
    out: dict[str, list[FeatureValue]] = {}
    if with_keys:
        for name in needed:
            out[name] = list(checked[name])
    by_view: dict[str, list[Column]] = {}
    for column in columns:
        by_view.setdefault(column.view.name, []).append(column)
    values: dict[str, list[FeatureValue]] = {}
    for j, bound in enumerate(views):
        wanted_columns = by_view[bound.name]
        names = [c.feature.name for c in wanted_columns]
        table = _transpose(payloads[j :: len(views)], names)
        for column, cells in zip(wanted_columns, table, strict=True):
            if column.feature.dtype is ValueType.TIMESTAMP:  # stored as epoch ms
                cells = [decode_value(v, ValueType.TIMESTAMP) for v in cells]
            values[column.output] = cells
    for column in columns:  # in the order asked for
        out[column.output] = values[column.output]
    return out


def _transpose(payloads: list[dict[str, Any] | None], names: list[str]) -> list[list[Any]]:
    """Columns ``names`` of the payloads (``None`` where a payload or a key is missing)."""
    getter = itemgetter(*names)
    single = len(names) == 1
    empty = (None,) * len(names)
    rows = []
    for payload in payloads:
        if payload is None:
            rows.append(empty)
            continue
        try:
            got = getter(payload)
        except KeyError:  # stored before the view gained a feature
            got = tuple(payload.get(n) for n in names) if not single else payload.get(names[0])
        rows.append((got,) if single else got)
    if not rows:
        return [[] for _ in names]
    return [list(col) for col in zip(*rows, strict=True)]


def _valid_payloads(
    records: Sequence[OnlineRecord | None], views: Sequence[BoundView], at_ms: int
) -> list[dict[str, Any] | None]:
    ttl_ms = [
        None if b.view.ttl is None else b.view.ttl // timedelta(milliseconds=1) for b in views
    ]
    out: list[dict[str, Any] | None] = []
    loads = orjson.loads
    for index, record in enumerate(records):
        ttl = ttl_ms[index % len(views)]
        if (
            record is None
            or record.event_ms > at_ms
            or (ttl is not None and at_ms - record.event_ms > ttl)
        ):
            out.append(None)
        else:
            out.append(loads(record.payload))
    return out
