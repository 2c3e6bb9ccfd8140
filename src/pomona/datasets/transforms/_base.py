"""The ``Transform`` contract: configuration in ``__init__``, learned state in ``fit``, JSON out.

A transform is saved as ``{"transform": name, "format": 1, "params": {...}, "state": {...}}``
(plain JSON, never pickle) and ``load_transform`` rebuilds an identical object, so the
object fitted in training is exactly what serving applies. The name is looked up in a table
of the ``Transform`` subclasses defined in this process (Pomona's, which keep their names
against any later class) and whatever code the process itself runs: nothing is ever
imported by name.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self, TypeVar

from pomona.errors import InvalidInputError

__all__ = ["Chain", "Transform", "load_transform"]

D = TypeVar("D")
_FORMAT = 1
_REGISTRY: dict[str, type[Transform]] = {}


class Transform(ABC):
    """A declared data transform: ``fit(data)`` returns ``self``, ``transform(data)`` applies it.

    ``transform`` takes a batch or a single record (a mapping for tables, one array for
    images) and gives back the same kind. Subclasses list their constructor arguments in
    ``params`` and keep learned state in attributes ending in ``_``.
    """

    name: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    stateful: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if not name:
            return
        known = _REGISTRY.get(name)  # the first class keeps its name (Pomona's, imported first)
        if known is None or (known.__module__, known.__qualname__) == (
            cls.__module__,
            cls.__qualname__,
        ):  # a module reloaded
            _REGISTRY[name] = cls

    @abstractmethod
    def fit(self, data: object) -> Self:
        """Learns the transform's state from ``data``; returns ``self``."""

    @abstractmethod
    def transform(self, data: D) -> D:
        """Applies the transform to a batch or one record."""

    def fit_transform(self, data: D) -> D:
        """``fit(data)`` then ``transform(data)``."""
        return self.fit(data).transform(data)

    @property
    def is_fitted(self) -> bool:
        """Whether ``transform`` can run (stateless transforms always can)."""
        return not self.stateful or self._state() is not None

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, JSON-able."""
        return {p: _jsonable(getattr(self, p)) for p in self.params}

    def _state(self) -> dict[str, Any] | None:
        """The learned state, JSON-able (None before ``fit``)."""
        return None

    def _load_state(self, state: Mapping[str, Any]) -> None:
        """Restores the state written by ``_state`` (stateless transforms have none)."""
        if state:
            raise InvalidInputError(f"{type(self).__name__} keeps no fitted state.")

    def _require_fitted(self) -> None:
        if not self.is_fitted:
            raise InvalidInputError(
                f"{self!r} is not fitted.",
                hint="Call fit(data) first, or load a fitted transform with load_transform().",
            )

    def to_dict(self) -> dict[str, Any]:
        """Name, parameters and fitted state as a JSON-able dict."""
        return {
            "transform": self.name,
            "format": _FORMAT,
            "params": self.get_params(),
            "state": self._state(),
        }

    def to_json(self) -> bytes:
        """``to_dict()`` as UTF-8 JSON bytes."""
        return json.dumps(self.to_dict(), allow_nan=False, sort_keys=True).encode()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if k != "steps")
        return f"{type(self).__name__}({args})"


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Transform):
        return value.to_dict()
    if hasattr(value, "item"):
        return value.item()
    return value


def load_transform(data: Mapping[str, Any] | bytes | str) -> Transform:
    """Rebuilds a transform from ``to_dict()`` or ``to_json()`` output, fitted state included."""
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidInputError(f"A saved transform is not valid JSON: {exc}.") from exc
    if not isinstance(data, Mapping) or "transform" not in data:
        raise InvalidInputError(
            "Not a saved transform: expected a mapping with a 'transform' name.",
            hint="Pass the output of Transform.to_dict() or Transform.to_json().",
        )
    cls = _REGISTRY.get(str(data["transform"]))
    if cls is None:
        raise InvalidInputError(
            f"Unknown transform '{data['transform']}'.",
            hint=f"Known transforms: {', '.join(sorted(_REGISTRY))}.",
            details={"field": "transform"},
        )
    if int(data.get("format", _FORMAT)) != _FORMAT:
        raise InvalidInputError(
            f"Transform format {data.get('format')} is not supported (expected {_FORMAT}).",
            hint="Save it again with this version of Pomona.",
        )
    params = data.get("params") or {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise InvalidInputError(
            f"The parameters of {cls.name} must be an object.",
            details={"field": "transform.params"},
        )
    try:
        transform = cls(**dict(params))
    except TypeError as exc:
        raise InvalidInputError(
            f"Bad parameters for {cls.name}: {exc}.", details={"field": "transform.params"}
        ) from exc
    if data.get("state") is not None:
        transform._load_state(data["state"])
    return transform


class Chain(Transform):
    """Transforms applied one after the other; fitting fits each on the previous output."""

    name = "Chain"
    params = ("steps",)

    def __init__(self, steps: Sequence[Transform | Mapping[str, Any]]) -> None:
        self.steps = [s if isinstance(s, Transform) else load_transform(s) for s in steps]
        if not self.steps:
            raise InvalidInputError("A Chain needs at least one step.", details={"field": "steps"})

    @property
    def is_fitted(self) -> bool:
        return all(step.is_fitted for step in self.steps)

    def fit(self, data: object) -> Self:
        for step in self.steps[:-1]:
            data = step.fit(data).transform(data)
        self.steps[-1].fit(data)
        return self

    def transform(self, data: D) -> D:
        self._require_fitted()
        for step in self.steps:
            data = step.transform(data)
        return data

    def __repr__(self) -> str:
        return f"Chain([{', '.join(repr(s) for s in self.steps)}])"
