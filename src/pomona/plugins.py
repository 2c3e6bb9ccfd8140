"""Backend lookup (built-ins by name, then entry points, then a ``module:Class`` path), and
the one strict way to turn a stored or client-sent ``module:name`` string into an object.

Importing a module runs its code, and walking attributes from a module reaches whatever it
imported (``pomona._utils.git:subprocess.run``). ``import_trusted`` therefore imports only
modules on an explicit allow-list and takes the object *defined* in that module under a
single name, never an attribute of an attribute.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from pomona.errors import ConfigError, InvalidInputError

__all__ = ["import_trusted", "is_trusted_module", "load_class", "split_target"]

_MODULE_RE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", re.ASCII)
_NAME_RE = re.compile(r"[A-Za-z_]\w*", re.ASCII)


def split_target(target: object, *, field: str) -> tuple[str, str]:
    """``package.module:Name`` as ``(module, name)``; the name is one identifier.

    Raises:
        InvalidInputError: not that form (a dotted name, ``<locals>``, a missing part).
    """
    text = target if isinstance(target, str) else ""
    module, sep, name = text.partition(":")
    if not sep or not _MODULE_RE.fullmatch(module) or not _NAME_RE.fullmatch(name):
        raise InvalidInputError(
            f"{str(target)[:200]!r} is not 'package.module:Name' (one name defined at the "
            "top level of the module).",
            hint="Name a class defined at the top level of its module.",
            details={"field": field},
        )
    return module, name


def is_trusted_module(module: str, allowed: Iterable[str]) -> bool:
    """Whether ``module`` is on ``allowed``: an entry equal to it, or an entry ending in
    ``.`` (a package prefix, e.g. ``torch.nn.modules.``) that it starts with."""
    return any(module == a or (a.endswith(".") and module.startswith(a)) for a in allowed)


def import_trusted(
    target: object, allowed: Iterable[str], *, what: str, field: str, hint: str
) -> object:
    """The object ``module:Name`` names, if ``module`` is on ``allowed`` and defines it.

    The module is imported only once it is known to be on the allow-list; the object is
    read from the module's own namespace (no ``__getattr__`` hook, no attribute walk) and
    must say it was defined there (``__module__`` and ``__qualname__``), so a name the
    module merely imported (``subprocess``, ``np``) is refused. Callers then check its
    kind (a ``type`` subclassing their base class, never a function).

    Args:
        what: what the object is, for messages (``"model class"``).
        field: the field named in the error (``"torch.json class"``).
        hint: what to do when the module is not allowed.
    Raises:
        InvalidInputError: malformed, not on the allow-list, missing, or not defined there.
    """
    module_name, name = split_target(target, field=field)
    allowed = tuple(allowed)
    if not is_trusted_module(module_name, allowed):
        raise InvalidInputError(
            f"Loading the {what} '{module_name}:{name}' imports module '{module_name}', which "
            "is not on the allow-list (importing a module runs its code).",
            hint=hint,
            details={"field": field, "module": module_name},
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidInputError(
            f"The {what} '{module_name}:{name}' cannot be imported: {exc}.",
            hint="Install the package that defines it where it is loaded.",
            details={"field": field, "module": module_name},
        ) from exc
    found = vars(module).get(name)
    if (
        found is None
        or getattr(found, "__module__", None) != module_name
        or getattr(found, "__qualname__", None) != name
    ):
        raise InvalidInputError(
            f"Module '{module_name}' defines no {what} named '{name}'.",
            hint="Name a class defined at the top level of the module, not one it imports.",
            details={"field": field, "module": module_name},
        )
    return found


def load_class(kind: str, name: str, builtins: dict[str, str], extras: dict[str, str]) -> type[Any]:
    """Resolve a backend class.

    Names come from the workspace's own configuration (``pomona.toml``, ``POMONA_*``),
    never from API clients: a ``module:Class`` path imports that module.

    Args:
        kind: the interface, e.g. ``"artifacts"``; entry points are read from ``pomona.<kind>``.
        name: a built-in name, an entry-point name, or ``package.module:Class``.
        builtins: built-in name -> ``module:Class``.
        extras: built-in name -> the pip extra it needs (named in import errors).
    Raises:
        ConfigError: the name is unknown, its module cannot be imported, or the path does
            not name a class (a function, or an attribute of an attribute, is refused).
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
    if not _MODULE_RE.fullmatch(module_name) or not _NAME_RE.fullmatch(attr):
        raise ConfigError(
            f"The {kind} backend '{name}' is not 'package.module:Class'.",
            hint="Name a class defined at the top level of its module.",
            details={"backend": name},
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = extras.get(name)
        hint = f"Install it with: pip install 'pomona[{extra}]'." if extra else "Is it installed?"
        raise ConfigError(
            f"The {kind} backend '{name}' cannot be loaded: {exc}.", hint=hint
        ) from exc
    cls = vars(module).get(attr)
    if not isinstance(cls, type):
        raise ConfigError(f"'{module_name}' has no class '{attr}'.", details={"backend": name})
    return cls
