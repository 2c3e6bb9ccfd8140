"""``@step`` and ``@pipeline``: typed functions that become a graph when the pipeline is built."""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, Generic, ParamSpec, TypeVar, overload

from pomona.errors import InvalidInputError
from pomona.executors.base import Resources
from pomona.pipelines._graph import Builder, Dag, building, current_builder
from pomona.pipelines._hashing import code_hash
from pomona.pipelines._params import bind_params

__all__ = ["Pipeline", "Step", "StepOptions", "code_ref", "pipeline", "step"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class StepOptions:
    """How a step runs: caching, retries, timeout, resources, outputs, serialisation."""

    name: str
    cache: bool = True
    retries: int = 0
    retry_delay_s: float = 1.0
    retry_backoff: float = 2.0
    timeout_s: float | None = None
    resources: Resources = dataclasses.field(default_factory=Resources)
    outputs: tuple[str, ...] = ("output",)
    pickle: bool = False
    version: str | None = None

    def __post_init__(self) -> None:
        where = {"step": self.name}
        if self.retries < 0 or self.retry_delay_s < 0 or self.retry_backoff < 1:
            raise InvalidInputError(
                f"Step '{self.name}': retries and retry_delay_s must be ≥ 0 and retry_backoff ≥ 1.",
                details=where,
            )
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise InvalidInputError(f"Step '{self.name}': timeout_s must be > 0.", details=where)
        if not self.outputs or len(set(self.outputs)) != len(self.outputs):
            raise InvalidInputError(
                f"Step '{self.name}': outputs must be distinct names.", details=where
            )


def code_ref(fn: Callable[..., Any]) -> str:
    """Where a function lives: ``package.module:qualname``, with ``@/path/file.py`` appended
    when it was loaded from a file (a script or ``pomona run path.py:name``)."""
    module = getattr(fn, "__module__", None) or "__main__"
    ref = f"{module}:{fn.__qualname__}"
    mod = sys.modules.get(module)
    file = getattr(mod, "__file__", None)
    spec = getattr(mod, "__spec__", None)
    if file and (module == "__main__" or spec is None or getattr(mod, "__pomona_file__", False)):
        ref += f"@{file}"
    return ref


class Step(Generic[P, R]):
    """A function run as one step of a pipeline.

    Called inside a ``@pipeline`` function it records a node and returns a reference to its
    output; called anywhere else it simply runs the function.
    """

    def __init__(self, fn: Callable[P, R], options: StepOptions) -> None:
        if "<locals>" in fn.__qualname__:
            raise InvalidInputError(
                f"Step '{options.name}' is defined inside a function.",
                hint="Define steps at module level: workers import them by name.",
                details={"step": options.name},
            )
        for param in inspect.signature(fn).parameters.values():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise InvalidInputError(
                    f"Step '{options.name}' takes *{param.name}: steps take named parameters.",
                    details={"step": options.name, "parameter": param.name},
                )
        self.fn = fn
        self.options = options
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.options.outputs

    @cached_property
    def signature(self) -> inspect.Signature:
        return inspect.signature(self.fn)

    @cached_property
    def ref(self) -> str:
        return code_ref(self.fn)

    @cached_property
    def code_hash(self) -> str:
        return code_hash(self.fn, self.options.version)

    def with_options(self, **changes: Any) -> Step[P, R]:
        """A copy with other options, e.g. ``train.with_options(name="train_rf", retries=2)``."""
        return Step(self.fn, dataclasses.replace(self.options, **changes))

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        builder = current_builder()
        if builder is None:
            return self.fn(*args, **kwargs)
        result: R = builder.add(self, args, kwargs)
        return result

    def __repr__(self) -> str:
        return f"<step {self.name} ({self.ref})>"


class Pipeline(Generic[P]):
    """A function whose calls to steps make a graph; run it with ``ws.pipelines.run``."""

    def __init__(self, fn: Callable[P, Any], name: str) -> None:
        self.fn = fn
        self.name = name
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    @cached_property
    def ref(self) -> str:
        return code_ref(self.fn)

    def bind(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The pipeline's parameters: ``params`` (strings from a command line are converted
        by type hint) over the defaults. Raises ``InvalidInputError`` naming the parameter."""
        return bind_params(self.name, self.fn, params or {})

    def build(self, params: Mapping[str, Any] | None = None) -> Dag:
        """Call the function with the parameters and check the graph it makes.

        Raises:
            InvalidInputError: unknown or mistyped parameters, missing step inputs, type
                mismatches between connected steps, cycles.
        """
        values = self.bind(params)
        with building(Builder(self.name)) as builder:
            self.fn(**values)  # type: ignore[call-arg]
        return builder.dag()

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        raise InvalidInputError(
            f"Pipeline '{self.name}' is not run by calling it.",
            hint=f"Run it with pomona.connect().pipelines.run({self.name}, params={{...}}) "
            f"or 'pomona run FILE:{self.name}'.",
        )

    def __repr__(self) -> str:
        return f"<pipeline {self.name} ({self.ref})>"


@overload
def step(fn: Callable[P, R], /) -> Step[P, R]: ...
@overload
def step(
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_delay_s: float = 1.0,
    retry_backoff: float = 2.0,
    timeout_s: float | None = None,
    cpus: float = 1.0,
    gpus: float = 0.0,
    memory_mb: int | None = None,
    outputs: tuple[str, ...] | list[str] | None = None,
    pickle: bool = False,
    version: str | None = None,
) -> Callable[[Callable[P, R]], Step[P, R]]: ...
def step(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    cache: bool = True,
    retries: int = 0,
    retry_delay_s: float = 1.0,
    retry_backoff: float = 2.0,
    timeout_s: float | None = None,
    cpus: float = 1.0,
    gpus: float = 0.0,
    memory_mb: int | None = None,
    outputs: tuple[str, ...] | list[str] | None = None,
    pickle: bool = False,
    version: str | None = None,
) -> Step[P, R] | Callable[[Callable[P, R]], Step[P, R]]:
    """Make a function a pipeline step.

    Args:
        name: the step's name (default: the function's).
        cache: reuse an earlier result when code, parameters and inputs are unchanged.
        retries: extra tries after a failure, waiting ``retry_delay_s × retry_backoff^n``.
        timeout_s: fail (and stop) the step after this long.
        cpus, gpus, memory_mb: what one run of the step needs (Ray schedules by them).
        outputs: names of several outputs; the function then returns a tuple (or a dict).
        pickle: store outputs no safe format fits with pickle (off by default).
        version: bump to invalidate cached results without changing the code.
    """

    def wrap(f: Callable[P, R]) -> Step[P, R]:
        options = StepOptions(
            name=name or f.__name__,
            cache=cache,
            retries=retries,
            retry_delay_s=retry_delay_s,
            retry_backoff=retry_backoff,
            timeout_s=timeout_s,
            resources=Resources(cpus=cpus, gpus=gpus, memory_mb=memory_mb),
            outputs=tuple(outputs) if outputs else ("output",),
            pickle=pickle,
            version=version,
        )
        return Step(f, options)

    return wrap(fn) if fn is not None else wrap


@overload
def pipeline(fn: Callable[P, Any], /) -> Pipeline[P]: ...
@overload
def pipeline(*, name: str | None = None) -> Callable[[Callable[P, Any]], Pipeline[P]]: ...
def pipeline(
    fn: Callable[P, Any] | None = None, /, *, name: str | None = None
) -> Pipeline[P] | Callable[[Callable[P, Any]], Pipeline[P]]:
    """Make a function a pipeline: its parameters are the pipeline's, its step calls the graph."""

    def wrap(f: Callable[P, Any]) -> Pipeline[P]:
        return Pipeline(f, name or f.__name__)

    return wrap(fn) if fn is not None else wrap
