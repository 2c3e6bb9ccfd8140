"""Between Arrow batches and the online store: encode latest rows, read feature vectors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
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

__all__ = ["Layouts", "ReadPlan", "encode_records", "read_features", "read_plan"]


def _millis(column: pa.ChunkedArray | pa.Array) -> list[int | None]:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

    micros = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
    return [None if v is None else v // 1000 for v in micros]


Layouts = Callable[[str, int], Sequence[str]]
"""The feature names of a view at a version, in the order its payloads hold them."""


def encode_records(bound: BoundView, batch: pa.RecordBatch) -> list[OnlineRecord]:
    """One record per row (keys, ``_event_ts``, features) of a latest-value batch.

    A payload is a JSON array: the view's version, then the values in the order of that
    version's features (about twice as fast to decode as an object with names).
    """
    keys = [batch.column(k.name).to_pylist() for k in bound.keys]
    stamps = _millis(batch.column("_event_ts"))
    values = []
    for feature in bound.view.schema:
        column = batch.column(feature.name)
        values.append(
            _millis(column) if feature.dtype is ValueType.TIMESTAMP else column.to_pylist()
        )
    out = []
    dumps = orjson.dumps
    version = bound.version
    for i, stamp in enumerate(stamps):
        payload = dumps([version, *(v[i] for v in values)])
        key = encode_key([k[i] for k in keys])
        out.append(OnlineRecord(bound.name, key, int(stamp or 0), payload))
    return out


@dataclass(frozen=True)
class _ViewPlan:
    name: str
    version: int
    keys: tuple[str, ...]
    ttl_ms: int | None
    names: tuple[str, ...]
    """The requested features of the view."""
    positions: tuple[int, ...]
    """Where they are in a payload written by this version."""
    times: tuple[bool, ...]
    """Which of them are timestamps (stored as epoch ms)."""


@dataclass(frozen=True)
class ReadPlan:
    """What an online read of some columns needs, worked out once per catalog."""

    keys: dict[str, Feature]
    views: tuple[_ViewPlan, ...]
    outputs: tuple[tuple[int, int], ...]
    """Per output column, in the order asked for: (view index, feature index)."""
    names: tuple[str, ...]


def read_plan(columns: Sequence[Column]) -> ReadPlan:
    """The views, keys and output order of ``columns``."""
    views = list({c.view.name: c.view for c in columns}.values())
    keys: dict[str, Feature] = {}
    for bound in views:
        for key in bound.keys:
            keys.setdefault(key.name, key)
    wanted: dict[str, list[Column]] = {b.name: [] for b in views}
    for column in columns:
        bucket = wanted[column.view.name]
        if all(c.feature.name != column.feature.name for c in bucket):
            bucket.append(column)
    plans = []
    for bound in views:
        ttl = bound.view.ttl
        feats = [c.feature for c in wanted[bound.name]]
        names = tuple(f.name for f in feats)
        plans.append(
            _ViewPlan(
                bound.name,
                bound.version,
                tuple(k.name for k in bound.keys),
                None if ttl is None else ttl // timedelta(milliseconds=1),
                names,
                _positions(bound.view.feature_names, names),
                tuple(f.dtype is ValueType.TIMESTAMP for f in feats),
            )
        )
    index = {b.name: i for i, b in enumerate(views)}
    outputs = []
    for column in columns:
        v = index[column.view.name]
        outputs.append((v, plans[v].names.index(column.feature.name)))
    return ReadPlan(keys, tuple(plans), tuple(outputs), tuple(c.output for c in columns))


def _positions(stored: Sequence[str], names: Sequence[str]) -> tuple[int, ...]:
    """Indexes of ``names`` in a payload holding ``stored`` after the version (0: absent)."""
    where = {name: i + 1 for i, name in enumerate(stored)}
    return tuple(where.get(name, 0) for name in names)


def _checked_keys(plan: ReadPlan, entity_columns: dict[str, list[object]]) -> dict[str, list[Any]]:
    """Each join key's values, type-checked; ``InvalidInputError`` if one is missing."""
    from pomona.errors import InvalidInputError

    checked: dict[str, list[Any]] = {}
    for name, key in plan.keys.items():
        values = entity_columns.get(name)
        if values is None:
            raise InvalidInputError(
                f"The entity rows have no key '{name}' (needed by the requested features).",
                hint=f"Pass '{name}' with each entity.",
                details={"field": name},
            )
        checked[name] = [check_key_value(v, key, i) for i, v in enumerate(values)]
    return checked


