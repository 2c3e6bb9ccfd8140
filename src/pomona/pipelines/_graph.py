"""The graph of a pipeline, built by calling its steps, and checked before anything runs."""

from __future__ import annotations

import contextvars
import inspect
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pomona.errors import InvalidInputError
from pomona.pipelines._types import compatible, describe, hints_of, output_types

if TYPE_CHECKING:
    from pomona.pipelines.decorators import Step

__all__ = ["Builder", "Dag", "Node", "StepOutput", "building", "current_builder"]

_builder: contextvars.ContextVar[Builder | None] = contextvars.ContextVar(
    "pomona_pipeline_builder", default=None
)


def current_builder() -> Builder | None:
    return _builder.get()


@contextmanager
def building(builder: Builder) -> Iterator[Builder]:
    token = _builder.set(builder)
    try:
        yield builder
    finally:
        _builder.reset(token)


class StepOutput:
    """What calling a step returns while a pipeline is built: a reference to its output."""

    __slots__ = ("_builder", "annotation", "node", "output")

    def __init__(self, builder: Builder, node: str, output: str, annotation: Any) -> None:
        self._builder = builder
        self.node = node
        self.output = output
        self.annotation = annotation

    def after(self, *others: StepOutput | tuple[StepOutput, ...]) -> StepOutput:
        """Run this output's step only after the steps of ``others`` (no data passed)."""
        for other in others:
            for out in other if isinstance(other, tuple) else (other,):
                self._builder.nodes[self.node].after.add(out.node)
        return self

    def __repr__(self) -> str:
        return f"<output '{self.output}' of step '{self.node}'>"

    def __bool__(self) -> bool:
        raise InvalidInputError(
            f"The output of step '{self.node}' has no value while the pipeline is built.",
            hint="Branch on pipeline parameters, or move the decision into a step.",
        )

    def __iter__(self) -> Iterator[StepOutput]:
        raise InvalidInputError(
            f"Step '{self.node}' has one output; it cannot be unpacked.",
            hint="Declare several with @step(outputs=('train', 'test')).",
        )


@dataclass
class Node:
    """One call of a step in the pipeline."""

    name: str
    step: Step[..., Any]
    inputs: dict[str, StepOutput]
    params: dict[str, Any]
    after: set[str] = field(default_factory=set)

    @property
    def upstream(self) -> list[str]:
        return sorted({o.node for o in self.inputs.values()} | self.after)


