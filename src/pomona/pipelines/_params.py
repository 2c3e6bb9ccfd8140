"""Pipeline parameters: from code, a YAML file, or ``--param key=value`` strings."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pomona.errors import InvalidInputError
from pomona.pipelines._types import describe, hints_of

__all__ = ["bind_params", "load_params_file", "parse_param_pairs"]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def parse_param_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``["n_trials=20", "source=photos/"]`` → ``{"n_trials": "20", "source": "photos/"}``."""
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"'{pair}' is not a parameter.",
                hint="Write parameters as --param key=value.",
                details={"field": "param"},
            )
        found[key.strip()] = value
    return found


def load_params_file(path: str | Path) -> dict[str, Any]:
    """A YAML (or JSON) file holding one mapping of parameter names to values."""
    import yaml  # type: ignore[import-untyped]

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidInputError(
            f"Cannot read the parameters file {path}: {exc.strerror or exc}.",
            details={"field": "params_file"},
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"The parameters file {path} is not valid YAML: {exc}.",
            details={"field": "params_file"},
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InvalidInputError(
            f"The parameters file {path} must hold a mapping of names to values.",
            hint="For example:\n  n_trials: 20\n  source: photos/",
            details={"field": "params_file"},
        )
    return data


def bind_params(pipeline: str, fn: Callable[..., Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Every parameter of the pipeline function: given values (converted) over defaults."""
    sig = inspect.signature(fn)
    hints = hints_of(fn)
    names = list(sig.parameters)
    for key in given:
        if key not in sig.parameters:
            raise InvalidInputError(
                f"Pipeline '{pipeline}' has no parameter '{key}'.",
                hint=f"Its parameters: {', '.join(names) or 'none'}.",
                details={"pipeline": pipeline, "parameter": key},
            )
    values: dict[str, Any] = {}
    for name, param in sig.parameters.items():
        if name in given:
            values[name] = _convert(pipeline, name, given[name], _hint(param, hints))
        elif param.default is not inspect.Parameter.empty:
            values[name] = param.default
        else:
            raise InvalidInputError(
                f"Pipeline '{pipeline}' needs parameter '{name}'.",
                hint=f"Pass it with --param {name}=VALUE or in the parameters file.",
                details={"pipeline": pipeline, "parameter": name},
            )
    return values


def _hint(param: inspect.Parameter, hints: Mapping[str, Any]) -> Any:
    """The declared type, else the default's type (``n: = 20`` takes ints)."""
    if param.name in hints:
        return hints[param.name]
    if param.default is inspect.Parameter.empty or param.default is None:
        return Any
    return type(param.default)


def _convert(pipeline: str, name: str, value: Any, tp: Any) -> Any:
    options = _members(tp)
    if not options:
        return value
    for option in options:
        ok, converted = _try(value, option)
        if ok:
            return converted
    raise InvalidInputError(
        f"Pipeline '{pipeline}' parameter '{name}' expects {describe(tp)}, got {value!r}.",
        details={"pipeline": pipeline, "parameter": name},
    )


def _members(tp: Any) -> list[type]:
    """The plain classes a hint allows (``int | None`` → int, NoneType); [] if unchecked."""
    args = typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, type(int | None)) else ()
    members = args or (tp,)
    plain = [typing.get_origin(m) or m for m in members]
    if not all(isinstance(m, type) for m in plain) or object in plain:
        return []
    ordered = sorted(plain, key=lambda m: m is str)  # try str last: "20" is an int first
    return ordered


def _try(value: Any, tp: type) -> tuple[bool, Any]:
    if tp is type(None):
        return (
            value is None or (isinstance(value, str) and value.lower() in ("none", "null"))
        ), None
    if not isinstance(value, str):
        if tp is float and isinstance(value, int) and not isinstance(value, bool):
            return True, float(value)
        if tp is int and isinstance(value, bool):
            return False, None
        return isinstance(value, tp), value
    if tp is str:
        return True, value
    if tp is bool:
        low = value.strip().lower()
        return (low in _TRUE | _FALSE), low in _TRUE
    if tp in (int, float):
        try:
            return True, tp(value)
        except ValueError:
            return False, None
    parsed = _parse_loose(value)
    return isinstance(parsed, tp), parsed


def _parse_loose(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        import yaml

        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
