"""Definitions from a Python module file or a YAML file."""

from __future__ import annotations

import runpy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pomona.errors import InvalidInputError
from pomona.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    definition_from_spec,
)

__all__ = ["load_definitions"]

_SECTIONS = {
    "entities": "entity",
    "feature_views": "feature_view",
    "feature_services": "feature_service",
}


def load_definitions(path: str | Path) -> list[Definition]:
    """Every entity, feature view and feature service a ``.py`` or ``.yaml`` file declares.

    A Python file is run and its module-level definitions (also inside lists) collected.
    In YAML, relative file paths are read from the YAML file's folder.

    Raises:
        InvalidInputError: the file is missing, of another kind, or declares nothing.
    """
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise InvalidInputError(f"No definitions file at {file}.", details={"field": "path"})
    suffix = file.suffix.lower()
    if suffix == ".py":
        found = _from_python(file)
    elif suffix in (".yaml", ".yml"):
        found = _from_yaml(file)
    else:
        raise InvalidInputError(
            f"{file.name} is neither a Python nor a YAML file.",
            hint="Declare features in a .py or a .yaml file.",
            details={"field": "path"},
        )
    if not found:
        raise InvalidInputError(
            f"{file.name} declares no entity, feature view or feature service.",
            details={"field": "path"},
        )
    return found


def _from_python(file: Path) -> list[Definition]:
    try:
        namespace = runpy.run_path(str(file), run_name="pomona_features_definitions")
    except InvalidInputError:
        raise
    except Exception as exc:
        raise InvalidInputError(
            f"Running {file.name} failed: {type(exc).__name__}: {exc}.",
            details={"field": "path"},
        ) from exc
    found: list[Definition] = []
    for value in namespace.values():
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            if isinstance(item, (Entity, FeatureView, FeatureService)) and item not in found:
                found.append(item)
    return found


def _from_yaml(file: Path) -> list[Definition]:
    import yaml  # type: ignore[import-untyped,unused-ignore]

    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{file.name} is not valid YAML: {exc}.") from exc
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"{file.name} must map 'entities', 'feature_views' and 'feature_services' to lists."
        )
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise InvalidInputError(
            f"{file.name} has an unknown section '{unknown[0]}'.",
            hint="Sections: entities, feature_views, feature_services.",
            details={"field": unknown[0]},
        )
    found: list[Definition] = []
    for section, kind in _SECTIONS.items():
        for spec in _items(data.get(section) or [], section):
            found.append(definition_from_spec(_anchored(spec, file.parent), kind))
    return found


def _anchored(spec: Mapping[str, Any], folder: Path) -> Mapping[str, Any]:
    """The spec with a relative file source path made relative to ``folder``."""
    source = spec.get("source")
    if not isinstance(source, Mapping) or not isinstance(source.get("path"), str):
        return spec
    path = Path(source["path"]).expanduser()
    if path.is_absolute():
        return spec
    return {**spec, "source": {**source, "path": str(folder / path)}}


def _items(value: Any, section: str) -> Sequence[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise InvalidInputError(
            f"Section '{section}' must be a list of mappings.", details={"field": section}
        )
    return value
