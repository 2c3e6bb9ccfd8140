"""Model flavors: save, load, predict and export one kind of model with safe formats.

Built-ins: ``sklearn`` (skops), ``lightgbm`` (its text format), ``torch`` (safetensors).
More come from the ``pomona.flavors`` entry-point group, or a ``module:Class`` path in a
module listed in ``registry.trusted_modules``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from pomona.errors import ConfigError, InvalidInputError
from pomona.plugins import is_trusted_module, load_class
from pomona.registry._trusted import TRUST_HINT, trusted_class
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


def get_flavor(name: str, *, trust: bool = False, trusted_modules: Sequence[str] = ()) -> Flavor:
    """The flavor registered under ``name``: a built-in, a ``pomona.flavors`` entry point,
    or a ``module:Class`` path whose module is in ``trusted_modules`` (or any module with
    ``trust=True``: importing a module runs its code). The class must be a ``Flavor``
    defined in that module under one name.

    Raises:
        InvalidInputError: no flavor has this name.
        UntrustedModelError: a ``module:Class`` path outside ``trusted_modules`` without
            ``trust``, or one that does not name a ``Flavor`` class.
    """
    if name in BUILTIN_FLAVORS or ":" not in name:
        return _flavor(name)
    if not trust and not is_trusted_module(name.partition(":")[0], trusted_modules):
        raise UntrustedModelError(
            f"The flavor '{name}' is a module path; importing it runs its code.",
            hint=TRUST_HINT,
            details={"field": "flavor"},
        )
    cls = trusted_class(
        name, Flavor, allowed=trusted_modules, field="flavor", what="flavor", trust=trust
    )
    return _instance(cls)


@cache
def _instance(cls: type[Flavor]) -> Flavor:
    return cls()


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
