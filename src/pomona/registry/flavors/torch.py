"""PyTorch modules: the ``state_dict`` in safetensors, the class by import path, its kwargs."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import json
import logging
import tempfile
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pomona.errors import InvalidInputError
from pomona.plugins import is_trusted_module, split_target
from pomona.registry._trusted import (
    POMONA_MODEL_MODULES,
    TORCH_LAYER_MODULES,
    TRUST_HINT,
    trusted_class,
)
from pomona.registry.errors import ExportNotSupportedError, UntrustedModelError
from pomona.registry.flavors.base import Array, Flavor, OnnxModel, mro_roots, require
from pomona.registry.signature import Signature, as_array

__all__ = ["TRUSTED_MODULES", "TorchFlavor"]

WEIGHTS = "model.safetensors"
META = "torch.json"
MAX_META_BYTES = 1024**2
TRUSTED_MODULES = (*POMONA_MODEL_MODULES, TORCH_LAYER_MODULES)
"""Modules whose ``nn.Module`` classes load without ``registry.trusted_modules`` or
``trust=True`` (importing a module runs its code): Pomona's model modules and PyTorch's
layer modules."""
CLASS_FIELD = f"{META} class"


class TorchFlavor(Flavor):
    """A ``torch.nn.Module``; files: ``model.safetensors`` and ``torch.json``.

    The module is rebuilt as ``Class(**init_kwargs)``: pass ``init_kwargs`` in the
    register options, or give the module an ``init_kwargs`` dict attribute (``AppleCNN``
    does). It runs on CUDA when available, else on the CPU, unless ``device`` is given.
    ``Class`` must be an ``nn.Module`` subclass defined at the top level of a module on the
    allow-list (``TRUSTED_MODULES`` plus ``registry.trusted_modules``).
    """

    name: ClassVar[str] = "torch"
    extra: ClassVar[str] = "torch"
    files: ClassVar[tuple[str, ...]] = (WEIGHTS, META)

    def handles(self, model: object) -> bool:
        return "torch" in mro_roots(model)

    def save(self, model: object, folder: Path, options: Mapping[str, Any]) -> list[str]:
        st = require("safetensors.torch", self.extra)
        cls = type(model)
        kwargs = options.get("init_kwargs", getattr(model, "init_kwargs", {}))
        try:
            encoded = json.dumps(
                {"class": f"{cls.__module__}:{cls.__qualname__}", "init_kwargs": kwargs}
            )
        except TypeError as exc:
            raise InvalidInputError(
                f"The constructor arguments of {cls.__name__} are not JSON: {exc}.",
                hint="Pass init_kwargs made of numbers, strings, lists and dicts.",
                details={"field": "options.init_kwargs"},
            ) from exc
        if "." in cls.__qualname__ or cls.__module__ == "__main__":
            raise InvalidInputError(
                f"{cls.__qualname__} is not importable from another process.",
                hint="Define the module class at the top level of an importable module.",
                details={"field": "model"},
            )
        _check_kwargs(cls, kwargs)
        st.save_model(model, str(folder / WEIGHTS))
        (folder / META).write_text(encoded)
        return [WEIGHTS, META]

    def load(
        self,
        folder: Path,
        *,
        trust: bool = False,
        device: str | None = None,
        trusted_modules: Sequence[str] = (),
    ) -> object:
        torch = require("torch", self.extra)
        st = require("safetensors.torch", self.extra)
        target, kwargs = _read_meta((folder / META).read_bytes())
        cls = trusted_class(
            target,
            torch.nn.Module,
            allowed=(*TRUSTED_MODULES, *trusted_modules),
            field=CLASS_FIELD,
            what="model class",
            trust=trust,
        )
        _check_shapes(torch, cls, kwargs, folder / WEIGHTS, target)
        module = cls(**kwargs)
        target_device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        st.load_model(module, str(folder / WEIGHTS), strict=True, device=target_device)
        return module.to(target_device).eval()

    def check_files(
        self,
        names: Collection[str],
        fetch: Callable[[str], Path],
        *,
        trusted_modules: Sequence[str] = (),
    ) -> None:
        super().check_files(names, fetch, trusted_modules=trusted_modules)
        path = fetch(META)
        if path.stat().st_size > MAX_META_BYTES:
            raise InvalidInputError(
                f"{META} is larger than {MAX_META_BYTES} bytes.", details={"field": META}
            )
        target, _ = _read_meta(path.read_bytes())
        allowed = (*TRUSTED_MODULES, *trusted_modules)
        if importlib.util.find_spec("torch") is not None:
            trusted_class(
                target, require("torch", self.extra).nn.Module, allowed=allowed,
                field=CLASS_FIELD, what="model class",
            )  # fmt: skip
            return
        module, _ = split_target(target, field=CLASS_FIELD)  # no torch here: names only
        if not is_trusted_module(module, allowed):
            raise UntrustedModelError(
                f"Loading the model class '{target}' imports module '{module}', which is not "
                "on the allow-list (importing a module runs its code).",
                hint=TRUST_HINT,
                details={"field": CLASS_FIELD, "module": module},
            )

    def predict(self, model: object, inputs: object) -> Array:
        torch = require("torch", self.extra)
        module: Any = model
        param = next(module.parameters(), None)
        device = param.device if param is not None else "cpu"
        dtype = param.dtype if param is not None else None
        batch = torch.as_tensor(as_array(inputs), device=device, dtype=dtype)
        with torch.inference_mode():
            out = module(batch)
        return np.asarray(out.detach().cpu().numpy())

    def has_proba(self, model: object) -> bool:
        return True

    def predict_proba(self, model: object, inputs: object) -> Array:
        logits = self.predict(model, inputs)
        if logits.ndim != 2:
            return super().predict_proba(model, inputs)
        return _softmax(logits)

    def predict_with_proba(self, model: object, inputs: object) -> tuple[Array, Array | None]:
        logits = self.predict(model, inputs)  # one forward pass for both
        return logits, _softmax(logits) if logits.ndim == 2 else None

    def to_onnx(self, model: object, signature: Signature, example: object) -> OnnxModel:
        torch = require("torch", self.extra)
        require("onnxscript", "onnx")
        module: Any = model
        param = next(module.parameters(), None)
        batch = torch.as_tensor(as_array(example), dtype=param.dtype if param is not None else None)
        cpu = module.to("cpu").eval()
        try:
            with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _quiet():
                warnings.simplefilter("ignore")
                path = Path(tmp) / "model.onnx"
                torch.onnx.export(
                    cpu,
                    (batch,),
                    str(path),
                    input_names=["input"],
                    output_names=["predictions"],
                    dynamic_shapes=({0: torch.export.Dim("batch")},),
                    dynamo=True,
                    external_data=False,
                    verbose=False,
                )
                data = path.read_bytes()
        except Exception as exc:  # the exporter raises many types for an unsupported graph
            raise ExportNotSupportedError(
                f"torch.onnx cannot export this {type(model).__name__}: "
                f"{str(exc).strip().splitlines()[0]}",
                details={"model_type": type(model).__name__},
            ) from exc
        return OnnxModel(data, {"predictions": "predictions"}, _opset(data))


def _read_meta(raw: bytes) -> tuple[str, dict[str, Any]]:
    """``torch.json``'s class path and constructor arguments, checked for shape."""
    try:
        meta = json.loads(raw)
    except ValueError as exc:
        raise InvalidInputError(f"{META} is not JSON: {exc}.", details={"field": META}) from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("class"), str):
        raise InvalidInputError(
            f"{META} must be an object with a 'class' string.", details={"field": CLASS_FIELD}
        )
    kwargs = meta.get("init_kwargs", {})
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise InvalidInputError(
            f"{META} init_kwargs must be an object of named arguments.",
            details={"field": f"{META} init_kwargs"},
        )
    return meta["class"], kwargs


