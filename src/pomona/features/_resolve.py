"""Feature references resolved against the stored definitions: views bound to their keys."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pomona.errors import InvalidInputError, NotFoundError
from pomona.features.definitions import Entity, Feature, FeatureService, FeatureView

__all__ = ["BoundView", "Catalog", "Column", "bind_view", "expand_refs"]

T = TypeVar("T")


@dataclass(frozen=True)
class BoundView:
    """A feature view at a version, with the join keys of its entities."""

    view: FeatureView
    version: int
    keys: tuple[Feature, ...]

    @property
    def name(self) -> str:
        return self.view.name


@dataclass(frozen=True)
class Column:
    """One requested feature: its view, the feature, and the output column name."""

    view: BoundView
    feature: Feature
    output: str

    @property
    def ref(self) -> str:
        return f"{self.view.name}:{self.feature.name}"


def bind_view(view: FeatureView, version: int, entities: Mapping[str, Entity]) -> BoundView:
    """Bind a view to its entities' join keys; raises if an entity is unknown or keys clash."""
    keys: list[Feature] = []
    for name in view.entities:
        entity = entities.get(name)
        if entity is None:
            raise InvalidInputError(
                f"Feature view '{view.name}' names entity '{name}', which is not defined.",
                hint="Apply the entity together with the view, or fix the name.",
                details={"field": "entities", "view": view.name, "entity": name},
            )
        for key in entity.keys:
            if any(k.name == key.name for k in keys):
                raise InvalidInputError(
                    f"Feature view '{view.name}': join key '{key.name}' appears twice.",
                    details={"field": "entities", "view": view.name},
                )
            keys.append(key)
    clash = sorted({k.name for k in keys} & set(view.feature_names))
    if clash:
        raise InvalidInputError(
            f"Feature view '{view.name}': feature '{clash[0]}' has a join key's name.",
            details={"field": "features", "view": view.name},
        )
    return BoundView(view, version, tuple(keys))


@dataclass(frozen=True)
class Catalog:
    """The latest bound views and feature services, as one lookup for requests."""

    views: Mapping[str, BoundView]
    services: Mapping[str, FeatureService]
    _memo: dict[tuple[object, bool], list[Column]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _plans: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: object, build: Callable[[], T]) -> T:
        """``build()``, kept with this catalog under ``key`` (for up to 1024 keys)."""
        if key in self._plans:
            found: T = self._plans[key]
            return found
        value = build()
        if len(self._plans) < 1024:
            self._plans[key] = value
        return value

    def view(self, name: str) -> BoundView:
        bound = self.views.get(name)
        if bound is None:
            raise NotFoundError(
                f"No feature view is named '{name}'.",
                hint="Run 'pomona features list' to see the feature views.",
                details={"field": "features", "view": name},
            )
        return bound

    def columns(self, features: Sequence[str] | str, *, full_names: bool = False) -> list[Column]:
        """The requested features in order; a plain string names a feature service.

        Raises:
            NotFoundError: an unknown feature service, view or feature.
            InvalidInputError: a malformed reference, or two columns with one name.
        """
        memo_key = (features if isinstance(features, str) else tuple(features), full_names)
        cached = self._memo.get(memo_key)
        if cached is not None:  # serving asks for the same features again and again
            return list(cached)
        refs = self._refs(features)
        columns: list[Column] = []
        for ref in expand_refs(refs, self):
            view_name, _, feature_name = ref.partition(":")
            bound = self.view(view_name)
            feature = next((f for f in bound.view.schema if f.name == feature_name), None)
            if feature is None:
                raise NotFoundError(
                    f"Feature view '{view_name}' has no feature '{feature_name}'.",
                    hint=f"Its features are: {', '.join(bound.view.feature_names)}.",
                    details={"field": "features", "feature": ref},
                )
            output = f"{view_name}__{feature_name}" if full_names else feature_name
            columns.append(Column(bound, feature, output))
        counts = Counter(c.output for c in columns)
        dupes = sorted(o for o, n in counts.items() if n > 1)
        if dupes:
            raise InvalidInputError(
                f"Two requested features would both be named '{dupes[0]}'.",
                hint="Pass full_names=True to name columns 'view__feature', "
                "or request each feature once.",
                details={"field": "features", "column": dupes[0]},
            )
        if len(self._memo) < 1024:
            self._memo[memo_key] = list(columns)
        return columns

    def _refs(self, features: Sequence[str] | str) -> list[str]:
        if isinstance(features, str) and ":" not in features:
            service = self.services.get(features)
            if service is None:
                raise NotFoundError(
                    f"No feature service is named '{features}'.",
                    hint="Pass a list of 'view:feature' references, or apply the service.",
                    details={"field": "features", "service": features},
                )
            return list(service.features)
        refs = [features] if isinstance(features, str) else list(features)
        if not refs:
            raise InvalidInputError("No feature was requested.", details={"field": "features"})
        for ref in refs:
            if not isinstance(ref, str) or ref.count(":") != 1 or ref.startswith(":"):
                raise InvalidInputError(
                    f"{ref!r} is not a feature reference.",
                    hint="Write 'view:feature', or 'view:*' for every feature of a view.",
                    details={"field": "features"},
                )
        return refs


def expand_refs(refs: Sequence[str], catalog: Catalog) -> list[str]:
    """``view:*`` replaced by each feature of the view, in the view's order."""
    out: list[str] = []
    for ref in refs:
        view_name, _, feature_name = ref.partition(":")
        if feature_name == "*":
            out.extend(f"{view_name}:{f}" for f in catalog.view(view_name).view.feature_names)
        else:
            out.append(ref)
    return out
