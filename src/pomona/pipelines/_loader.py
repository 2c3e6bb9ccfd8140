"""Find a pipeline by target: ``path/to/file.py:name`` or ``package.module:name``."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any

from pomona.errors import InvalidInputError
from pomona.pipelines._worker import _import, resolve_ref
from pomona.pipelines.decorators import Pipeline

__all__ = ["load_pipeline"]


def load_pipeline(target: str) -> Pipeline[...]:
    """The ``@pipeline`` object a target names.

    Raises:
        InvalidInputError: the file or module is missing, or the name is not a pipeline.
    """
    spec, sep, name = target.rpartition(":")
    if "@" in target:  # a stored reference: module:qualname@/path/file.py
        found = _resolve(target)
    elif not sep or not spec or not name:
        raise InvalidInputError(
            f"'{target}' does not name a pipeline.",
            hint="Write FILE.py:NAME or package.module:NAME, e.g. pipelines.py:train_apples.",
            details={"field": "target"},
        )
    elif spec.endswith(".py") or "/" in spec or "\\" in spec:
        found = getattr(_load_file(Path(spec)), name, None)
    else:
        try:
            module = importlib.import_module(spec)
        except ImportError as exc:
            raise InvalidInputError(
                f"Cannot import module '{spec}': {exc}.", details={"field": "target"}
            ) from exc
        found = getattr(module, name, None)
    if not isinstance(found, Pipeline):
        what = "nothing" if found is None else f"a {type(found).__name__}"
        raise InvalidInputError(
            f"'{target}' is {what}, not a pipeline.",
            hint="Decorate the function with @pomona.pipeline.",
            details={"field": "target"},
        )
    return found


def _resolve(ref: str) -> Any:
    try:
        return resolve_ref(ref)
    except (ImportError, AttributeError, OSError) as exc:
        raise InvalidInputError(
            f"The pipeline '{ref}' cannot be loaded: {exc}.",
            hint="Its file or module may have moved since the run.",
            details={"field": "target"},
        ) from exc


def _load_file(path: Path) -> Any:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise InvalidInputError(
            f"Pipeline file {path} does not exist.", details={"field": "target"}
        )
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    name = f"pomona_pipeline_{path.stem}_{digest}".replace("-", "_")
    try:
        return _import(name, str(path), fresh=True)
    except Exception as exc:
        raise InvalidInputError(
            f"Loading the pipeline file {path} failed: {type(exc).__name__}: {exc}.",
            hint="Run 'python FILE' to see the full error.",
            details={"field": "target"},
        ) from exc
