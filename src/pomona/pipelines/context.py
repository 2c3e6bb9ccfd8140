"""What a running step can ask about itself: ``pomona.step_context()``."""

from __future__ import annotations

import contextvars
import pickle
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pomona.errors import InvalidInputError

__all__ = ["StepContext", "step_context"]

_current: contextvars.ContextVar[StepContext | None] = contextvars.ContextVar(
    "pomona_step_context", default=None
)
_opened: dict[bytes, Any] = {}
_opened_lock = threading.Lock()


@dataclass(frozen=True)
class StepContext:
    """The run and step a step function runs in, and the workspace it may use.

    Attributes:
        run_id: the pipeline run's id.
        pipeline: the pipeline's name.
        step: the step's name in the run (``train``, ``train_2`` …).
        attempt: 1 on the first try, 2 on the first retry …
        params: the step's parameters (not its input artifacts).
    """

    run_id: str
    pipeline: str
    step: str
    attempt: int
    params: dict[str, Any] = field(default_factory=dict)
    _workspace: Any = field(default=None, repr=False)

    @property
    def workspace(self) -> Any:
        """The ``pomona.client.Workspace`` of the run: the live one when the step runs in
        the caller's process, else one opened once per worker process from the same settings.

        Raises:
            InvalidInputError: the service running the pipeline was built without a workspace.
        """
        ws = self._workspace
        if ws is None:
            raise InvalidInputError(
                f"Step '{self.step}' has no workspace: its pipeline runs on bare stores.",
                hint="Run the pipeline through a workspace: pomona.connect().pipelines.run(...).",
            )
        if isinstance(ws, _Opener):
            return ws.open()
        return ws


@dataclass(frozen=True)
class _Opener:
    """A picklable way to open a resource once per process (a workspace, a store)."""

    factory: Callable[[], Any]

    def open(self) -> Any:
        key = pickle.dumps(self.factory)
        with _opened_lock:
            found = _opened.get(key)
            if found is None:
                found = _opened[key] = self.factory()
            return found


def step_context() -> StepContext:
    """The context of the step running now.

    Raises:
        InvalidInputError: called outside a running pipeline step.
    """
    ctx = _current.get()
    if ctx is None:
        raise InvalidInputError(
            "step_context() was called outside a pipeline step.",
            hint="Call it inside a function decorated with @step while its pipeline runs.",
        )
    return ctx


@contextmanager
def _active(ctx: StepContext) -> Iterator[None]:
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)
