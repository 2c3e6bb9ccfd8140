"""The one rule for class paths stored with a model: a class, defined under one name in a
module on the allow-list; never a function, never reached through another module."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from pomona.errors import InvalidInputError
from pomona.plugins import import_trusted, is_trusted_module, load_class
from pomona.registry import Flavor, RegistryService, UntrustedModelError, get_flavor
from pomona.registry._trusted import trusted_class
from pomona.registry.flavors.sklearn import _is_trusted_type
from pomona.registry.flavors.torch import TorchFlavor

FLAVORS = "pomona.registry.flavors.torch"


class TinyNet(torch.nn.Module):
    """A user's own module, in a module the owner may trust."""

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(width, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)  # type: ignore[no-any-return]


def _resolve(target: str, allowed: tuple[str, ...] = (FLAVORS,)) -> object:
    return import_trusted(target, allowed, what="class", field="f", hint="h")


@pytest.mark.parametrize(
    ("target", "match"),
    [
        ("pomona._utils.git:subprocess.run", "not 'package.module:Name'"),
        ("pomona._utils.git:subprocess", "not on the allow-list"),
        (f"{FLAVORS}:np", "defines no class named 'np'"),  # an imported module
        (f"{FLAVORS}:Flavor", "defines no class named 'Flavor'"),  # imported from base
        (f"{FLAVORS}:__builtins__", "defines no class"),
        (f"{FLAVORS}:Missing", "defines no class"),
        (f"{FLAVORS}:TorchFlavor.load", "not 'package.module:Name'"),
        (f"{FLAVORS}:", "not 'package.module:Name'"),
        (f"{FLAVORS}", "not 'package.module:Name'"),
        (f"{FLAVORS}:TorchFlavor\n", "not 'package.module:Name'"),
        ("../evil:Name", "not 'package.module:Name'"),
    ],
)
def test_only_names_defined_in_an_allowed_module_resolve(target: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match) as info:
        _resolve(target)
    assert info.value.details["field"] == "f"


def test_a_class_defined_in_an_allowed_module_resolves() -> None:
    assert _resolve(f"{FLAVORS}:TorchFlavor") is TorchFlavor


def test_a_module_not_on_the_allow_list_is_never_imported() -> None:
    import sys

    assert "antigravity" not in sys.modules
    with pytest.raises(InvalidInputError, match="not on the allow-list"):
        _resolve("antigravity:Anything")
    assert "antigravity" not in sys.modules


def test_allow_list_entries_are_modules_or_package_prefixes() -> None:
    assert is_trusted_module("torch.nn.modules.linear", ["torch.nn.modules."])
    assert not is_trusted_module("torch.nn.modules", ["torch.nn.modules."])
    assert is_trusted_module("pkg.nets", ["pkg.nets"])
    assert not is_trusted_module("pkg.nets.sub", ["pkg.nets"])
    assert not is_trusted_module("pkg.netsx", ["pkg.nets"])


def test_a_model_class_must_be_a_subclass_of_the_base() -> None:
    with pytest.raises(UntrustedModelError, match="is a function that is not"):
        trusted_class(
            "pomona.testing.serving:register_table_net", torch.nn.Module,
            allowed=["pomona.testing.serving"], field="f", what="model class",
        )  # fmt: skip
    with pytest.raises(UntrustedModelError, match="is a class that is not"):
        trusted_class(
            "pomona.testing.serving:LoadResult", torch.nn.Module,
            allowed=["pomona.testing.serving"], field="f", what="model class",
        )  # fmt: skip


def test_trust_allows_any_module_but_still_only_a_defined_class() -> None:
    here = f"{__name__}:TinyNet"
    with pytest.raises(UntrustedModelError, match="not on the allow-list"):
        trusted_class(here, torch.nn.Module, allowed=(), field="f", what="c")
    assert trusted_class(here, torch.nn.Module, allowed=(), field="f", what="c", trust=True)
    with pytest.raises(UntrustedModelError, match=re.escape("not 'package.module:Name'")):
        trusted_class(
            "pomona._utils.git:subprocess.run", torch.nn.Module,
            allowed=(), field="f", what="c", trust=True,
        )  # fmt: skip