@dataclass
class Builder:
    """Collects the nodes while a pipeline function runs."""

    pipeline: str
    nodes: dict[str, Node] = field(default_factory=dict)

    def add(self, step: Step[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = self._unique(step.name)
        bound = _bind(step, name, args, kwargs)
        inputs: dict[str, StepOutput] = {}
        params: dict[str, Any] = {}
        hints = hints_of(step.fn)
        for param, value in bound.items():
            if isinstance(value, StepOutput):
                _check_types(name, param, value, hints.get(param))
                inputs[param] = value
            else:
                params[param] = _json_value(name, param, value)
        self.nodes[name] = Node(name, step, inputs, params)
        types = output_types(step.fn, step.outputs)
        refs = tuple(StepOutput(self, name, out, types[out]) for out in step.outputs)
        return refs[0] if len(refs) == 1 else refs

    def _unique(self, base: str) -> str:
        name, n = base, 1
        while name in self.nodes:
            n += 1
            name = f"{base}_{n}"
        return name

    def dag(self) -> Dag:
        if not self.nodes:
            raise InvalidInputError(
                f"Pipeline '{self.pipeline}' calls no step.",
                hint="Call functions decorated with @step inside the @pipeline function.",
            )
        return Dag(self.pipeline, _topological(self.pipeline, self.nodes))


@dataclass(frozen=True)
class Dag:
    """A checked, acyclic pipeline graph, nodes in an order where each follows its inputs."""

    pipeline: str
    nodes: tuple[Node, ...]

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise InvalidInputError(
            f"Pipeline '{self.pipeline}' has no step '{name}'.",
            hint="Its steps: " + ", ".join(n.name for n in self.nodes) + ".",
            details={"step": name},
        )

    def dependants(self, name: str) -> list[str]:
        """Every step that depends on ``name``, directly or not."""
        found: list[str] = []
        frontier = {name}
        for node in self.nodes:
            if frontier & set(node.upstream):
                frontier.add(node.name)
                found.append(node.name)
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "nodes": [
                {
                    "name": n.name,
                    "step": n.step.ref,
                    "upstream": n.upstream,
                    "inputs": {p: [o.node, o.output] for p, o in n.inputs.items()},
                    "params": n.params,
                    "outputs": list(n.step.outputs),
                }
                for n in self.nodes
            ]
        }


def _bind(
    step: Step[..., Any], name: str, args: tuple[Any, ...], kw: dict[str, Any]
) -> dict[str, Any]:
    sig = step.signature
    known = list(sig.parameters)
    for key in kw:
        if key not in sig.parameters:
            raise InvalidInputError(
                f"Step '{name}' has no parameter '{key}'.",
                hint=f"Its parameters: {', '.join(known) or 'none'}.",
                details={"step": name, "parameter": key},
            )
    try:
        bound = sig.bind_partial(*args, **kw)
    except TypeError as exc:
        raise InvalidInputError(
            f"Step '{name}' cannot be called this way: {exc}.",
            hint=f"Its parameters: {', '.join(known) or 'none'}.",
            details={"step": name},
        ) from exc
    for param in sig.parameters.values():
        if param.name not in bound.arguments and param.default is inspect.Parameter.empty:
            raise InvalidInputError(
                f"Step '{name}' is missing its input '{param.name}'.",
                hint="Pass it a step's output or a value when calling the step.",
                details={"step": name, "parameter": param.name},
            )
    bound.apply_defaults()
    return dict(bound.arguments)


def _check_types(name: str, param: str, value: StepOutput, expected: Any) -> None:
    if not compatible(value.annotation, expected):
        raise InvalidInputError(
            f"Step '{name}' input '{param}' expects {describe(expected)}, but step "
            f"'{value.node}' returns {describe(value.annotation)}.",
            hint="Fix the type hints, or pass the right step's output.",
            details={"step": name, "parameter": param, "upstream": value.node},
        )


def _json_value(name: str, param: str, value: Any) -> Any:
    def reject(_: Any) -> Any:
        raise TypeError

    try:
        json.dumps(value, default=reject, allow_nan=True)
    except (TypeError, ValueError):
        nested = _has_output(value)
        raise InvalidInputError(
            f"Step '{name}' parameter '{param}' is a {type(value).__name__}, "
            "which is not a JSON value"
            + (" (step outputs nested in a container)." if nested else "."),
            hint="Pass data between steps as step outputs; parameters are numbers, strings, "
            "booleans, lists and dicts.",
            details={"step": name, "parameter": param},
        ) from None
    return value


def _has_output(value: Any) -> bool:
    if isinstance(value, StepOutput):
        return True
    if isinstance(value, Mapping):
        return any(_has_output(v) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return any(_has_output(v) for v in value)
    return False


def _topological(pipeline: str, nodes: dict[str, Node]) -> tuple[Node, ...]:
    """Nodes in call order, except that a node comes after everything it depends on."""
    order: list[str] = []
    placed: set[str] = set()
    left = list(nodes)
    while left:
        ready = next((n for n in left if set(nodes[n].upstream) <= placed), None)
        if ready is None:
            cycle = _find_cycle(nodes, set(left))
            raise InvalidInputError(
                f"Pipeline '{pipeline}' has a cycle: {' → '.join(cycle)}.",
                hint="Remove one of the .after() dependencies that closes it.",
                details={"steps": cycle},
            )
        order.append(ready)
        placed.add(ready)
        left.remove(ready)
    return tuple(nodes[name] for name in order)


def _find_cycle(nodes: dict[str, Node], left: set[str]) -> list[str]:
    start = min(left)
    path = [start]
    while True:
        nxt = min(u for u in nodes[path[-1]].upstream if u in left)
        if nxt in path:
            cycle = [*path[path.index(nxt) :], nxt]
            return list(reversed(cycle))
        path.append(nxt)
