"""Pick an executor by name: ``local``, ``process``, ``ray`` or ``ray://host:port``."""

from __future__ import annotations

from typing import Any

from pomona.executors.base import Executor
from pomona.plugins import load_class

__all__ = ["EXECUTOR_NAMES", "open_executor"]

_BUILTINS = {
    "local": "pomona.executors.backends.local:LocalExecutor",
    "process": "pomona.executors.backends.process:ProcessExecutor",
    "ray": "pomona.executors.backends.ray:RayExecutor",
}
_EXTRAS = {"ray": "ray"}
EXECUTOR_NAMES = tuple(sorted(_BUILTINS))


def open_executor(spec: str, **options: Any) -> Executor:
    """Build an executor (no connection is made until its first task).

    Args:
        spec: ``local``, ``process``, ``ray``, ``ray://host:10001`` (Ray Client), an
            entry-point name of group ``pomona.executors``, or ``package.module:Class``.
        options: constructor arguments, e.g. ``address=`` for ``ray``, ``max_workers=``.
    Raises:
        ConfigError: the name is unknown or its extra is not installed.
    """
    name = spec.strip()
    if name.startswith("ray://"):
        options = {**options, "address": name}
        name = "ray"
    cls = load_class("executors", name, _BUILTINS, _EXTRAS)
    executor: Executor = cls(**options)
    return executor
