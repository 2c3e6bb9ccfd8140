"""Checks on what users log: keys, values, artifact paths. Both transports run them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

from pomona.errors import InvalidInputError

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_NAME_LENGTH",
    "MAX_PARAM_LENGTH",
    "MAX_TAG_LENGTH",
    "check_artifact_path",
    "check_key",
    "check_metric_value",
    "check_name",
    "check_step",
    "check_text_map",
]

MAX_KEY_LENGTH = 250
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
MAX_NAME_LENGTH = 250
_KEY_RE = re.compile(r"^[\w\-. /:]+$")


def check_key(key: object, kind: str) -> str:
    """A metric/param/tag key: non-empty, at most 250 characters of ``[A-Za-z0-9_-. /:]``."""
    if not isinstance(key, str) or not key:
        raise InvalidInputError(
            f"A {kind} key must be a non-empty string, got {key!r}.", details={"field": kind}
        )
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInputError(
            f"The {kind} key '{key[:40]}…' is {len(key)} characters long; "
            f"the limit is {MAX_KEY_LENGTH}.",
            hint="Use a shorter key.",
            details={"field": kind, "key": key[:MAX_KEY_LENGTH]},
        )
    if not _KEY_RE.match(key) or key.startswith("/") or ".." in key.split("/"):
        raise InvalidInputError(
            f"The {kind} key '{key}' contains characters that are not allowed.",
            hint="Use letters, digits, and _ - . / : or spaces.",
            details={"field": kind, "key": key},
        )
    return key


def check_metric_value(key: str, value: object) -> float:
    """A metric value: an int or float (NaN and infinities allowed); never a bool or str."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        # numpy scalars expose __float__ and are real numbers
        if hasattr(value, "dtype") and hasattr(value, "__float__"):
            return float(value)
        raise InvalidInputError(
            f"Metric '{key}' got the value {value!r} ({type(value).__name__}); "
            "metric values must be numbers.",
            hint="Log numbers as metrics and text as params or tags.",
            details={"field": f"metrics.{key}"},
        )
    return float(value)


def check_step(key: str, step: object) -> int:
    if isinstance(step, bool) or not isinstance(step, int) or not -(2**62) < step < 2**62:
        raise InvalidInputError(
            f"Metric '{key}' got the step {step!r}; steps must be integers.",
            details={"field": f"metrics.{key}.step"},
        )
    return step


def check_text_map(values: Mapping[str, Any], kind: str, limit: int) -> dict[str, str]:
    """Params or tags: keys checked, values converted to strings of bounded length."""
    out: dict[str, str] = {}
    for key, value in values.items():
        check_key(key, kind)
        text = value if isinstance(value, str) else _to_text(value)
        if len(text) > limit:
            raise InvalidInputError(
                f"The {kind} '{key}' has a value of {len(text)} characters; the limit is {limit}.",
                hint="Log long values as an artifact instead.",
                details={"field": f"{kind}s.{key}"},
            )
        out[key] = text
    return out


def _to_text(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return repr(value)
    return str(value)


def check_artifact_path(path: object) -> str:
    """A relative POSIX path inside the run: no ``..``, no absolute path, no backslash."""
    if not isinstance(path, str) or not path.strip():
        raise InvalidInputError(
            "An artifact path must be a non-empty string.", details={"field": "path"}
        )
    pure = PurePosixPath(path)
    if (
        pure.is_absolute()
        or "\\" in path
        or ":" in pure.parts[0]
        or any(part in ("..", ".") for part in path.split("/"))
        or "" in path.split("/")
    ):
        raise InvalidInputError(
            f"The artifact path '{path}' is not a plain relative path inside the run.",
            hint="Use a relative path such as 'model/model.skops' (no '..', no leading '/').",
            details={"field": "path", "path": path},
        )
    if len(path) > 1000:
        raise InvalidInputError(
            "An artifact path may have at most 1000 characters.", details={"field": "path"}
        )
    return path


def check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"A {what} must be a non-empty string of at most {MAX_NAME_LENGTH} characters, "
            f"got {name!r}.",
            details={"field": what},
        )
    return name
