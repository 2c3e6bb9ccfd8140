"""Which code a stored model may make Pomona import, and the one check that enforces it.

A model's files name classes to rebuild (``torch.json``'s ``class``, the types inside a
skops file, a ``module:Class`` flavor). Rebuilding imports their module and calls the
class, so a name is honoured only when its module is on an allow-list: Pomona's own model
modules, the libraries' layer modules, and the modules the workspace owner lists in
``registry.trusted_modules``. The object must be a class defined in that module under one
name (``import_trusted``): never a function, never an attribute reached through another
module (``pomona._utils.git:subprocess.run``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pomona.errors import InvalidInputError
from pomona.plugins import import_trusted, split_target
from pomona.registry.errors import UntrustedModelError

__all__ = [
    "POMONA_MODEL_MODULES",
    "TORCH_LAYER_MODULES",
    "TRUST_HINT",
    "trusted_class",
]

POMONA_MODEL_MODULES = (
    "pomona.registry.flavors._apple_cnn",
    "pomona.training._torch",
    "pomona.testing.serving",
)
"""The modules that define Pomona's own ``nn.Module`` classes: ``AppleCNN``,
``TorchClassifier`` (what ``training.torch()`` trains) and ``TableNet`` (the test double
of the serving tests)."""

TORCH_LAYER_MODULES = "torch.nn.modules."
"""PyTorch's built-in layers (``nn.Linear`` is defined in ``torch.nn.modules.linear``)."""

TRUST_HINT = (
    "If you trust the module, add it to registry.trusted_modules in the workspace's "
    "pomona.toml (the server imports it when it loads the model); embedded, "
    "load(ref, trust=True) imports it for this call only."
)


def trusted_class(
    target: object,
    base: type,
    *,
    allowed: Sequence[str],
    field: str,
    what: str,
    trust: bool = False,
) -> type:
    """The class ``module:Name`` names, if ``module`` is allowed and the class subclasses
    ``base``.

    Args:
        allowed: the modules whose classes may be imported (see ``is_trusted_module``).
        field: named in the error (``"torch.json class"``).
        trust: the embedded caller's ``trust=True``: any importable module, for this call
            (the class must still be a ``base`` subclass defined there under one name).
    Raises:
        UntrustedModelError: the module is not allowed, the name is not defined there, or
            it is not a subclass of ``base`` (a function, another kind of class).
    """
    try:
        if trust:
            allowed = (*allowed, split_target(target, field=field)[0])
        found = import_trusted(target, allowed, what=what, field=field, hint=TRUST_HINT)
    except InvalidInputError as exc:
        raise UntrustedModelError(exc.message, hint=exc.hint, details=exc.details) from exc
    if not (isinstance(found, type) and issubclass(found, base)):
        kind = "a class" if isinstance(found, type) else f"a {type(found).__name__}"
        raise UntrustedModelError(
            f"'{target}' is {kind} that is not a {base.__module__}.{base.__qualname__}.",
            hint=f"Name a {base.__qualname__} subclass.",
            details={"field": field},
        )
    return found