def test_the_torch_flavor_checks_torch_json_before_importing(tmp_path: Path) -> None:
    (tmp_path / "torch.json").write_text(
        json.dumps({"class": "pomona._utils.git:subprocess.run", "init_kwargs": {"args": []}})
    )
    (tmp_path / "model.safetensors").write_bytes(bytes(16))
    flavor = TorchFlavor()
    with pytest.raises(UntrustedModelError) as info:
        flavor.load(tmp_path, trust=True)
    assert info.value.details["field"] == "torch.json class"
    with pytest.raises(UntrustedModelError):
        flavor.check_files(["torch.json", "model.safetensors"], lambda n: tmp_path / n)
    with pytest.raises(InvalidInputError, match="needs the files"):
        flavor.check_files(["torch.json"], lambda n: tmp_path / n)
    (tmp_path / "torch.json").write_text(json.dumps({"class": 3}))
    with pytest.raises(InvalidInputError, match="'class' string"):
        flavor.load(tmp_path)
    (tmp_path / "torch.json").write_text(
        json.dumps({"class": "torch.nn.modules.linear:Linear", "init_kwargs": [1, 2]})
    )
    with pytest.raises(InvalidInputError, match="init_kwargs must be an object"):
        flavor.load(tmp_path)


def test_a_module_listed_in_trusted_modules_loads_without_trust(
    registry: RegistryService,
) -> None:
    model = TinyNet().eval()
    registry.register("tiny", model, input_example=np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(UntrustedModelError, match=re.escape("registry.trusted_modules")):
        registry.load("tiny")
    files = {f.path: f.digest for f in registry.get_version("tiny").files}
    with pytest.raises(UntrustedModelError):
        registry.check_loadable("torch", files)
    registry.trusted_modules = (__name__,)
    loaded = registry.load("tiny", device="cpu")
    assert isinstance(loaded.model, TinyNet)
    registry.check_loadable("torch", files)


def test_a_module_path_flavor_needs_its_module_trusted() -> None:
    target = f"{FLAVORS}:TorchFlavor"
    with pytest.raises(UntrustedModelError, match="module path"):
        get_flavor(target)
    assert isinstance(get_flavor(target, trusted_modules=[FLAVORS]), TorchFlavor)
    with pytest.raises(
        UntrustedModelError, match=re.escape("not a pomona.registry.flavors.base.Flavor")
    ):
        get_flavor("pomona.testing.serving:LoadResult", trusted_modules=["pomona.testing.serving"])
    with pytest.raises(UntrustedModelError, match=re.escape("not 'package.module:Name'")):
        get_flavor("pomona._utils.git:subprocess.run", trust=True)
    assert issubclass(type(get_flavor("sklearn")), Flavor)


def test_skops_types_must_be_classes_defined_where_they_are_named() -> None:
    assert _is_trusted_type("sklearn.tree._tree.Tree")
    assert _is_trusted_type("collections.OrderedDict")
    assert not _is_trusted_type("sklearn.utils.Bunch.__init__")
    assert not _is_trusted_type("numpy.testing.TestCase")  # unittest's, re-exported by numpy
    assert not _is_trusted_type("numpy.load")  # a function
    assert not _is_trusted_type(f"{__name__}.TinyNet")
    assert _is_trusted_type(f"{__name__}.TinyNet", [__name__])


def test_backend_paths_from_configuration_must_name_a_class() -> None:
    assert load_class("x", f"{FLAVORS}:TorchFlavor", {}, {}) is TorchFlavor
    with pytest.raises(Exception, match="has no class 'np'"):
        load_class("x", f"{FLAVORS}:np", {}, {})
    with pytest.raises(Exception, match="has no class 'abort'"):
        load_class("x", "os:abort", {}, {})
    with pytest.raises(Exception, match=re.escape("not 'package.module:Class'")):
        load_class("x", "pomona._utils.git:subprocess.Popen", {}, {})
