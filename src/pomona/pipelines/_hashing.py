"""Hashes that decide whether a step's earlier result can be reused."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["FORMAT_VERSION", "cache_key", "code_hash"]

FORMAT_VERSION = "1"
"""Bumped when the way outputs are stored changes, so older cached results are not reused."""


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def code_hash(fn: Callable[..., Any], version: str | None = None) -> str:
    """The step function's code: its syntax tree without decorators, comments or layout,
    so reformatting or changing ``@step(...)`` options does not invalidate the cache."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
        node = tree.body[0]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.decorator_list = []
            if node.body and _is_docstring(node.body[0]):
                node.body = node.body[1:] or [ast.Pass()]
        text = ast.dump(node, annotate_fields=False)
    except (OSError, TypeError, SyntaxError, IndexError):
        code = fn.__code__
        text = code.co_code.hex() + repr(code.co_consts) + repr(code.co_names)
    return _sha(f"{text}\x00{version or ''}")


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def cache_key(
    code: str,
    params: Mapping[str, Any],
    inputs: Mapping[str, str],
    outputs: Sequence[str],
    pickle: bool,
) -> str:
    """Code hash + parameters + input artifact digests (+ how outputs are stored)."""
    blob = json.dumps(
        {
            "v": FORMAT_VERSION,
            "code": code,
            "params": params,
            "inputs": dict(sorted(inputs.items())),
            "outputs": list(outputs),
            "pickle": pickle,
        },
        sort_keys=True,
        default=str,
        allow_nan=True,
    )
    return _sha(blob)
