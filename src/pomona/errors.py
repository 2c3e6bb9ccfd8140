"""The error tree: every error a user sees, with its code, HTTP status and CLI exit code.

Imports only the standard library.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AlreadyExistsError",
    "ArtifactCorruptedError",
    "ArtifactNotFoundError",
    "BackendError",
    "BackendUnavailableError",
    "ConfigError",
    "ConflictError",
    "DatasetValidationError",
    "InvalidInputError",
    "NotFoundError",
    "PomonaError",
    "RunNotFoundError",
    "SchemaOutdatedError",
    "UnauthorizedError",
    "error_class_for_code",
]


class PomonaError(Exception):
    """Base of every error Pomona raises on purpose.

    Args:
        message: what failed, naming the object.
        hint: what to do about it.
        details: structured fields (e.g. ``{"field": "metrics.acc"}``).
    """

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body the server sends."""
        return {
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "details": self.details,
        }

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} {self.hint}"


class ConfigError(PomonaError):
    """Configuration is missing or invalid."""

    code = "config_invalid"
    http_status = 500
    exit_code = 2


class InvalidInputError(PomonaError, ValueError):
    """The caller passed something Pomona cannot accept."""

    code = "invalid_input"
    http_status = 422
    exit_code = 2


class DatasetValidationError(InvalidInputError):
    """Blocking validation checks failed; ``report`` holds every check and quarantined record.

    ``details["report"]`` carries the report as a dict, so it survives the REST API.
    """

    code = "dataset_invalid"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        details: dict[str, Any] | None = None,
        report: Any = None,
    ) -> None:
        super().__init__(message, hint=hint, details=details)
        self.report = report


class UnauthorizedError(PomonaError):
    """A write reached a server that requires a token, without a valid one."""

    code = "unauthorized"
    http_status = 401
    exit_code = 2


class NotFoundError(PomonaError, LookupError):
    """A referenced object does not exist."""

    code = "not_found"
    http_status = 404
    exit_code = 3


class RunNotFoundError(NotFoundError):
    """No run has this id."""

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"Run '{run_id}' does not exist.",
            hint="Run 'pomona runs list' to see the runs of this workspace.",
            details={"run_id": run_id},
        )


class ArtifactNotFoundError(NotFoundError):
    """No artifact is stored under this digest or path."""


class AlreadyExistsError(PomonaError):
    """An object with this identity already exists."""

    code = "already_exists"
    http_status = 409
    exit_code = 4


class ConflictError(PomonaError):
    """The request conflicts with the current state."""

    code = "conflict"
    http_status = 409
    exit_code = 4


class SchemaOutdatedError(ConflictError):
    """The metadata database was made by an older Pomona and needs an upgrade."""

    code = "schema_outdated"


class BackendError(PomonaError):
    """A storage or compute backend failed."""

    code = "backend_error"
    http_status = 502
    exit_code = 5


class ArtifactCorruptedError(BackendError):
    """Stored bytes do not match the digest they were stored under."""

    code = "artifact_corrupted"


class BackendUnavailableError(BackendError):
    """A backend (database, object store, server) cannot be reached."""

    code = "backend_unavailable"
    http_status = 503


_BY_CODE: dict[str, type[PomonaError]] = {
    cls.code: cls
    for cls in (
        PomonaError,
        ConfigError,
        InvalidInputError,
        DatasetValidationError,
        UnauthorizedError,
        NotFoundError,
        AlreadyExistsError,
        ConflictError,
        SchemaOutdatedError,
        BackendError,
        ArtifactCorruptedError,
        BackendUnavailableError,
    )
}


def error_class_for_code(code: str) -> type[PomonaError]:
    """The error class the server's ``code`` stands for (``PomonaError`` when unknown)."""
    return _BY_CODE.get(code, PomonaError)
