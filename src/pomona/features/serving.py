"""Request enrichment for deployments: entity keys in, the model's feature vector out.

A deployment that declares a feature service builds one ``FeatureEnricher`` at start-up
and calls ``vectors`` (or ``enrich``) per request. Feature order is the service's order,
the same order ``save_training_dataset(name, entity_df, service)`` gives the columns a
model is trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from pomona.errors import InvalidInputError
from pomona.features._codec import FeatureValue
from pomona.features.base import EntityRows, FeatureServiceInfo

__all__ = ["FeatureEnricher", "OnlineFeatures"]


class OnlineFeatures(Protocol):
    """What enrichment needs of a feature store (embedded or remote)."""

    def get_feature_service(self, name: str) -> FeatureServiceInfo: ...

    def get_feature_vectors(
        self, service: str, entity_rows: EntityRows, *, at: datetime | None = None
    ) -> list[list[FeatureValue]]: ...


class FeatureEnricher:
    """Enriches requests that carry entity keys with a feature service's online features.

    Args:
        features: ``ws.features`` (embedded or remote).
        service: the feature service the model was trained with.
    Raises:
        NotFoundError: no such feature service.
    """

    def __init__(self, features: OnlineFeatures, service: str) -> None:
        self._features = features
        self.service = service
        info = features.get_feature_service(service)
        self.feature_refs: list[str] = list(info.features)
        self.feature_names: list[str] = [ref.partition(":")[2] for ref in info.features]

    def vectors(
        self, rows: Sequence[Mapping[str, object]], *, at: datetime | None = None
    ) -> list[list[FeatureValue]]:
        """One feature vector per request row, in ``feature_names`` order (one store read).

        Raises:
            InvalidInputError: a row lacks a join key or has one of the wrong type.
        """
        if not rows:
            return []
        keys = self._keys(rows)
        return self._features.get_feature_vectors(self.service, keys, at=at)

    def enrich(
        self, rows: Sequence[Mapping[str, object]], *, at: datetime | None = None
    ) -> list[dict[str, object]]:
        """Each request row with the service's features added (request values win)."""
        vectors = self.vectors(rows, at=at)
        out = []
        for row, vector in zip(rows, vectors, strict=True):
            merged: dict[str, object] = dict(zip(self.feature_names, vector, strict=True))
            merged.update(row)
            out.append(merged)
        return out

    def _keys(self, rows: Sequence[Mapping[str, object]]) -> list[dict[str, object]]:
        """Rows cut down to the keys they share (extra request fields are not keys)."""
        names = set(rows[0])
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise InvalidInputError(
                    f"Request row {i} is not a mapping of names to values.",
                    details={"field": "rows", "row": i},
                )
            names &= set(row)
        return [{k: row[k] for k in names if k not in self.feature_names} for row in rows]
