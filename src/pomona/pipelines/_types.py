"""Type hints of steps, and whether what one step returns fits what the next expects."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["compatible", "describe", "hints_of", "output_types"]

_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)


def hints_of(fn: Callable[..., Any]) -> dict[str, Any]:
    """Resolved annotations; a name that cannot be resolved (e.g. only imported under
    TYPE_CHECKING) leaves that annotation unchecked."""
    try:
        return typing.get_type_hints(fn)
    except Exception:
        hints: dict[str, Any] = {}
        for name, ann in getattr(fn, "__annotations__", {}).items():
            if not isinstance(ann, str):
                hints[name] = ann
        return hints


def output_types(fn: Callable[..., Any], outputs: tuple[str, ...]) -> dict[str, Any]:
    """The annotation of each output: the return type, or its members for several outputs."""
    ret = hints_of(fn).get("return", Any)
    if len(outputs) == 1:
        return {outputs[0]: ret}
    args = typing.get_args(ret) if typing.get_origin(ret) is tuple else ()
    if len(args) == len(outputs) and Ellipsis not in args:
        return dict(zip(outputs, args, strict=True))
    return {name: Any for name in outputs}


def _unchecked(tp: Any) -> bool:
    return tp in (Any, object, inspect.Parameter.empty, None) or isinstance(
        tp, (str, typing.TypeVar, typing.ForwardRef)
    )


def compatible(produced: Any, expected: Any) -> bool:
    """Whether a value of type ``produced`` may be passed where ``expected`` is declared."""
    if _unchecked(produced) or _unchecked(expected):
        return True
    if typing.get_origin(expected) in _UNION_TYPES:
        return any(compatible(produced, member) for member in typing.get_args(expected))
    if typing.get_origin(produced) in _UNION_TYPES:
        return all(compatible(member, expected) for member in typing.get_args(produced))
    if produced is type(None) or expected is type(None):
        return produced is expected
    p = typing.get_origin(produced) or produced
    e = typing.get_origin(expected) or expected
    if not (isinstance(p, type) and isinstance(e, type)):
        return True
    if e is float and p is int:
        return True
    try:
        return issubclass(p, e)
    except TypeError:  # protocols that are not runtime-checkable
        return True


def describe(tp: Any) -> str:
    """A type as people write it: ``int``, ``pandas.DataFrame``, ``list[str]``."""
    if isinstance(tp, type) and not typing.get_args(tp):
        module = tp.__module__
        if module == "builtins":
            return tp.__qualname__
        return f"{module.split('.')[0]}.{tp.__qualname__}"
    return str(tp).replace("typing.", "")
