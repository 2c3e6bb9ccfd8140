"""The registry's errors: subclasses of the error tree that keep their parent's code.

Each carries ``details["error"]`` so the remote client can raise the same class again
(``from_remote``); the server and the CLI render them like their parents.
"""

from __future__ import annotations

from typing import Any

from pomona.errors import ConflictError, InvalidInputError, NotFoundError, PomonaError

__all__ = [
    "ExportNotSupportedError",
    "ModelNotFoundError",
    "ModelVersionNotFoundError",
    "SignatureMismatchError",
    "UntrustedModelError",
    "from_remote",
]


class ModelNotFoundError(NotFoundError):
    """No registered model has this name."""

    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(
            kw.pop("message", None) or f"No model is registered as '{name}'.",
            hint=kw.pop("hint", None) or "Run 'pomona models list' to see the registered models.",
            details={"error": "ModelNotFoundError", "model": name, **kw.pop("details", {})},
        )


class ModelVersionNotFoundError(NotFoundError):
    """The model exists but the version or alias does not."""

    def __init__(self, message: str, *, name: str, **kw: Any) -> None:
        super().__init__(
            message,
            hint=kw.pop("hint", None) or f"Run 'pomona models show {name}' to see its versions.",
            details={"error": "ModelVersionNotFoundError", "model": name, **kw.pop("details", {})},
        )


class SignatureMismatchError(ConflictError):
    """A version's signature does not match the one it must stay compatible with."""

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(
            message,
            hint=kw.pop("hint", None)
            or "Retrain on the same input columns and types, or move the alias without "
            "the signature check if the change is intended.",
            details={"error": "SignatureMismatchError", **kw.pop("details", {})},
        )


class ExportNotSupportedError(InvalidInputError):
    """The model cannot be exported to the requested format."""

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(
            message,
            hint=kw.pop("hint", None)
            or "Export works for scikit-learn models skl2onnx converts, PyTorch modules "
            "and LightGBM models; serve this model with its own flavor instead.",
            details={"error": "ExportNotSupportedError", **kw.pop("details", {})},
        )


class UntrustedModelError(InvalidInputError):
    """Loading the model would run code from types outside the allow-list."""

    def __init__(self, message: str, **kw: Any) -> None:
        super().__init__(
            message,
            hint=kw.pop("hint", None)
            or "Load it with trust=True only if you trust where it came from.",
            details={"error": "UntrustedModelError", **kw.pop("details", {})},
        )


def _rebuild(cls: type[PomonaError], exc: PomonaError) -> PomonaError:
    new = PomonaError.__new__(cls)
    PomonaError.__init__(new, exc.message, hint=exc.hint, details=exc.details)
    return new


_BY_NAME: dict[str, type[PomonaError]] = {
    cls.__name__: cls
    for cls in (
        ExportNotSupportedError,
        ModelNotFoundError,
        ModelVersionNotFoundError,
        SignatureMismatchError,
        UntrustedModelError,
    )
}


def from_remote(exc: PomonaError) -> PomonaError:
    """The registry error the server raised, rebuilt from its ``details["error"]``."""
    cls = _BY_NAME.get(str(exc.details.get("error", "")))
    if cls is None or not issubclass(cls, type(exc)):
        return exc
    return _rebuild(cls, exc)
