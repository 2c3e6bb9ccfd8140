"""Feature definitions: entities, feature views, feature services, declared transformations.

Definitions are frozen values that validate on construction (``InvalidInputError`` names
the field) and round-trip through JSON with ``to_spec`` / ``definition_from_spec``.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any, TypeVar

from pomona.errors import InvalidInputError
from pomona.features.sources import Source, source_from_spec
from pomona.plugins import is_trusted_module, split_target

__all__ = [
    "POMONA_TRANSFORMATION_MODULES",
    "RESERVED_COLUMNS",
    "Definition",
    "Entity",
    "Feature",
    "FeatureService",
    "FeatureView",
    "Transformation",
    "ValueType",
    "check_name",
    "check_transformation_module",
    "definition_from_spec",
    "feature_transformation",
    "parse_ttl",
]

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_TTL_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
RESERVED_COLUMNS = frozenset({"_event_ts", "_created_ts", "_row", "_eid", "_pit_ts", "_rank"})
_MARK = "__pomona_transformation__"
POMONA_TRANSFORMATION_MODULES = ("pomona.features", "pomona.features._image_features")
"""Where Pomona's own transformations are named from (``pomona.features:image_features``)."""
F = TypeVar("F", bound=Callable[..., Any])


def _bad(message: str, field_: str, hint: str | None = None) -> InvalidInputError:
    return InvalidInputError(message, hint=hint, details={"field": field_})


