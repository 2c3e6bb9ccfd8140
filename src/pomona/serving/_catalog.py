"""Rows of the serving tables <-> records; checks on names and labels."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Connection, Row, select

from pomona._utils.clock import from_ms
from pomona.errors import InvalidInputError
from pomona.metadata.schema import deployments
from pomona.serving.errors import DeploymentNotFoundError
from pomona.serving.records import (
    Decision,
    Deployment,
    DeploymentOptions,
    PredictionLogFile,
    Rollout,
)
from pomona.types import Digest

__all__ = [
    "check_label",
    "check_name",
    "check_place",
    "check_request_id",
    "decision_from_row",
    "deployment_from_row",
    "deployment_row",
    "log_file_from_row",
    "policy_json",
]

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
_PLACE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_REQUEST_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
MAX_LABEL = 1000


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInputError(
            f"{name!r} is not a deployment name: use up to 128 letters, digits, '_', '-' or "
            "'.', starting with a letter or digit.",
            details={"field": "name"},
        )
    return name


def check_place(value: object, field: str) -> str:
    if not isinstance(value, str) or not _PLACE_RE.match(value):
        raise InvalidInputError(
            f"{value!r} is not a valid {field}: use up to 64 letters, digits, '_', '-' or '.'.",
            details={"field": field},
        )
    return value


def check_request_id(value: object) -> str:
    if not isinstance(value, str) or not _REQUEST_RE.match(value):
        raise InvalidInputError(
            f"{value!r} is not a request id (up to 128 letters, digits, '_', '-', '.', ':').",
            hint="Use the request_id a prediction answered with.",
            details={"field": "request_id"},
        )
    return value


def check_label(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInputError(
            f"A label is a string or a number, got {value!r}.", details={"field": "label"}
        )
    text = str(value)
    if not text or len(text) > MAX_LABEL:
        raise InvalidInputError(
            f"A label has 1 to {MAX_LABEL} characters.", details={"field": "label"}
        )
    return text


def policy_json(model: str, options: DeploymentOptions, rollout: Rollout | None) -> str:
    body = {
        "model": model,
        "options": options.to_json(),
        "rollout": None if rollout is None else rollout.to_json(),
    }
    return json.dumps(body, sort_keys=True)


def deployment_from_row(row: Row[Any], served: dict[str, str] | None = None) -> Deployment:
    policy = json.loads(row.policy)
    created, updated = from_ms(row.created_ms), from_ms(row.updated_ms)
    assert created is not None and updated is not None
    rollout = policy.get("rollout")
    return Deployment(
        name=row.name,
        model=policy["model"],
        environment=row.environment,
        region=row.region,
        revision=int(row.revision),
        created_at=created,
        updated_at=updated,
        created_by=row.created_by,
        description=row.description,
        options=DeploymentOptions.from_json(policy.get("options")),
        rollout=None if not rollout else Rollout.from_json(rollout),
        served=dict(served or {}),
    )


def deployment_row(conn: Connection, name: str, *, lock: bool = False) -> Row[Any]:
    stmt = select(deployments).where(deployments.c.name == name)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise DeploymentNotFoundError(name)
    return row


def decision_from_row(name: str, row: Row[Any]) -> Decision:
    created = from_ms(row.created_ms)
    assert created is not None
    return Decision(
        deployment=name,
        rollout_id=row.rollout_id,
        action=row.action,
        actor=row.actor,
        reason=row.reason,
        evidence=json.loads(row.evidence),
        created_at=created,
        from_weight=row.from_weight,
        to_weight=row.to_weight,
        champion=row.champion,
        challenger=row.challenger,
    )


def log_file_from_row(row: Row[Any]) -> PredictionLogFile:
    return PredictionLogFile(
        deployment=row.deployment,
        model_name=row.model_name,
        model_version=int(row.model_version),
        variant=row.variant,
        hour_ms=int(row.hour_ms),
        digest=Digest(row.digest),
        rows=int(row.rows),
        min_ts_ms=int(row.min_ts_ms),
        max_ts_ms=int(row.max_ts_ms),
        created_ms=int(row.created_ms),
    )
