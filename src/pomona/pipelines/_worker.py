"""What runs in a worker for each step: load inputs, call the function, store outputs.

``execute`` is the task entry every executor calls (``pomona.pipelines._worker:execute``);
its payload is plain data plus the artifact store (or a picklable way to open it).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import importlib
import io
import linecache
import sys
import tempfile
import threading
import traceback
import types
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from pomona.artifacts.base import ArtifactStore
from pomona.errors import InvalidInputError
from pomona.pipelines.context import StepContext, _active, _Opener
from pomona.pipelines.materializers import (
    SMALL_BYTES,
    get_materializer,
    materializer_for,
    type_name,
)
from pomona.types import Digest

__all__ = ["execute", "resolve_ref"]

MAX_LOG_BYTES = 4 * 1024 * 1024


def execute(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Run one step. User errors come back as ``{"ok": False, "error", "traceback"}``."""
    for entry in reversed(payload.get("sys_path", [])):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    store = _store(payload["store"])
    logs = _Capture()
    scratch = _scratch() / f"pomona-step-{uuid.uuid4().hex}"
    try:
        found = resolve_ref(payload["step"])
        fn = getattr(found, "fn", found)
        kwargs = dict(payload["params"])
        for param, link in payload["inputs"].items():
            kwargs[param] = _load(store, link, Path(f"{scratch}-in-{param}"))
        ctx = StepContext(
            run_id=payload["run_id"],
            pipeline=payload["pipeline"],
            step=payload["name"],
            attempt=payload["attempt"],
            params=dict(payload["params"]),
            _workspace=payload.get("workspace"),
        )
        with _active(ctx), logs.capture():
            value = fn(**kwargs)
        outputs = _save(store, payload, value, scratch)
    except Exception as exc:
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
            "logs": logs.store(store),
        }
    return {"ok": True, "outputs": outputs, "logs": logs.store(store)}


def _scratch() -> Path:
    """Where files on their way in and out of the store go: the system's temporary folder,
    one uniquely named file each, removed right after (a folder per step would cost a mkdir
    and an rmdir, slow on some file systems)."""
    return Path(tempfile.gettempdir())


def _store(spec: Any) -> ArtifactStore:
    if isinstance(spec, ArtifactStore):
        return spec
    if isinstance(spec, _Opener):
        store = spec.open()
        assert isinstance(store, ArtifactStore)
        return store
    raise InvalidInputError("The step's payload names no artifact store.")


def resolve_ref(ref: str) -> Any:
    """The object at ``module:qualname[@file]``, importing the module (or its file)."""
    target, _, file = ref.partition("@")
    module_name, _, qualname = target.partition(":")
    module = sys.modules.get(module_name)
    if module is not None and file and getattr(module, "__file__", None) != file:
        module = None  # e.g. __main__ of a Ray worker is not the user's script
    if module is None:
        module = _import(module_name, file)
    obj: Any = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _import(module_name: str, file: str, *, fresh: bool = False) -> Any:
    """Import a module by name, or execute its file (again if ``fresh``: edited code)."""
    if not file:
        return importlib.import_module(module_name)
    name = "__pomona_main__" if module_name == "__main__" else module_name
    found = sys.modules.get(name)
    if not fresh and found is not None and getattr(found, "__file__", None) == file:
        return found
    source = Path(file).read_text()
    code = compile(source, file, "exec", dont_inherit=True)  # no stale bytecode cache
    lines = source.splitlines(keepends=True)
    linecache.cache[file] = (len(source), None, lines, file)  # getsource sees this code
    module = types.ModuleType(name)
    module.__file__ = file
    module.__pomona_file__ = True  # type: ignore[attr-defined]
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _load(store: ArtifactStore, link: Mapping[str, Any], dest: Path) -> Any:
    materializer = get_materializer(link["materializer"])
    digest = Digest(link["digest"])
    if link.get("size", SMALL_BYTES + 1) <= SMALL_BYTES:
        value = materializer.from_bytes(store.read_bytes(digest))
        if value is not NotImplemented:
            return value
    try:
        store.get_file(Digest(link["digest"]), dest)
        return materializer.load(dest)
    finally:
        dest.unlink(missing_ok=True)


