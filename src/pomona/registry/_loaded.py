"""A model loaded from the registry: the native object plus its version and flavor."""

from __future__ import annotations

from pomona.registry.flavors.base import Array, Flavor
from pomona.registry.records import ModelVersion
from pomona.registry.signature import Signature

__all__ = ["LoadedModel"]


class LoadedModel:
    """A registered version, loaded and verified.

    Attributes:
        version: the version's record.
        model: the native model (a scikit-learn estimator, a torch module, …).
        flavor: the flavor that loaded it.
    """

    def __init__(self, version: ModelVersion, model: object, flavor: Flavor) -> None:
        self.version = version
        self.model = model
        self.flavor = flavor

    def __repr__(self) -> str:
        return f"LoadedModel({self.version.ref!r}, flavor={self.flavor.name!r})"

    @property
    def signature(self) -> Signature:
        return self.version.signature

    def predict(self, inputs: object) -> Array:
        """Predictions for a batch (labels for classifiers; a torch module's raw outputs)."""
        return self.flavor.predict(self.model, inputs)

    def predict_proba(self, inputs: object) -> Array:
        """Class probabilities for a batch, when the model gives them."""
        return self.flavor.predict_proba(self.model, inputs)

    def predict_with_proba(self, inputs: object) -> tuple[Array, Array | None]:
        """Predictions and class probabilities (``None`` when the model gives none), in one
        pass where the flavor can."""
        return self.flavor.predict_with_proba(self.model, inputs)

    @property
    def has_proba(self) -> bool:
        return self.flavor.has_proba(self.model)