def check_name(name: object, what: str) -> str:
    """``name`` if it is a valid identifier (letters, digits, ``_``; 128 at most), else raise."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or name in RESERVED_COLUMNS:
        raise _bad(
            f"{what.capitalize()} name {name!r} is not valid.",
            what.replace(" ", "_"),
            "Use letters, digits and underscores, starting with a letter (128 at most).",
        )
    return name


class ValueType(StrEnum):
    """The type of a feature or join key."""

    INT64 = "int64"
    FLOAT64 = "float64"
    STRING = "string"
    BOOL = "bool"
    TIMESTAMP = "timestamp"


def _value_type(value: object, where: str) -> ValueType:
    try:
        return ValueType(str(value).lower())
    except ValueError:
        known = ", ".join(t.value for t in ValueType)
        raise _bad(f"{where}: unknown type {value!r}.", where, f"Use one of: {known}.") from None


@dataclass(frozen=True)
class Feature:
    """One named, typed column of a feature view."""

    name: str
    dtype: ValueType = ValueType.FLOAT64
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "feature")
        object.__setattr__(self, "dtype", _value_type(self.dtype, f"feature '{self.name}'"))


def _fields(value: object, what: str) -> tuple[Feature, ...]:
    """Features from a mapping ``{name: type}``, or a list of ``Feature`` / dicts / names."""
    if isinstance(value, Mapping):
        items: list[Any] = [Feature(str(k), v) for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [
            v
            if isinstance(v, Feature)
            else Feature(**v)
            if isinstance(v, Mapping)
            else Feature(str(v))
            for v in value
        ]
    else:
        raise _bad(f"{what} must be a mapping of name to type or a list.", what)
    names = [f.name for f in items]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise _bad(f"{what} names {dupes[0]!r} more than once.", what)
    return tuple(items)


@dataclass(frozen=True)
class Entity:
    """A thing features describe, identified by its join keys, e.g. ``{"apple_id": "int64"}``."""

    name: str
    join_keys: tuple[Feature, ...] | Mapping[str, ValueType | str] | Sequence[Any]
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "entity")
        keys = _fields(self.join_keys, f"entity '{self.name}' join_keys")
        if not keys:
            raise _bad(f"Entity '{self.name}' needs at least one join key.", "join_keys")
        for key in keys:
            if key.dtype not in (ValueType.INT64, ValueType.STRING):
                raise _bad(
                    f"Join key '{key.name}' of entity '{self.name}' has type {key.dtype}.",
                    "join_keys",
                    "Join keys are int64 or string.",
                )
        object.__setattr__(self, "join_keys", keys)

    @property
    def keys(self) -> tuple[Feature, ...]:
        assert isinstance(self.join_keys, tuple)
        return self.join_keys

    def to_spec(self) -> dict[str, Any]:
        return {
            "kind": "entity",
            "name": self.name,
            "join_keys": {k.name: k.dtype.value for k in self.keys},
            "description": self.description,
        }


def feature_transformation(fn: F) -> F:
    """Mark a module-level function as a declared transformation a feature view may name.

    It is called as ``fn(batch, context, **params)`` with a ``pyarrow.RecordBatch`` of
    source rows and returns the feature columns (a mapping of name to values, or a batch)
    with as many rows.
    """
    setattr(fn, _MARK, True)
    return fn


@dataclass(frozen=True)
class Transformation:
    """A declared transformation: a function by import path (``module:function``) and
    JSON parameters. Only functions marked with ``@feature_transformation`` are run."""

    function: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        module, _, name = self.function.partition(":")
        if not module or not name or "<" in name or module == "__main__":
            raise _bad(
                f"Transformation '{self.function}' is not an import path.",
                "transformation.function",
                "Name a module-level function as 'package.module:function' "
                "(not a lambda, a nested function or one defined in __main__).",
            )
        import json

        try:
            params = json.loads(json.dumps(dict(self.params), sort_keys=True))
        except (TypeError, ValueError) as exc:
            raise _bad(
                f"Parameters of transformation '{self.function}' are not JSON: {exc}.",
                "transformation.params",
            ) from exc
        object.__setattr__(self, "params", params)

    @classmethod
    def of(cls, fn: Callable[..., Any], **params: Any) -> Transformation:
        """The transformation that calls ``fn`` (a marked module-level function)."""
        return cls(f"{fn.__module__}:{fn.__qualname__}", params)

    def load(self) -> Callable[..., Any]:
        """Import the function; raises ``InvalidInputError`` if missing or not declared.

        The function is read from its module's namespace under one name (no attribute walk
        into what the module imports) and must carry the ``@feature_transformation`` mark. A
        server checks the module against ``features.trusted_modules`` before it stores a
        view."""
        module_name, name = split_target(self.function, field="transformation.function")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise _bad(
                f"Transformation '{self.function}' cannot be imported: {exc}.",
                "transformation.function",
                "Install the package that defines it where features are ingested.",
            ) from exc
        target = vars(module).get(name)  # no attribute walk, no module __getattr__
        if not inspect.isfunction(target) or not getattr(target, _MARK, False):
            raise _bad(
                f"'{self.function}' is not a declared feature transformation.",
                "transformation.function",
                "Decorate it with @pomona.features.feature_transformation.",
            )
        fn: Callable[..., Any] = target
        return fn

    def to_spec(self) -> dict[str, Any]:
        return {"function": self.function, "params": dict(self.params)}


def check_transformation_module(declared: Transformation, trusted_modules: Sequence[str]) -> None:
    """Refuse a transformation whose module is not in ``trusted_modules``: what a server
    checks before it stores a view a client sent (ingesting imports the module).

    Raises:
        InvalidInputError: the module is not listed.
    """
    module = declared.function.partition(":")[0]
    if not is_trusted_module(module, (*POMONA_TRANSFORMATION_MODULES, *trusted_modules)):
        raise _bad(
            f"Transformation '{declared.function}' is in module '{module}', which this server "
            "does not import (importing a module runs its code).",
            "transformation.function",
            "Install the module on the server and add it to features.trusted_modules in the "
            "workspace's pomona.toml.",
        )


def parse_ttl(value: object) -> timedelta | None:
    """A TTL from a ``timedelta``, seconds, or text like ``'7d'``; ``None`` means no limit.

    Raises:
        InvalidInputError: negative, or not a duration.
    """
    if value is None:
        return None
    if isinstance(value, timedelta):
        ttl = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        ttl = timedelta(seconds=value)
    elif isinstance(value, str) and (m := _TTL_RE.match(value.strip().lower())):
        ttl = timedelta(seconds=float(m.group(1)) * _TTL_UNITS[m.group(2)])
    else:
        raise _bad(
            f"TTL {value!r} is not a duration.", "ttl", "Use seconds, or text like '7d' or '12h'."
        )
    if ttl < timedelta(0):
        raise _bad(f"TTL {value!r} is negative.", "ttl", "Use zero or more; None means no limit.")
    return ttl


@dataclass(frozen=True)
class FeatureView:
    """Features of one or more entities, read from a source with an event timestamp.

    Args:
        source: where rows come from (see ``pomona.features.sources``).
        entities: names of the entities whose join keys the source carries.
        timestamp_column: the event time of each row (a value is valid from then on).
        features: the feature columns and types (``{name: type}`` or ``Feature`` list).
        ttl: how long a value stays valid; ``None`` means forever, ``0`` only at its time.
        transformation: computes the feature columns from source rows at ingest.
        created_column: breaks ties between rows of equal key and time (latest wins).
    """

    name: str
    source: Source
    entities: tuple[str, ...] | Sequence[str]
    features: tuple[Feature, ...] | Mapping[str, ValueType | str] | Sequence[Any]
    timestamp_column: str = "event_timestamp"
    ttl: timedelta | None = None
    transformation: Transformation | None = None
    created_column: str | None = None
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name(self.name, "feature view")
        object.__setattr__(self, "source", source_from_spec(self.source))
        entities = (self.entities,) if isinstance(self.entities, str) else tuple(self.entities)
        if not entities:
            raise _bad(f"Feature view '{self.name}' names no entity.", "entities")
        object.__setattr__(self, "entities", tuple(check_name(e, "entity") for e in entities))
        object.__setattr__(
            self, "features", _fields(self.features, f"feature view '{self.name}' features")
        )
        if not self.features:
            raise _bad(f"Feature view '{self.name}' declares no feature.", "features")
        if not isinstance(self.timestamp_column, str) or not self.timestamp_column:
            raise _bad("timestamp_column must name a column.", "timestamp_column")
        object.__setattr__(self, "ttl", parse_ttl(self.ttl))
        if isinstance(self.transformation, Mapping):
            object.__setattr__(self, "transformation", Transformation(**self.transformation))
        object.__setattr__(self, "tags", {str(k): str(v) for k, v in dict(self.tags).items()})

    @property
    def schema(self) -> tuple[Feature, ...]:
        assert isinstance(self.features, tuple)
        return self.features

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.schema]

    def to_spec(self) -> dict[str, Any]:
        return {
            "kind": "feature_view",
            "name": self.name,
            "source": self.source.to_spec(),
            "entities": list(self.entities),
            "features": [
                {"name": f.name, "dtype": f.dtype.value, "description": f.description}
                for f in self.schema
            ],
            "timestamp_column": self.timestamp_column,
            "ttl_s": None if self.ttl is None else self.ttl.total_seconds(),
            "transformation": self.transformation.to_spec() if self.transformation else None,
            "created_column": self.created_column,
            "description": self.description,
            "tags": dict(self.tags),
        }


@dataclass(frozen=True)
class FeatureService:
    """A named, ordered set of features a model uses: ``view:feature`` or ``view:*``."""

    name: str
    features: tuple[str, ...] | Sequence[str]
    description: str = ""

    def __post_init__(self) -> None:
        check_name(self.name, "feature service")
        refs = (self.features,) if isinstance(self.features, str) else tuple(self.features)
        if not refs:
            raise _bad(f"Feature service '{self.name}' names no feature.", "features")
        for ref in refs:
            view, sep, feat = str(ref).partition(":")
            if not sep or not view or not feat:
                raise _bad(
                    f"'{ref}' is not a feature reference.",
                    "features",
                    "Write 'view:feature', or 'view:*' for every feature of a view.",
                )
        object.__setattr__(self, "features", tuple(str(r) for r in refs))

    def to_spec(self) -> dict[str, Any]:
        return {
            "kind": "feature_service",
            "name": self.name,
            "features": list(self.features),
            "description": self.description,
        }


Definition = Entity | FeatureView | FeatureService


def definition_from_spec(spec: Mapping[str, Any], kind: str | None = None) -> Definition:
    """A definition from its JSON/YAML form (``kind`` may come from the enclosing list).

    Raises:
        InvalidInputError: unknown kind, or a missing or invalid field.
    """
    data = dict(spec)
    kind = str(data.pop("kind", kind))
    name = data.get("name", "?")
    try:
        if kind == "entity":
            return Entity(**data)
        if kind == "feature_view":
            if "ttl_s" in data:
                data["ttl"] = data.pop("ttl_s")
            if isinstance(data.get("transformation"), Mapping):
                data["transformation"] = Transformation(**data["transformation"])
            return FeatureView(**data)
        if kind == "feature_service":
            return FeatureService(**data)
    except TypeError as exc:
        raise _bad(f"Invalid {kind} '{name}': {exc}.", kind) from exc
    raise _bad(
        f"Unknown definition kind '{kind}'.",
        "kind",
        "Use entity, feature_view or feature_service.",
    )