def _check_shapes(
    torch: Any, cls: Any, kwargs: Mapping[str, Any], weights: Path, target: str
) -> None:
    """Build the module on the ``meta`` device (no memory) and refuse it unless its tensors
    are exactly those of the weights file: ``init_kwargs`` cannot make the server allocate
    more than the stored weights hold (``AppleCNN(width=10**6)``).

    Raises:
        InvalidInputError: the class cannot be built from ``init_kwargs``, or its tensors
            differ from the weights file's.
    """
    from safetensors import safe_open

    try:
        with torch.device("meta"):
            shapes = {k: list(v.shape) for k, v in cls(**kwargs).state_dict().items()}
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidInputError(
            f"{target} cannot be built from its init_kwargs: {exc}.",
            details={"field": f"{META} init_kwargs"},
        ) from exc
    try:
        with safe_open(str(weights), framework="pt", device="cpu") as f:
            stored = {k: list(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error type for a bad header
        raise InvalidInputError(
            f"{WEIGHTS} is not a safetensors file: {exc}.", details={"field": WEIGHTS}
        ) from exc
    stored_shapes = list(stored.values())
    differ = sorted(
        [k for k, shape in stored.items() if shapes.get(k) != shape]
        # a tensor tied to another is saved once: it must have a stored tensor's shape
        + [k for k, shape in shapes.items() if k not in stored and shape not in stored_shapes]
    )
    if differ:
        raise InvalidInputError(
            f"{target}({', '.join(f'{k}=…' for k in kwargs)}) does not match {WEIGHTS}: "
            f"{len(differ)} tensor(s) differ ({', '.join(differ[:3])}).",
            hint="Register the module with the init_kwargs it was trained with.",
            details={"field": f"{META} init_kwargs"},
        )


def _check_kwargs(cls: type, kwargs: Mapping[str, Any]) -> None:
    """Refuse a module that could not be rebuilt as ``cls(**kwargs)``."""
    params = list(inspect.signature(cls).parameters.values())
    missing = [
        p.name
        for p in params
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in kwargs
    ]
    if missing:
        raise InvalidInputError(
            f"{cls.__name__} needs {', '.join(missing)} to be rebuilt, and no value was given.",
            hint="Pass options={'init_kwargs': {...}} to register, or give the module an "
            "init_kwargs dict attribute.",
            details={"field": "options.init_kwargs"},
        )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's log lines about optional packages (torchvision) it skips."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _opset(data: bytes) -> int | None:
    import onnx

    proto = onnx.load_from_string(data)
    return max((o.version for o in proto.opset_import if o.domain == ""), default=None)


def _softmax(logits: Array) -> Array:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True))