def _save(store: ArtifactStore, payload: Mapping[str, Any], value: Any, scratch: Path) -> list[Any]:
    names: list[str] = list(payload["outputs"])
    step = payload["name"]
    if len(names) == 1:
        values = {names[0]: value}
    elif isinstance(value, Mapping) and set(value) == set(names):
        values = dict(value)
    elif isinstance(value, (tuple, list)) and len(value) == len(names):
        values = dict(zip(names, value, strict=True))
    else:
        raise InvalidInputError(
            f"Step '{step}' declares outputs {', '.join(names)} but returned a "
            f"{type(value).__name__} that does not hold them.",
            hint="Return a tuple in the order of outputs=, or a dict keyed by their names.",
            details={"step": step},
        )
    saved = []
    for name, item in values.items():
        materializer = materializer_for(item, step=step, allow_pickle=payload["pickle"])
        data = materializer.to_bytes(item)
        if data is not None and len(data) <= SMALL_BYTES:
            digest, size = _put_bytes(store, data)
        else:
            path = Path(f"{scratch}-out-{name}")
            try:
                materializer.save(item, path)
                digest, size = _put(store, path)
            finally:
                path.unlink(missing_ok=True)
        saved.append(
            {
                "name": name,
                "digest": digest,
                "materializer": materializer.name,
                "type_name": type_name(item),
                "size": size,
            }
        )
    return saved


def _put(store: ArtifactStore, path: Path) -> tuple[Digest, int]:
    """Store a file unless the store has its content already (no write, no fsync)."""
    hasher = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            hasher.update(chunk)
    digest = Digest("sha256:" + hasher.hexdigest())
    if store.exists(digest):
        return digest, path.stat().st_size
    return store.put_file(path)


def _put_bytes(store: ArtifactStore, data: bytes) -> tuple[Digest, int]:
    digest = Digest("sha256:" + hashlib.sha256(data).hexdigest())
    if store.exists(digest):
        return digest, len(data)
    return store.put_bytes(data)


_buffer: contextvars.ContextVar[io.StringIO | None] = contextvars.ContextVar(
    "pomona_step_logs", default=None
)
_install_lock = threading.Lock()


class _Router(io.TextIOBase):
    """Stands in for ``sys.stdout``/``sys.stderr``: text written while a step runs also goes
    to that step's buffer (per thread and context, so steps running at once in one process
    keep their own logs); everything still reaches the real stream."""

    def __init__(self, echo: TextIO) -> None:
        self.echo = echo

    def write(self, text: str) -> int:
        buffer = _buffer.get()
        if buffer is not None and buffer.tell() < MAX_LOG_BYTES:
            buffer.write(text)
        with contextlib.suppress(Exception):
            self.echo.write(text)
        return len(text)

    def flush(self) -> None:
        with contextlib.suppress(Exception):
            self.echo.flush()

    def isatty(self) -> bool:
        return False


def _route(name: str) -> None:
    with _install_lock:
        current = getattr(sys, name)
        if not isinstance(current, _Router):
            setattr(sys, name, _Router(current))


class _Capture:
    """What the step prints (stdout and stderr), still echoed to the real streams."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @contextlib.contextmanager
    def capture(self) -> Iterator[None]:
        _route("stdout")
        _route("stderr")
        token = _buffer.set(self.buffer)
        try:
            yield
        finally:
            _buffer.reset(token)

    def store(self, store: ArtifactStore) -> str | None:
        text = self.buffer.getvalue()
        if not text:
            return None
        try:
            digest, _ = store.put_bytes(text.encode("utf-8", "replace"))
        except Exception:
            return None
        return digest
