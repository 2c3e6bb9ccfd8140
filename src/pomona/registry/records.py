"""What the registry returns: models, versions, alias moves, gate reports, exports.

Each record converts to and from the JSON the REST API speaks (``to_json``/``from_json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pomona.registry.signature import Signature
from pomona.types import ArtifactInfo, Digest

__all__ = [
    "AliasMove",
    "GateReportInfo",
    "Lineage",
    "ModelVersion",
    "OnnxExport",
    "RegisteredModel",
]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _metrics_out(metrics: Mapping[str, float]) -> dict[str, float | None]:
    return {k: None if math.isnan(v) else v for k, v in metrics.items()}


def _metrics_in(data: Mapping[str, Any] | None) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in (data or {}).items()}


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a version came from, by id: the run, the pipeline run, the data, its parent."""

    run_id: str | None = None
    pipeline_run_id: str | None = None
    dataset_versions: tuple[str, ...] = ()
    parent_version: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "pipeline_run_id": self.pipeline_run_id,
            "dataset_versions": list(self.dataset_versions),
            "parent_version": self.parent_version,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Lineage:
        parent = data.get("parent_version")
        return cls(
            run_id=data.get("run_id"),
            pipeline_run_id=data.get("pipeline_run_id"),
            dataset_versions=tuple(str(d) for d in data.get("dataset_versions") or ()),
            parent_version=None if parent is None else int(parent),
        )


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """One registered version: its files (by digest), flavor, signature, metrics, lineage."""

    name: str
    version: int
    flavor: str
    files: tuple[ArtifactInfo, ...]
    signature: Signature
    created_at: datetime
    created_by: str
    metrics: dict[str, float] = field(default_factory=dict)
    lineage: Lineage = field(default_factory=Lineage)
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""
    card: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "flavor": self.flavor,
            "files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in self.files],
            "signature": self.signature.to_dict(),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "metrics": _metrics_out(self.metrics),
            "lineage": self.lineage.to_json(),
            "tags": dict(self.tags),
            "description": self.description,
            "card": self.card,
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelVersion:
        return cls(
            name=data["name"],
            version=int(data["version"]),
            flavor=data["flavor"],
            files=tuple(
                ArtifactInfo(f["path"], Digest(f["digest"]), int(f["size"])) for f in data["files"]
            ),
            signature=Signature.from_dict(data["signature"]),
            created_at=_time(data["created_at"]),
            created_by=data.get("created_by") or "",
            metrics=_metrics_in(data.get("metrics")),
            lineage=Lineage.from_json(data.get("lineage") or {}),
            tags=dict(data.get("tags") or {}),
            description=data.get("description") or "",
            card=data.get("card") or "",
            aliases=tuple(data.get("aliases") or ()),
        )


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    """A named model: its versions are numbered 1, 2, … in registration order."""

    name: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "description": self.description,
            "tags": dict(self.tags),
            "latest_version": self.latest_version,
            "aliases": dict(self.aliases),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegisteredModel:
        return cls(
            name=data["name"],
            created_at=_time(data["created_at"]),
            updated_at=_time(data["updated_at"]),
            description=data.get("description") or "",
            tags=dict(data.get("tags") or {}),
            latest_version=data.get("latest_version"),
            aliases={k: int(v) for k, v in (data.get("aliases") or {}).items()},
        )


@dataclass(frozen=True, slots=True)
class AliasMove:
    """One row of an alias's history: who moved it, when, why, from which version to which.

    ``to_version`` is ``None`` when the alias was removed; ``from_version`` when it was new.
    """

    name: str
    alias: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    moved_at: datetime
    forced: bool = False
    gate_report_digest: Digest | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "actor": self.actor,
            "reason": self.reason,
            "moved_at": self.moved_at.isoformat(),
            "forced": self.forced,
            "gate_report_digest": self.gate_report_digest,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AliasMove:
        digest = data.get("gate_report_digest")
        return cls(
            name=data["name"],
            alias=data["alias"],
            from_version=data.get("from_version"),
            to_version=data.get("to_version"),
            actor=data["actor"],
            reason=data["reason"],
            moved_at=_time(data["moved_at"]),
            forced=bool(data.get("forced")),
            gate_report_digest=Digest(digest) if digest else None,
        )


@dataclass(frozen=True, slots=True)
class GateReportInfo:
    """A stored gate report (a JSON artifact): for which version, which alias, its verdict."""

    name: str
    version: int
    target: str
    passed: bool
    digest: Digest
    actor: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "target": self.target,
            "passed": self.passed,
            "digest": self.digest,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GateReportInfo:
        return cls(
            name=data["name"],
            version=int(data["version"]),
            target=data["target"],
            passed=bool(data["passed"]),
            digest=Digest(data["digest"]),
            actor=data["actor"],
            created_at=_time(data["created_at"]),
        )


@dataclass(frozen=True, slots=True)
class OnnxExport:
    """A version exported to ONNX, with its parity check on the version's example input.

    Attributes:
        parity_max_abs_diff: the largest absolute difference between the native model's
            outputs and ONNX Runtime's on the example input, over every compared output.
        parity: that difference per output (``predictions``, ``probabilities``).
        outputs: signature output name -> the ONNX graph's output name.
    """

    name: str
    version: int
    digest: Digest
    size: int
    opset: int | None
    parity_max_abs_diff: float
    parity: dict[str, float]
    outputs: dict[str, str]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "digest": self.digest,
            "size": self.size,
            "opset": self.opset,
            "parity_max_abs_diff": self.parity_max_abs_diff,
            "parity": dict(self.parity),
            "outputs": dict(self.outputs),
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OnnxExport:
        return cls(
            name=data["name"],
            version=int(data["version"]),
            digest=Digest(data["digest"]),
            size=int(data["size"]),
            opset=data.get("opset"),
            parity_max_abs_diff=float(data["parity_max_abs_diff"]),
            parity={k: float(v) for k, v in (data.get("parity") or {}).items()},
            outputs=dict(data.get("outputs") or {}),
            created_at=_time(data["created_at"]),
        )
