"""How step outputs become artifacts: a materializer per type, pickle only on request.

Built in: ``bytes``, ``json`` (None, bools, numbers, strings, lists, dicts), ``npy`` (numpy
arrays and scalars, never object arrays), ``parquet`` (pandas DataFrames). Other types —
models, say — plug in with ``register_materializer`` or the ``pomona.materializers``
entry-point group; ``pickle`` is used only for steps declared ``@step(pickle=True)``.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar

from pomona.errors import InvalidInputError

__all__ = [
    "SMALL_BYTES",
    "BytesMaterializer",
    "JsonMaterializer",
    "Materializer",
    "NumpyMaterializer",
    "ParquetMaterializer",
    "PickleMaterializer",
    "get_materializer",
    "materializer_for",
    "register_materializer",
    "type_name",
]


SMALL_BYTES = 4 * 1024 * 1024
"""Artifacts up to this size move through memory instead of temporary files."""


def type_name(value: Any) -> str:
    """``pandas.core.frame.DataFrame``, ``builtins.dict`` …"""
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


class Materializer(ABC):
    """Writes values of some types to a file and reads them back, byte-for-byte stable:
    the same value always gives the same bytes, so caching and lineage work by digest."""

    name: ClassVar[str]

    @abstractmethod
    def can_save(self, value: Any) -> bool:
        """Whether this materializer stores ``value``."""

    @abstractmethod
    def save(self, value: Any, path: Path) -> None:
        """Write ``value`` to ``path``."""

    @abstractmethod
    def load(self, path: Path) -> Any:
        """Read the value written by ``save``."""

    def to_bytes(self, value: Any) -> bytes | None:
        """The bytes ``save`` would write, for small values kept in memory; ``None`` when
        this materializer only writes files."""
        return None

    def from_bytes(self, data: bytes) -> Any:
        """Read a value from bytes (small artifacts); ``NotImplemented`` if files only."""
        return NotImplemented


class BytesMaterializer(Materializer):
    name: ClassVar[str] = "bytes"

    def can_save(self, value: Any) -> bool:
        return isinstance(value, (bytes, bytearray, memoryview))

    def save(self, value: Any, path: Path) -> None:
        path.write_bytes(bytes(value))

    def load(self, path: Path) -> Any:
        return path.read_bytes()

    def to_bytes(self, value: Any) -> bytes | None:
        return bytes(value)

    def from_bytes(self, data: bytes) -> Any:
        return data


_JSON_SCALARS = (str, int, float, bool, type(None))


def _is_json(value: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if isinstance(value, _JSON_SCALARS):
        return type(value) in _JSON_SCALARS  # not numpy scalars, enums …
    if type(value) is list:
        return all(_is_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(isinstance(k, str) and _is_json(v, depth + 1) for k, v in value.items())
    return False


class JsonMaterializer(Materializer):
    name: ClassVar[str] = "json"

    def can_save(self, value: Any) -> bool:
        return _is_json(value)

    def save(self, value: Any, path: Path) -> None:
        path.write_bytes(self.to_bytes(value))

    def load(self, path: Path) -> Any:
        return json.loads(path.read_bytes())

    def to_bytes(self, value: Any) -> bytes:
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()

    def from_bytes(self, data: bytes) -> Any:
        return json.loads(data)


class NumpyMaterializer(Materializer):
    name: ClassVar[str] = "npy"

    def can_save(self, value: Any) -> bool:
        import numpy as np

        if isinstance(value, np.generic):
            return value.dtype != object
        return isinstance(value, np.ndarray) and value.dtype != object

    def save(self, value: Any, path: Path) -> None:
        import numpy as np

        with path.open("wb") as fh:
            np.save(fh, np.asarray(value), allow_pickle=False)

    def load(self, path: Path) -> Any:
        import numpy as np

        arr = np.load(path, allow_pickle=False)
        return arr[()] if arr.ndim == 0 else arr

    def to_bytes(self, value: Any) -> bytes | None:
        import io

        import numpy as np

        if np.asarray(value).nbytes > SMALL_BYTES:
            return None
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        return buffer.getvalue()

    def from_bytes(self, data: bytes) -> Any:
        import io

        import numpy as np

        arr = np.load(io.BytesIO(data), allow_pickle=False)
        return arr[()] if arr.ndim == 0 else arr


class ParquetMaterializer(Materializer):
    name: ClassVar[str] = "parquet"

    def can_save(self, value: Any) -> bool:
        return type_name(value) == "pandas.DataFrame" or (
            type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas")
        )

    def save(self, value: Any, path: Path) -> None:
        value.to_parquet(path, engine="pyarrow", compression="zstd")

    def load(self, path: Path) -> Any:
        import pandas as pd  # type: ignore[import-untyped]

        return pd.read_parquet(path, engine="pyarrow")


class PickleMaterializer(Materializer):
    """Any picklable value. Used only for steps declared ``@step(pickle=True)``; the bytes
    come from this workspace's own store and are verified by digest before loading."""

    name: ClassVar[str] = "pickle"

    def can_save(self, value: Any) -> bool:
        return True

    def save(self, value: Any, path: Path) -> None:
        import pickle

        with path.open("wb") as fh:
            pickle.dump(value, fh, protocol=5)

    def load(self, path: Path) -> Any:
        import pickle

        with path.open("rb") as fh:
            return pickle.load(fh)


_lock = threading.Lock()
_registry: list[Materializer] = [
    BytesMaterializer(),
    JsonMaterializer(),
    NumpyMaterializer(),
    ParquetMaterializer(),
]
_PICKLE = PickleMaterializer()
_plugins_loaded = False


def register_materializer(materializer: Materializer) -> None:
    """Add a materializer; it is tried before the built-ins (so it can override them).

    Raises:
        InvalidInputError: another materializer already has its name.
    """
    with _lock:
        if any(m.name == materializer.name for m in [*_registry, _PICKLE]):
            raise InvalidInputError(
                f"A materializer named '{materializer.name}' is already registered.",
                details={"materializer": materializer.name},
            )
        _registry.insert(0, materializer)


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="pomona.materializers"):
        cls = ep.load()
        if not any(m.name == cls.name for m in _registry):
            _registry.insert(0, cls())


def materializer_for(value: Any, *, step: str, allow_pickle: bool) -> Materializer:
    """The first materializer that stores ``value`` (pickle last, and only if allowed).

    Raises:
        InvalidInputError: nothing stores it; names the step and the type.
    """
    for attempt in range(2):
        if attempt:  # entry points are slow to scan: only when no registered one fits
            _load_plugins()
        for m in list(_registry):
            if m.can_save(value):
                return m
    if allow_pickle:
        return _PICKLE
    raise InvalidInputError(
        f"Step '{step}' returned a {type_name(value)}, which no materializer stores.",
        hint="Return DataFrames, numpy arrays, JSON values or bytes; register a materializer "
        "(pomona.pipelines.register_materializer); or opt in with @step(pickle=True).",
        details={"step": step, "type": type_name(value)},
    )


def get_materializer(name: str) -> Materializer:
    """The materializer called ``name`` (``InvalidInputError`` if unknown)."""
    if name == _PICKLE.name:
        return _PICKLE
    for attempt in range(2):
        if attempt:
            _load_plugins()
        for m in list(_registry):
            if m.name == name:
                return m
    raise InvalidInputError(
        f"No materializer named '{name}' is registered in this process.",
        hint="Import the module that registers it before loading this artifact.",
        details={"materializer": name},
    )
