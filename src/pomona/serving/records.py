"""What serving stores and returns: deployments, their rollouts, decisions, feedback, log files.

Each converts to and from the JSON the REST API speaks (``to_json``/``from_json``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pomona.errors import InvalidInputError
from pomona.serving.strategies import Strategy, strategy_from_json
from pomona.types import Digest

__all__ = [
    "LOG_MODES",
    "VARIANTS",
    "Decision",
    "Deployment",
    "DeploymentOptions",
    "Feedback",
    "PredictionLogFile",
    "Rollout",
]

LOG_MODES = ("async", "sync", "off")
VARIANTS = ("primary", "canary", "shadow", "a", "b")
RUNTIMES = ("auto", "native", "onnx")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _int(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInputError(
            f"{name} must be an integer in [{low}, {high}], got {value!r}.",
            details={"field": f"options.{name}"},
        )
    return value


@dataclass(frozen=True, slots=True)
class DeploymentOptions:
    """How a deployment's models are run.

    Attributes:
        max_batch_size: most requests one model call takes (micro-batching).
        max_wait_ms: longest a request waits for others to join its batch, under load.
        max_queue: requests waiting per model beyond which the server answers 503.
        logging: ``async`` (default; a bounded loss window on a crash), ``sync`` (each
            answer waits for its log row to be stored, batched by group commit) or ``off``.
        runtime: ``auto`` (ONNX Runtime when the version has an export), ``native`` or ``onnx``.
        max_image_bytes: largest image upload.
        feature_service: a feature service of the workspace's feature store; requests
            then carry its entity keys and the server adds its online features.
    """

    max_batch_size: int = 64
    max_wait_ms: int = 2
    max_queue: int = 1024
    logging: str = "async"
    runtime: str = "auto"
    max_image_bytes: int = 10 * 1024 * 1024
    feature_service: str = ""

    def __post_init__(self) -> None:
        _int(self.max_batch_size, "max_batch_size", 1, 4096)
        _int(self.max_wait_ms, "max_wait_ms", 0, 1000)
        _int(self.max_queue, "max_queue", 1, 1_000_000)
        _int(self.max_image_bytes, "max_image_bytes", 1024, 256 * 1024 * 1024)
        if self.logging not in LOG_MODES:
            raise InvalidInputError(
                f"logging must be one of {', '.join(LOG_MODES)}, got {self.logging!r}.",
                details={"field": "options.logging"},
            )
        if not isinstance(self.feature_service, str) or len(self.feature_service) > 200:
            raise InvalidInputError(
                f"feature_service must be a feature service's name, got {self.feature_service!r}.",
                details={"field": "options.feature_service"},
            )
        if self.runtime not in RUNTIMES:
            raise InvalidInputError(
                f"runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}.",
                details={"field": "options.runtime"},
            )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "max_batch_size": self.max_batch_size,
            "max_wait_ms": self.max_wait_ms,
            "max_queue": self.max_queue,
            "logging": self.logging,
            "runtime": self.runtime,
            "max_image_bytes": self.max_image_bytes,
        }
        if self.feature_service:  # only when set: older policies read the same
            out["feature_service"] = self.feature_service
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> DeploymentOptions:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInputError(
                f"Unknown deployment options: {', '.join(sorted(unknown))}.",
                hint=f"Use: {', '.join(cls.__dataclass_fields__)}.",
                details={"field": "options"},
            )
        return cls(**data)

    def merged(self, changes: Mapping[str, Any] | None) -> DeploymentOptions:
        return DeploymentOptions.from_json({**self.to_json(), **dict(changes or {})})


@dataclass(frozen=True, slots=True)
class Rollout:
    """A challenger being rolled out next to the deployment's model.

    Attributes:
        rollout_id: names the rollout in the decisions table.
        challenger: the challenger's reference as given (``apples:4``, ``apples@challenger``).
        strategy: canary, shadow or A/B, with its criteria.
        step: index into the canary's steps (0 for shadow and A/B).
        state: ``running`` or ``paused``.
    """

    rollout_id: str
    challenger: str
    strategy: Strategy
    started_at: datetime
    step_started_at: datetime
    step: int = 0
    state: str = "running"

    @property
    def weight(self) -> int:
        """Percent of requests answered by the challenger (0 for shadow)."""
        from pomona.serving.strategies import ABTest, Canary

        if isinstance(self.strategy, Canary):
            return self.strategy.steps[min(self.step, len(self.strategy.steps) - 1)]
        if isinstance(self.strategy, ABTest):
            return int(self.strategy.split)
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            "rollout_id": self.rollout_id,
            "challenger": self.challenger,
            "strategy": self.strategy.to_json(),
            "started_at": self.started_at.isoformat(),
            "step_started_at": self.step_started_at.isoformat(),
            "step": self.step,
            "state": self.state,
            "weight": self.weight,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rollout:
        return cls(
            rollout_id=str(data["rollout_id"]),
            challenger=str(data["challenger"]),
            strategy=strategy_from_json(data["strategy"]),
            started_at=_time(data["started_at"]),
            step_started_at=_time(data["step_started_at"]),
            step=int(data.get("step", 0)),
            state=str(data.get("state", "running")),
        )

    def with_(self, **changes: Any) -> Rollout:
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Deployment:
    """A named endpoint serving a model reference, maybe with a challenger rolling out.

    ``revision`` grows with every change of the traffic policy; servers reload on it.
    ``served`` maps each variant to the version it resolved to when the record was read.
    """

    name: str
    model: str
    environment: str
    region: str
    revision: int
    created_at: datetime
    updated_at: datetime
    created_by: str
    description: str = ""
    options: DeploymentOptions = field(default_factory=DeploymentOptions)
    rollout: Rollout | None = None
    served: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model": self.model,
            "environment": self.environment,
            "region": self.region,
            "revision": self.revision,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "created_by": self.created_by,
            "description": self.description,
            "options": self.options.to_json(),
            "rollout": None if self.rollout is None else self.rollout.to_json(),
            "served": dict(self.served),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deployment:
        rollout = data.get("rollout")
        return cls(
            name=data["name"],
            model=data["model"],
            environment=data["environment"],
            region=data["region"],
            revision=int(data["revision"]),
            created_at=_time(data["created_at"]),
            updated_at=_time(data["updated_at"]),
            created_by=data.get("created_by") or "",
            description=data.get("description") or "",
            options=DeploymentOptions.from_json(data.get("options")),
            rollout=None if not rollout else Rollout.from_json(rollout),
            served=dict(data.get("served") or {}),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """One stored decision of a rollout, automatic or manual, with its evidence.

    ``action``: ``start``, ``advance``, ``hold``, ``promote``, ``rollback``, ``pause``,
    ``resume`` or ``set_model``.
    """

    deployment: str
    rollout_id: str
    action: str
    actor: str
    reason: str
    evidence: dict[str, Any]
    created_at: datetime
    from_weight: int | None = None
    to_weight: int | None = None
    champion: str | None = None
    challenger: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "rollout_id": self.rollout_id,
            "action": self.action,
            "actor": self.actor,
            "reason": self.reason,
            "evidence": self.evidence,
            "created_at": self.created_at.isoformat(),
            "from_weight": self.from_weight,
            "to_weight": self.to_weight,
            "champion": self.champion,
            "challenger": self.challenger,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        return cls(
            deployment=data["deployment"],
            rollout_id=data["rollout_id"],
            action=data["action"],
            actor=data["actor"],
            reason=data["reason"],
            evidence=dict(data.get("evidence") or {}),
            created_at=_time(data["created_at"]),
            from_weight=data.get("from_weight"),
            to_weight=data.get("to_weight"),
            champion=data.get("champion"),
            challenger=data.get("challenger"),
        )


@dataclass(frozen=True, slots=True)
class Feedback:
    """The true label of one prediction, by its request id."""

    request_id: str
    deployment: str
    label: str
    received_at: datetime
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "deployment": self.deployment,
            "label": self.label,
            "received_at": self.received_at.isoformat(),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Feedback:
        return cls(
            request_id=data["request_id"],
            deployment=data["deployment"],
            label=data["label"],
            received_at=_time(data["received_at"]),
            source=data["source"],
        )


@dataclass(frozen=True, slots=True)
class PredictionLogFile:
    """One Parquet file of prediction logs in the artifact store (see docs/serving.md)."""

    deployment: str
    model_name: str
    model_version: int
    variant: str
    hour_ms: int
    digest: Digest
    rows: int
    min_ts_ms: int
    max_ts_ms: int
    created_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "model_name": self.model_name,
            "model_version": self.model_version,
            "variant": self.variant,
            "hour_ms": self.hour_ms,
            "digest": self.digest,
            "rows": self.rows,
            "min_ts_ms": self.min_ts_ms,
            "max_ts_ms": self.max_ts_ms,
            "created_ms": self.created_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PredictionLogFile:
        return cls(
            deployment=data["deployment"],
            model_name=data["model_name"],
            model_version=int(data["model_version"]),
            variant=data["variant"],
            hour_ms=int(data["hour_ms"]),
            digest=Digest(data["digest"]),
            rows=int(data["rows"]),
            min_ts_ms=int(data["min_ts_ms"]),
            max_ts_ms=int(data["max_ts_ms"]),
            created_ms=int(data["created_ms"]),
        )
