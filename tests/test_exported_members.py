"""Every public package has an explicit, sorted, complete ``__all__``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import pomona

PACKAGES = ["pomona"] + [
    m.name
    for m in pkgutil.walk_packages(pomona.__path__, "pomona.")
    if m.ispkg
    and not any(part.startswith("_") for part in m.name.split("."))
    and not m.name.endswith((".migrations", ".backends", ".routes", ".templates", ".static"))
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    assert list(exported) == sorted(exported), f"{name}.__all__ is not sorted"
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names a missing '{item}'"
    public = {
        k
        for k, v in vars(module).items()
        if not k.startswith("_")
        and (inspect.isclass(v) or inspect.isfunction(v))
        and _is_public_module_of(getattr(v, "__module__", ""), name)
    }
    assert public <= set(exported), f"{name} does not export {sorted(public - set(exported))}"


def _is_public_module_of(module: str, package: str) -> bool:
    """Defined in ``package`` itself or in one of its public (non-underscore) modules."""
    if module == package:
        return True
    rest = module.removeprefix(package + ".")
    return rest != module and not any(part.startswith("_") for part in rest.split("."))
