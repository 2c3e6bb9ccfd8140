"""JSON shapes of the datasets objects, shared by the server and the remote client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from pomona.datasets import _quality
from pomona.datasets._model import (
    DatasetInfo,
    DatasetSplit,
    DatasetVersion,
    Lineage,
    Record,
    SplitParams,
)
from pomona.types import DatasetRef, Digest, Page, RunId

__all__ = [
    "info_from_json",
    "info_to_json",
    "page_from_json",
    "page_to_json",
    "record_from_json",
    "record_to_json",
    "split_from_json",
    "split_to_json",
    "version_from_json",
    "version_to_json",
]


def version_to_json(v: DatasetVersion) -> dict[str, Any]:
    lin = v.lineage
    return {
        "name": v.name,
        "version": v.version,
        "ref": str(v),
        "kind": v.kind,
        "created_at": v.created_at.isoformat(),
        "manifest_digest": v.manifest_digest,
        "num_records": v.num_records,
        "num_quarantined": v.num_quarantined,
        "num_new": v.num_new,
        "size_bytes": v.size_bytes,
        "passed": v.passed,
        "label_counts": dict(v.label_counts),
        "schema": dict(v.schema),
        "description": v.description,
        "lineage": {
            "operation": lin.operation,
            "parent": str(lin.parent) if lin.parent else None,
            "source": lin.source,
            "run_id": lin.run_id,
            "transform": lin.transform,
            "transform_params": dict(lin.transform_params),
            "transform_digest": lin.transform_digest,
        },
        "report": v.report.to_dict() if v.report is not None else None,
    }


def version_from_json(data: Mapping[str, Any]) -> DatasetVersion:
    lin = data["lineage"]
    parent = None
    if lin.get("parent"):
        name, _, number = str(lin["parent"]).rpartition(":")
        parent = DatasetRef(name, int(number))
    version = DatasetVersion(
        name=data["name"],
        version=int(data["version"]),
        kind=data["kind"],
        created_at=datetime.fromisoformat(data["created_at"]),
        manifest_digest=Digest(data["manifest_digest"]),
        num_records=int(data["num_records"]),
        num_quarantined=int(data["num_quarantined"]),
        num_new=int(data["num_new"]),
        size_bytes=int(data["size_bytes"]),
        passed=bool(data["passed"]),
        label_counts=dict(data["label_counts"]),
        schema=dict(data["schema"]),
        description=data.get("description"),
        lineage=Lineage(
            operation=lin["operation"],
            parent=parent,
            source=lin.get("source"),
            run_id=RunId(lin["run_id"]) if lin.get("run_id") else None,
            transform=lin.get("transform"),
            transform_params=dict(lin.get("transform_params") or {}),
            transform_digest=Digest(lin["transform_digest"])
            if lin.get("transform_digest")
            else None,
        ),
    )
    report = data.get("report")
    return replace(version, report=_quality.report_from_dict(report)) if report else version


def info_to_json(info: DatasetInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "kind": info.kind,
        "created_at": info.created_at.isoformat(),
        "latest_version": info.latest_version,
        "num_versions": info.num_versions,
    }


def info_from_json(data: Mapping[str, Any]) -> DatasetInfo:
    return DatasetInfo(
        name=data["name"],
        kind=data["kind"],
        created_at=datetime.fromisoformat(data["created_at"]),
        latest_version=int(data["latest_version"]),
        num_versions=int(data["num_versions"]),
    )


def split_to_json(split: DatasetSplit) -> dict[str, Any]:
    p = split.params
    return {
        "name": split.name,
        "version": split.version,
        "split_id": split.split_id,
        "params": {
            "test": p.test,
            "val": p.val,
            "stratify": p.stratify,
            "seed": p.seed,
            "near_duplicates": p.near_duplicates,
        },
        "counts": {k: dict(v) for k, v in split.counts.items()},
        "sizes": split.sizes,
        "assignment_digest": split.assignment_digest,
        "created_at": split.created_at.isoformat(),
    }


def split_from_json(data: Mapping[str, Any]) -> DatasetSplit:
    return DatasetSplit(
        name=data["name"],
        version=int(data["version"]),
        split_id=data["split_id"],
        params=SplitParams(**data["params"]),
        counts={k: dict(v) for k, v in data["counts"].items()},
        assignment_digest=Digest(data["assignment_digest"]),
        created_at=datetime.fromisoformat(data["created_at"]),
    )


def record_to_json(r: Record) -> dict[str, Any]:
    return {
        "record_id": r.record_id,
        "label": r.label,
        "digest": r.digest,
        "size": r.size,
        "reasons": list(r.reasons),
        "attributes": dict(r.attributes),
    }


def record_from_json(data: Mapping[str, Any]) -> Record:
    return Record(
        record_id=data["record_id"],
        label=data.get("label"),
        digest=Digest(data["digest"]) if data.get("digest") else None,
        size=int(data.get("size") or 0),
        reasons=tuple(data.get("reasons") or ()),
        attributes=dict(data.get("attributes") or {}),
    )


def page_to_json(page: Page[Any], item: Any) -> dict[str, Any]:
    return {
        "items": [item(x) for x in page.items],
        "next_page_token": page.next_page_token,
        "total": page.total,
    }


def page_from_json(data: Mapping[str, Any], item: Any) -> Page[Any]:
    return Page(
        items=[item(x) for x in data["items"]],
        next_page_token=data.get("next_page_token"),
        total=data.get("total"),
    )