def _encoded_keys(plan: ReadPlan, checked: dict[str, list[Any]], n: int) -> list[OnlineKey]:
    """The store keys of every (entity row, view), row by row; views sharing join keys
    share their encoding."""
    by_keys: dict[tuple[str, ...], list[str]] = {}
    for view in plan.views:
        if view.keys not in by_keys:
            columns = [checked[k] for k in view.keys]
            by_keys[view.keys] = [encode_key([c[i] for c in columns]) for i in range(n)]
    per_view = [(view.name, by_keys[view.keys]) for view in plan.views]
    return [(name, encoded[i]) for i in range(n) for name, encoded in per_view]


def read_features(
    store: OnlineStore,
    plan: ReadPlan,
    entity_columns: dict[str, list[object]],
    at_ms: int,
    layouts: Layouts,
    *,
    with_keys: bool = True,
) -> dict[str, list[FeatureValue]]:
    """The requested feature columns (after the entity key columns if ``with_keys``).

    A value is ``None`` when none is stored, it is newer than ``at_ms``, or older than
    the view's TTL at ``at_ms``. All keys go to the store in one ``read``; ``layouts``
    names the features of payloads an older version of a view wrote.
    """
    checked = _checked_keys(plan, entity_columns)
    n = len(next(iter(entity_columns.values()))) if entity_columns else 0
    records = store.read(_encoded_keys(plan, checked, n))
    step = len(plan.views)
    per_view = [
        _view_columns(v, records[j::step], at_ms, layouts) for j, v in enumerate(plan.views)
    ]
    out: dict[str, list[FeatureValue]] = dict(checked) if with_keys else {}
    for name, (v, f) in zip(plan.names, plan.outputs, strict=True):
        out[name] = per_view[v][f]
    return out


def _view_columns(
    view: _ViewPlan, records: Sequence[OnlineRecord | None], at_ms: int, layouts: Layouts
) -> list[list[FeatureValue]]:
    """One list per requested feature of ``view``: the values of ``records`` still valid at
    ``at_ms`` (``None`` where missing, from the future, or past the TTL)."""
    ttl = view.ttl_ms
    valid = [
        r is not None and r.event_ms <= at_ms and (ttl is None or at_ms - r.event_ms <= ttl)
        for r in records
    ]
    blobs = [r.payload for r, ok in zip(records, valid, strict=True) if ok and r is not None]
    docs: list[Any] = orjson.loads(b"[" + b",".join(blobs) + b"]") if blobs else []
    empty = (None,) * len(view.names)
    single = len(view.names) == 1
    fast = view.positions if 0 not in view.positions else None
    getter = itemgetter(*fast) if fast else None
    rows: list[Any] = []
    found = iter(docs)
    for ok in valid:
        if not ok:
            rows.append(empty)
            continue
        doc = next(found)
        if getter is not None and type(doc) is list and doc[0] == view.version:
            got = getter(doc)
            rows.append((got,) if single else got)
        else:
            rows.append(_other_layout(doc, view, layouts))
    if not rows:
        return [[] for _ in view.names]
    columns: list[list[FeatureValue]] = [list(c) for c in zip(*rows, strict=True)]
    for i, is_time in enumerate(view.times):
        if is_time:
            columns[i] = [decode_value(v, ValueType.TIMESTAMP) for v in columns[i]]
    return columns


def _other_layout(doc: Any, view: _ViewPlan, layouts: Layouts) -> tuple[Any, ...]:
    """Values from a payload another version of the view wrote (an array led by its
    version), or an object by feature name; features it lacks are ``None``."""
    if isinstance(doc, dict):
        return tuple(doc.get(name) for name in view.names)
    positions = _positions(layouts(view.name, int(doc[0])), view.names)
    return tuple(doc[p] if 0 < p < len(doc) else None for p in positions)
