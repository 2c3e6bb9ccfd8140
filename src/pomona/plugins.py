"""Backend lookup: built-ins by name, then entry points, then a ``module:Class`` path."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from pomona.errors import ConfigError

__all__ = ["load_class"]


def load_class(kind: str, name: str, builtins: dict[str, str], extras: dict[str, str]) -> type[Any]:
    """Resolve a backend class.

    Args:
        kind: the interface, e.g. ``"artifacts"``; entry points are read from ``pomona.<kind>``.
        name: a built-in name, an entry-point name, or ``package.module:Class``.
        builtins: built-in name -> ``module:Class``.
        extras: built-in name -> the pip extra it needs (named in import errors).
    Raises:
        ConfigError: the name is unknown or its module cannot be imported.
    """
    target = builtins.get(name)
    if target is None:
        for ep in entry_points(group=f"pomona.{kind}"):
            if ep.name == name:
                return ep.load()  # type: ignore[no-any-return]
    if target is None and ":" in name:
        target = name
    if target is None:
        known = ", ".join(sorted(builtins))
        raise ConfigError(
            f"Unknown {kind} backend '{name}'.",
            hint=f"Use one of: {known}; or an installed plugin; or 'package.module:Class'.",
            details={"backend": name},
        )
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = extras.get(name)
        hint = f"Install it with: pip install 'pomona[{extra}]'." if extra else "Is it installed?"
        raise ConfigError(
            f"The {kind} backend '{name}' cannot be loaded: {exc}.", hint=hint
        ) from exc
    try:
        cls: type[Any] = getattr(module, attr)
    except AttributeError as exc:
        raise ConfigError(f"'{module_name}' has no class '{attr}'.") from exc
    return cls
