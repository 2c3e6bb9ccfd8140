"""Checks on what callers pass to the registry; both transports run them before any write."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pomona.errors import InvalidInputError
from pomona.types import ModelVersionRef

__all__ = [
    "check_actor",
    "check_alias",
    "check_file_path",
    "check_limit",
    "check_metrics",
    "check_name",
    "check_reason",
    "check_strings",
    "check_tags",
    "parse_ref",
]

MAX_PAGE = 1000
_PATH_RE = re.compile(r"^[\w.\-]+(/[\w.\-]+)*$")
RESERVED_ALIASES = frozenset({"latest"})


def parse_ref(ref: str | ModelVersionRef) -> ModelVersionRef:
    """``apples``, ``apples:3`` or ``apples@champion`` as a ``ModelVersionRef``."""
    try:
        if isinstance(ref, ModelVersionRef):
            ref.check()
            return ref
        return ModelVersionRef.parse(ref)
    except ValueError as exc:
        raise InvalidInputError(
            str(exc),
            hint="Name a version as 'name:3', 'name@alias' or 'name' (the latest).",
            details={"field": "ref"},
        ) from exc


def check_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInputError(
            f"A model name must be a string, got {name!r}.", details={"field": "name"}
        )
    return parse_ref(ModelVersionRef(name)).name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or alias in RESERVED_ALIASES:
        raise InvalidInputError(
            f"{alias!r} cannot be an alias ('latest' always means the newest version).",
            details={"field": "alias"},
        )
    try:
        ModelVersionRef("x", alias=alias).check()
    except ValueError as exc:
        raise InvalidInputError(str(exc), details={"field": "alias"}) from exc
    return alias


def check_reason(reason: object, *, required: bool = True) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if required and not text:
        raise InvalidInputError(
            "Say why the alias moves: reason must be a non-empty string.",
            hint="Pass reason='…' (CLI: --reason '…'); it is kept in the alias history.",
            details={"field": "reason"},
        )
    if len(text) > 2000:
        raise InvalidInputError(
            "The reason is longer than 2000 characters.", details={"field": "reason"}
        )
    return text


def check_actor(actor: object, default: str) -> str:
    text = actor.strip() if isinstance(actor, str) else ""
    if actor is not None and not text:
        raise InvalidInputError("actor must be a non-empty string.", details={"field": "actor"})
    text = text or default
    if len(text) > 250:
        raise InvalidInputError("actor is longer than 250 characters.", details={"field": "actor"})
    return text


def check_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        if not isinstance(key, str) or not key or len(key) > 250:
            raise InvalidInputError(
                f"Metric key {key!r} is not a short string.", details={"field": "metrics"}
            )
        if isinstance(value, bool) or (
            not isinstance(value, int | float) and not hasattr(value, "__float__")
        ):
            raise InvalidInputError(
                f"Metric '{key}' must be a number, got {value!r}.",
                details={"field": f"metrics.{key}"},
            )
        number = float(value)
        if math.isinf(number):
            raise InvalidInputError(
                f"Metric '{key}' is infinite.", details={"field": f"metrics.{key}"}
            )
        out[key] = number
    return out


def check_tags(tags: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not key or len(key) > 250:
            raise InvalidInputError(
                f"Tag key {key!r} is not a short string.", details={"field": "tags"}
            )
        text = value if isinstance(value, str) else str(value)
        if len(text) > 8000:
            raise InvalidInputError(
                f"Tag '{key}' is longer than 8000 characters.", details={"field": f"tags.{key}"}
            )
        out[key] = text
    return out


def check_strings(values: Sequence[Any], field: str, *, max_length: int = 250) -> tuple[str, ...]:
    out = []
    for value in values:
        text = str(value)
        if not text or len(text) > max_length:
            raise InvalidInputError(
                f"{field} holds {text!r}: each must be 1 to {max_length} characters.",
                details={"field": field},
            )
        out.append(text)
    return tuple(out)


def check_file_path(path: object) -> str:
    if not isinstance(path, str) or not _PATH_RE.match(path) or ".." in path.split("/"):
        raise InvalidInputError(
            f"{path!r} is not a model file path (letters, digits, '_', '-', '.', '/').",
            details={"field": "files"},
        )
    return path


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInputError(
            f"limit must be between 1 and {MAX_PAGE}, got {limit}.", details={"field": "limit"}
        )
    return limit
