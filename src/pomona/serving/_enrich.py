"""Requests that carry entity keys, enriched with a feature service's online features.

A deployment with ``options.feature_service`` takes the service's join keys (and any model
input the service does not provide) instead of the model's feature columns; the server
reads the features from the online store in one call per request, off the event loop,
and checks them against the model's signature like any request value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from pomona.errors import InvalidInputError
from pomona.serving._inputs import Inputs, InputSpec, column_values

__all__ = ["FeatureHook", "FeatureLookup", "enrich", "request_spec"]


class FeatureLookup(Protocol):
    """A feature service's online features, as a deployment reads them (the client reads
    them with ``ws.features.get_online_features``)."""

    service: str
    feature_names: list[str]
    join_keys: tuple[tuple[str, str], ...]
    """``(name, dtype)`` of the keys requests carry (serving dtypes: int64, float64, ...)."""

    def online(self, rows: Sequence[Mapping[str, object]]) -> Mapping[str, Sequence[Any]]:
        """Each feature's online values for the entities ``rows``, by feature name (one
        read of the online store; ``None`` where an entity has no live value)."""
        ...


FeatureHook = Callable[[str], FeatureLookup]
"""Returns the lookup for a feature service of the workspace's feature store; raises
``NotFoundError`` when there is none (the client wires it to ``ws.features``)."""


def request_spec(spec: InputSpec, lookup: FeatureLookup) -> InputSpec:
    """What a request must carry: the join keys, then the model inputs the service lacks.

    Raises:
        InvalidInputError: the model takes a tensor or images, not named columns.
    """
    if spec.kind != "columns":
        raise InvalidInputError(
            f"Feature service '{lookup.service}' enriches models that take named columns; "
            f"this model takes {'images' if spec.is_image else 'a tensor'}.",
            hint="Remove the deployment's feature_service option (-o feature_service=).",
            details={"field": "options.feature_service"},
        )
    provided = set(lookup.feature_names)
    keys = [(name, dtype) for name, dtype in lookup.join_keys]
    names = {name for name, _ in keys}
    rest = [(n, d) for n, d in spec.columns if n not in provided and n not in names]
    return InputSpec("columns", columns=(*keys, *rest))


def enrich(spec: InputSpec, lookup: FeatureLookup, inputs: Inputs) -> Inputs:
    """``inputs`` (keys and extra inputs) with the model's feature columns filled in.

    Raises:
        InvalidInputError: an entity has no online value for a feature the model needs.
    """
    if spec.kind != "columns" or inputs.columns is None:
        return inputs
    columns = inputs.columns
    keys = [name for name, _ in lookup.join_keys]
    rows = [{k: _plain(columns[k][i]) for k in keys} for i in range(inputs.n)]
    found = lookup.online(rows)
    out = dict(columns)
    for name, dtype in spec.columns:
        if name in out:
            continue
        if name not in found:
            raise InvalidInputError(
                f"Feature service '{lookup.service}' no longer provides '{name}', "
                "which the model takes.",
                hint="Put the feature back in the service, or redeploy a model trained on it.",
                details={"field": name},
            )
        values = list(found[name])
        missing = next((i for i, v in enumerate(values) if v is None), None)
        if missing is not None:
            raise InvalidInputError(
                f"No online value of feature '{name}' (feature service '{lookup.service}') "
                f"for entity {rows[missing]} (record {missing}).",
                hint="Materialize or push the entity's features "
                "('pomona features materialize'), or check the key.",
                details={"field": name, "entity": rows[missing], "row": missing},
            )
        out[name] = column_values(name, dtype, values)
    return Inputs(inputs.n, columns=out, props=inputs.props)


def _plain(value: Any) -> object:
    """A numpy scalar as the Python value the feature store expects."""
    return value.item() if isinstance(value, np.generic) else value
