"""Model flavors: save, load, predict and export one kind of model with safe formats.

Built-ins: ``sklearn`` (skops), ``lightgbm`` (its text format), ``torch`` (safetensors).
More come from the ``pomona.flavors`` entry-point group or a ``module:Class`` path.
"""

from __future__ import annotations

from functools import cache

from pomona.errors import ConfigError, InvalidInputError
from pomona.plugins import load_class
from pomona.registry.errors import UntrustedModelError
from pomona.registry.flavors.base import Array, Flavor, OnnxModel

__all__ = ["Array", "Flavor", "OnnxModel", "flavor_for", "get_flavor"]

BUILTIN_FLAVORS: dict[str, str] = {
    "lightgbm": "pomona.registry.flavors.lightgbm:LightGBMFlavor",
    "sklearn": "pomona.registry.flavors.sklearn:SklearnFlavor",
    "torch": "pomona.registry.flavors.torch:TorchFlavor",
}
_EXTRAS = {"lightgbm": "lightgbm", "sklearn": "sklearn", "torch": "torch"}
_DETECT_ORDER = ("lightgbm", "torch", "sklearn")  # LightGBM's wrappers are sklearn estimators


def get_flavor(name: str, *, trust: bool = False) -> Flavor:
    """The flavor registered under ``name``: a built-in, a ``pomona.flavors`` entry point,
    or, with ``trust=True`` only (importing a module runs its code), a ``module:Class`` path.

    Raises:
        InvalidInputError: no flavor has this name.
        UntrustedModelError: a ``module:Class`` path without ``trust``.
    """
    if ":" in name and name not in BUILTIN_FLAVORS and not trust:
        raise UntrustedModelError(
            f"The flavor '{name}' is a module path; importing it runs its code.",
            details={"field": "flavor"},
        )
    return _flavor(name)


@cache
def _flavor(name: str) -> Flavor:
    try:
        cls = load_class("flavors", name, BUILTIN_FLAVORS, _EXTRAS)
    except ConfigError as exc:
        raise InvalidInputError(
            f"Unknown model flavor '{name}'.",
            hint=f"Use one of: {', '.join(sorted(BUILTIN_FLAVORS))}; or 'package.module:Class'.",
            details={"field": "flavor"},
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Flavor)):
        raise InvalidInputError(f"'{name}' is not a Flavor class.", details={"field": "flavor"})
    return cls()


def flavor_for(model: object) -> Flavor:
    """The built-in flavor that saves ``model``.

    Raises:
        InvalidInputError: no built-in flavor handles this type (name one with ``flavor=``).
    """
    for name in _DETECT_ORDER:
        flavor = get_flavor(name)
        if flavor.handles(model):
            return flavor
    raise InvalidInputError(
        f"No model flavor handles a {type(model).__module__}.{type(model).__qualname__}.",
        hint="Register scikit-learn, LightGBM or PyTorch models, or pass flavor='module:Class'.",
        details={"field": "model"},
    )
