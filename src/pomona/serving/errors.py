"""Serving's errors: subclasses of the error tree that keep their parent's code.

Each carries ``details["error"]`` so the remote client raises the same class again.
"""

from __future__ import annotations

from typing import Any

from pomona.errors import BackendUnavailableError, NotFoundError, PomonaError

__all__ = ["DeploymentNotFoundError", "OverloadedError", "from_remote"]


class DeploymentNotFoundError(NotFoundError):
    """No deployment has this name."""

    def __init__(self, name: str, **kw: Any) -> None:
        super().__init__(
            kw.pop("message", None) or f"No deployment is named '{name}'.",
            hint=kw.pop("hint", None) or "Run 'pomona deploy list' to see the deployments.",
            details={"error": "DeploymentNotFoundError", "deployment": name},
        )


class OverloadedError(BackendUnavailableError):
    """A model's queue is full: the server answers 503 with ``Retry-After``."""

    def __init__(self, message: str, *, retry_after_s: int = 1, **kw: Any) -> None:
        super().__init__(
            message,
            hint=kw.pop("hint", None) or f"Retry after {retry_after_s} s, or add server workers.",
            details={"error": "OverloadedError", "retry_after_s": retry_after_s},
        )
        self.retry_after_s = retry_after_s


def _rebuild(cls: type[PomonaError], exc: PomonaError) -> PomonaError:
    new = PomonaError.__new__(cls)
    PomonaError.__init__(new, exc.message, hint=exc.hint, details=exc.details)
    return new


def from_remote(exc: PomonaError) -> PomonaError:
    """The serving error the server raised, rebuilt from its ``details["error"]``."""
    cls = {"DeploymentNotFoundError": DeploymentNotFoundError, "OverloadedError": OverloadedError}
    found = cls.get(str(exc.details.get("error", "")))
    if found is None or not issubclass(found, type(exc)):
        return exc
    rebuilt = _rebuild(found, exc)
    if isinstance(rebuilt, OverloadedError):
        rebuilt.retry_after_s = int(exc.details.get("retry_after_s", 1))
    return rebuilt
