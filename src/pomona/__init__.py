"""Pomona: one package that carries a model from raw data to a monitored endpoint and back.

    import pomona as pm
    with pm.start_run(name="rf") as run:
        run.log_params({"n_estimators": 100})
        run.log_metric("accuracy", 0.93)

Module-level shortcuts act on the default workspace (``pm.connect()`` with no arguments).
Everything is imported lazily: ``import pomona`` stays fast and light.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pomona.client.workspace import Workspace
    from pomona.pipelines.context import step_context
    from pomona.pipelines.decorators import pipeline, step
    from pomona.tracking.run import ActiveRun
    from pomona.types import ArtifactInfo

__all__ = [
    "__version__",
    "active_run",
    "autolog",
    "connect",
    "end_run",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "pipeline",
    "set_tag",
    "start_run",
    "step",
    "step_context",
    "workspace",
]

__version__ = "0.1.0"

_default: Workspace | None = None
_lock = threading.Lock()


def connect(target: str | Path | None = None, **overrides: Any) -> Workspace:
    """Open a workspace (see ``pomona.client.connect``); it becomes the default one."""
    global _default
    from pomona.client.connect import connect as _connect

    ws = _connect(target, **overrides)
    with _lock:
        _default = ws
    return ws


def workspace() -> Workspace:
    """The default workspace, opened on first use."""
    with _lock:
        current = _default
    return current if current is not None else connect()


def start_run(name: str | None = None, **kwargs: Any) -> ActiveRun:
    """Start a run in the default workspace (see ``Workspace.start_run``)."""
    return workspace().start_run(name, **kwargs)


def autolog(*, disable: bool = False, log_models: bool = True) -> None:
    """Log every scikit-learn ``fit`` into the default workspace (see ``Workspace.autolog``)."""
    workspace().autolog(disable=disable, log_models=log_models)


def active_run() -> ActiveRun | None:
    """The innermost active run of the default workspace."""
    return workspace().active_run()


def _require_run() -> ActiveRun:
    run = active_run()
    if run is None:
        from pomona.errors import InvalidInputError

        raise InvalidInputError(
            "No run is active.", hint="Start one with 'with pomona.start_run(): ...'."
        )
    return run


def log_metric(key: str, value: float, step: int = 0) -> None:
    _require_run().log_metric(key, value, step)


def log_metrics(values: Mapping[str, float], step: int = 0) -> None:
    _require_run().log_metrics(values, step)


def log_param(key: str, value: object) -> None:
    _require_run().log_param(key, value)


def log_params(values: Mapping[str, object]) -> None:
    _require_run().log_params(values)


def set_tag(key: str, value: object) -> None:
    _require_run().set_tag(key, value)


def log_artifact(local_path: str | Path, artifact_path: str | None = None) -> ArtifactInfo:
    return _require_run().log_artifact(local_path, artifact_path)


def end_run(status: str = "finished") -> None:
    """End the innermost active run."""
    _require_run().end(status)


_LAZY = {
    "pipeline": "pomona.pipelines.decorators",
    "step": "pomona.pipelines.decorators",
    "step_context": "pomona.pipelines.context",
}


def __getattr__(name: str) -> Any:
    """``pm.step``, ``pm.pipeline``, ``pm.step_context``: imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pomona' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
