"""Find a pipeline by target: ``path/to/file.py:name`` or ``package.module:name``.

``load_pipeline`` runs whatever file or module it is given: it serves the user's own
process. Targets that someone else wrote (a schedule or a monitor's ``on_alert`` sent to a
server, a row a scheduler reads) go through ``PipelineSources`` first: a ``.py`` file inside
the workspace folder (resolved, symlinks followed, no hidden folder such as ``.pomona``
where uploaded blobs live) or a module on an allow-list; never any other file or module.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pomona.errors import InvalidInputError
from pomona.pipelines._worker import _import, resolve_ref
from pomona.pipelines.decorators import Pipeline
from pomona.plugins import is_trusted_module, split_target

__all__ = ["POMONA_PIPELINE_MODULES", "PipelineSources", "load_pipeline"]

POMONA_PIPELINE_MODULES = (
    "pomona.examples.apples.pipelines",
    "pomona.examples.fraud.pipelines",
)
"""The modules that define Pomona's own pipelines (the examples' training and retraining)."""
_EXECUTOR_NAME = re.compile(r"[A-Za-z_][\w.\-]*", re.ASCII)


@dataclass(frozen=True)
class PipelineSources:
    """Where a server or a scheduler may load pipelines from, for targets it did not write.

    Args:
        root: the workspace folder: ``.py`` files under it (resolved), outside hidden
            folders (``.pomona`` holds the uploaded blobs, ``.venv`` installed code).
        trusted_modules: modules (besides Pomona's own pipelines) whose pipelines may be
            imported by name (``pipelines.trusted_modules``).
        executors: executor specs beyond plain names (``local``, ``process``, ``ray``, a
            plugin's name): the workspace's own ``pipelines.executor`` when it is a
            ``ray://`` address or a ``module:Class`` path.
    """

    root: Path
    trusted_modules: Sequence[str] = ()
    executors: Sequence[str] = ()

    def check(self, target: object, *, field: str = "target") -> str:
        """The target in a form that loads exactly what was checked: a resolved file path,
        or a module name.

        Raises:
            InvalidInputError: a file outside the workspace or in a hidden folder, not a
                ``.py`` file, a module off the allow-list, or not a target at all.
        """
        text = target if isinstance(target, str) else ""
        ref, at, file = text.partition("@")
        spec, sep, name = ref.rpartition(":")
        if not sep or not spec or not re.fullmatch(r"[A-Za-z_]\w*", name, re.ASCII):
            raise InvalidInputError(
                f"{str(target)[:200]!r} does not name a pipeline.",
                hint="Write FILE.py:NAME (a file in the workspace) or package.module:NAME.",
                details={"field": field},
            )
        if at:  # a stored reference: module:name@/path/file.py
            module, _ = split_target(ref, field=field)
            if self._module_allowed(module):
                return ref  # imported by name, not by running the file
            return f"{self._file(file, field)}:{name}"  # under a name of Pomona's choosing
        if spec.endswith(".py") or "/" in spec or "\\" in spec:
            return f"{self._file(spec, field)}:{name}"
        module, _ = split_target(ref, field=field)
        if not self._module_allowed(module):
            raise InvalidInputError(
                f"The pipeline '{ref}' is in module '{module}', which is not on the allow-list "
                "(importing a module runs its code).",
                hint="Put the pipeline in a .py file inside the workspace folder, or add its "
                "module to pipelines.trusted_modules in the workspace's pomona.toml.",
                details={"field": field, "module": module},
            )
        return ref

    def load(self, target: object, *, field: str = "target") -> Pipeline[...]:
        """``load_pipeline`` of the checked target."""
        return load_pipeline(self.check(target, field=field))

    def check_executor(self, name: object, *, field: str = "executor") -> None:
        """Refuse an executor spec the workspace did not configure, other than a plain name:
        a ``module:Class`` path would import that module, and a ``ray://`` address would
        send steps to (and unpickle results from) any host.

        Raises:
            InvalidInputError: such a spec, or not a name.
        """
        if name is None or name in self.executors:
            return
        if not isinstance(name, str) or not _EXECUTOR_NAME.fullmatch(name):
            raise InvalidInputError(
                f"{str(name)[:200]!r} is not an executor this server runs for clients.",
                hint="Use local, process, ray or an installed plugin's name; other executors "
                "only as the workspace's own pipelines.executor.",
                details={"field": field},
            )

    def _module_allowed(self, module: str) -> bool:
        return is_trusted_module(module, (*POMONA_PIPELINE_MODULES, *self.trusted_modules))

    def _file(self, spec: str, field: str) -> Path:
        root = self.root.resolve()
        raw = Path(spec)
        try:
            path = (raw if raw.is_absolute() else root / raw).resolve(strict=True)
        except (OSError, RuntimeError):
            path = None
        inside = path is not None and path.is_relative_to(root)
        if (
            path is None
            or not inside
            or not path.is_file()
            or path.suffix != ".py"
            or any(part.startswith(".") for part in path.relative_to(root).parts)
        ):
            raise InvalidInputError(
                f"The pipeline file '{spec[:200]}' is not a .py file inside the workspace "
                "folder (outside hidden folders such as .pomona).",
                hint="Put the pipeline file in the workspace folder, or name a module listed "
                "in pipelines.trusted_modules.",
                details={"field": field},
            )
        if "@" in str(path) or ":" in str(path):  # load_pipeline would split the path there
            raise InvalidInputError(
                f"The pipeline file {path.name} lies in a folder whose path holds '@' or ':'.",
                hint="Move the workspace to a path without '@' and ':'.",
                details={"field": field},
            )
        return path


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
