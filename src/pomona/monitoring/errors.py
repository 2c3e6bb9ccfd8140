"""Monitoring's errors: subclasses of the error tree that keep their parent's code.

Each carries ``details["error"]`` so the remote client raises the same class again.
"""

from __future__ import annotations

from pomona.errors import NotFoundError, PomonaError

__all__ = ["AlertNotFoundError", "MonitorNotFoundError", "SilenceNotFoundError", "from_remote"]


class MonitorNotFoundError(NotFoundError):
    """No monitor has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"No monitor is named '{name}'.",
            hint="Run 'pomona monitors list' to see the monitors.",
            details={"error": "MonitorNotFoundError", "monitor": name},
        )


class AlertNotFoundError(NotFoundError):
    """No alert has this id."""

    def __init__(self, alert_id: str) -> None:
        super().__init__(
            f"No alert has the id '{alert_id}'.",
            hint="Run 'pomona alerts list --all' to see the alerts.",
            details={"error": "AlertNotFoundError", "alert_id": alert_id},
        )


class SilenceNotFoundError(NotFoundError):
    """No silence has this id."""

    def __init__(self, silence_id: str) -> None:
        super().__init__(
            f"No silence has the id '{silence_id}'.",
            hint="Run 'pomona alerts silences' to see them.",
            details={"error": "SilenceNotFoundError", "silence_id": silence_id},
        )


_CLASSES: dict[str, type[NotFoundError]] = {
    "MonitorNotFoundError": MonitorNotFoundError,
    "AlertNotFoundError": AlertNotFoundError,
    "SilenceNotFoundError": SilenceNotFoundError,
}


def from_remote(exc: PomonaError) -> PomonaError:
    """The monitoring error the server raised, rebuilt from its ``details["error"]``."""
    found = _CLASSES.get(str(exc.details.get("error", "")))
    if found is None or not isinstance(exc, NotFoundError):
        return exc
    new = PomonaError.__new__(found)
    PomonaError.__init__(new, exc.message, hint=exc.hint, details=exc.details)
    return new
