"""The flavor interface: how one kind of model is saved, loaded, run and exported."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from pomona.errors import ConfigError, InvalidInputError
from pomona.registry.errors import ExportNotSupportedError
from pomona.registry.signature import Signature

__all__ = ["Array", "Flavor", "OnnxModel", "mro_roots", "require"]

Array = np.ndarray[Any, Any]


class OnnxModel:
    """An ONNX model produced by a flavor, with the names of what its outputs mean."""

    def __init__(self, data: bytes, outputs: Mapping[str, str], opset: int | None) -> None:
        self.data = data
        self.outputs = dict(outputs)
        """Signature output name (``predictions``/``probabilities``) -> ONNX output name."""
        self.opset = opset


def mro_roots(model: object) -> set[str]:
    """Top-level packages of the classes ``model`` is an instance of (no import needed)."""
    return {cls.__module__.split(".")[0] for cls in type(model).__mro__}


def require(module: str, extra: str) -> ModuleType:
    """Import an optional dependency or say which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"'{module}' is needed for this model but is not installed.",
            hint=f"Install it with: pip install 'pomona[{extra}]'.",
            details={"module": module, "extra": extra},
        ) from exc


class Flavor(ABC):
    """Saves, loads, runs and exports one kind of model, with safe formats only.

    Flavors are stateless; the registry keeps one instance of each.
    """

    name: ClassVar[str]
    extra: ClassVar[str] = ""
    """The pip extra that installs the flavor's library (named in import errors)."""
    files: ClassVar[tuple[str, ...]] = ()
    """The files every version of this flavor holds (checked before one is recorded)."""

    @abstractmethod
    def handles(self, model: object) -> bool:
        """Whether this flavor saves ``model`` (decided without importing heavy libraries)."""

    @abstractmethod
    def save(self, model: object, folder: Path, options: Mapping[str, Any]) -> list[str]:
        """Write the model's files into ``folder``; returns their names."""

    @abstractmethod
    def load(
        self,
        folder: Path,
        *,
        trust: bool = False,
        device: str | None = None,
        trusted_modules: Sequence[str] = (),
    ) -> object:
        """Rebuild the model from ``folder``.

        Args:
            trust: import any module the files name (an embedded caller's choice).
            trusted_modules: modules whose classes may be imported besides the flavor's
                own allow-list (``registry.trusted_modules``).
        Raises:
            UntrustedModelError: loading would run code outside the allow-list and
                ``trust`` is false.
        """

    def check_files(
        self,
        names: Collection[str],
        fetch: Callable[[str], Path],
        *,
        trusted_modules: Sequence[str] = (),
    ) -> None:
        """Refuse files that would make ``load`` import code outside the allow-list, without
        loading them (a server runs this on a client's version before recording it).

        Args:
            names: the version's file names.
            fetch: one of them, copied to a local path.
        Raises:
            UntrustedModelError: the files name code outside the allow-list.
            InvalidInputError: a file the flavor needs is missing or malformed.
        """
        missing = [name for name in self.files if name not in names]
        if missing:
            raise InvalidInputError(
                f"A {self.name} model needs the files {' and '.join(self.files)} "
                f"({', '.join(missing)} is missing).",
                details={"field": "files"},
            )

    @abstractmethod
    def predict(self, model: object, inputs: object) -> Array:
        """The model's predictions for a batch, as a numpy array."""

    def has_proba(self, model: object) -> bool:
        """Whether ``predict_proba`` gives class probabilities for this model."""
        return False

    def predict_proba(self, model: object, inputs: object) -> Array:
        """Class probabilities for a batch (rows sum to 1)."""
        raise InvalidInputError(
            f"A {self.name} model of type {type(model).__name__} gives no probabilities.",
            hint="Call predict() instead.",
        )

    def predict_with_proba(self, model: object, inputs: object) -> tuple[Array, Array | None]:
        """Predictions and, when the model gives them, class probabilities; a flavor that
        can compute both in one pass over the model overrides this."""
        raw = self.predict(model, inputs)
        return raw, self.predict_proba(model, inputs) if self.has_proba(model) else None

    def to_onnx(self, model: object, signature: Signature, example: object) -> OnnxModel:
        """Convert to ONNX.

        Raises:
            ExportNotSupportedError: this flavor or this model cannot be converted.
        """
        raise ExportNotSupportedError(
            f"{self.name} models cannot be exported to ONNX by Pomona.",
            details={"flavor": self.name},
        )
