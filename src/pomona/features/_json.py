"""The JSON form of feature store records, shared by the server and the remote client."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from pomona.features._codec import FeatureValue
from pomona.features.base import (
    AppliedObject,
    EntityInfo,
    FeatureServiceInfo,
    FeatureStats,
    FeatureViewInfo,
    MaterializeResult,
    PushResult,
    SnapshotInfo,
    TrainingDataset,
    ViewMaterialization,
)
from pomona.features.definitions import Entity, FeatureService, FeatureView, definition_from_spec
from pomona.types import Digest

__all__ = [
    "applied_from_json",
    "dt",
    "entity_from_json",
    "materialized_from_json",
    "push_from_json",
    "service_from_json",
    "to_json",
    "training_from_json",
    "value_from_json",
    "value_to_json",
    "view_from_json",
]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dt(text: str) -> datetime:
    moment = dt(text)
    assert moment is not None
    return moment


def value_to_json(value: FeatureValue) -> Any:
    return {"$ts": value.isoformat()} if isinstance(value, datetime) else value


def value_from_json(value: Any) -> FeatureValue:
    if isinstance(value, dict) and "$ts" in value:
        return datetime.fromisoformat(value["$ts"])
    result: FeatureValue = value
    return result


def to_json(record: Any) -> Any:
    """Any record of ``pomona.features.base`` as plain JSON (definitions as their spec)."""
    if isinstance(record, (Entity, FeatureView, FeatureService)):
        return record.to_spec()
    if isinstance(record, datetime):
        return _iso(record)
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: to_json(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, (list, tuple)):
        return [to_json(v) for v in record]
    if isinstance(record, dict):
        return {k: to_json(v) for k, v in record.items()}
    return record


def applied_from_json(data: dict[str, Any]) -> AppliedObject:
    return AppliedObject(data["kind"], data["name"], data["version"], data["status"])


def entity_from_json(data: dict[str, Any]) -> EntityInfo:
    entity = definition_from_spec(data["entity"])
    assert isinstance(entity, Entity)
    return EntityInfo(entity, data["version"], _dt(data["created_at"]), _dt(data["updated_at"]))


def _stats(data: dict[str, Any]) -> FeatureStats:
    fields = dict(data)
    if fields.get("dtype") == "timestamp":
        fields["min"], fields["max"] = dt(fields["min"]), dt(fields["max"])
    return FeatureStats(**fields)


def view_from_json(data: dict[str, Any]) -> FeatureViewInfo:
    view = definition_from_spec(data["view"])
    assert isinstance(view, FeatureView)
    snap = data.get("snapshot")
    snapshot = None
    if snap is not None:
        snapshot = SnapshotInfo(
            digest=Digest(snap["digest"]),
            num_rows=snap["num_rows"],
            dropped_rows=snap["dropped_rows"],
            entities=snap["entities"],
            min_event_at=dt(snap["min_event_at"]),
            max_event_at=dt(snap["max_event_at"]),
            created_at=_dt(snap["created_at"]),
            features=[_stats(s) for s in snap["features"]],
        )
    return FeatureViewInfo(
        view=view,
        version=data["version"],
        created_at=_dt(data["created_at"]),
        updated_at=_dt(data["updated_at"]),
        snapshot=snapshot,
        pushed_rows=data["pushed_rows"],
        materialized_until=dt(data["materialized_until"]),
    )


def service_from_json(data: dict[str, Any]) -> FeatureServiceInfo:
    service = definition_from_spec(data["service"])
    assert isinstance(service, FeatureService)
    return FeatureServiceInfo(
        service,
        data["version"],
        _dt(data["created_at"]),
        _dt(data["updated_at"]),
        list(data["features"]),
    )


def training_from_json(data: dict[str, Any]) -> TrainingDataset:
    return TrainingDataset(**{**data, "created_at": _dt(data["created_at"])})


def materialized_from_json(data: dict[str, Any]) -> MaterializeResult:
    return MaterializeResult(
        [
            ViewMaterialization(
                v["view"], _dt(v["start_at"]), _dt(v["end_at"]), v["entities"], v["written"]
            )
            for v in data["views"]
        ]
    )


def push_from_json(data: dict[str, Any]) -> PushResult:
    return PushResult(**data)
