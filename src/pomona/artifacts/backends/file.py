"""A local-directory artifact store: one file per blob, written atomically."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from pomona.artifacts.base import (
    CHUNK_SIZE,
    ArtifactStore,
    HashingReader,
    blob_key,
    check_digest,
)
from pomona.errors import ArtifactNotFoundError, BackendError, InvalidInputError
from pomona.types import Digest

__all__ = ["FileArtifactStore", "FileArtifactStoreConfig"]

_BLOB_MODE = 0o644


class FileArtifactStoreConfig(BaseModel):
    """Configuration of ``FileArtifactStore``."""

    model_config = ConfigDict(extra="forbid")

    root: Path = Field(description="Directory that holds the blobs; created on first write.")


class FileArtifactStore(ArtifactStore):
    """Stores blob ``sha256:ab…`` at ``<root>/sha256/ab/…``.

    Writes stream into ``<root>/tmp/`` while hashing, fsync, then rename into place,
    so a blob is visible under its digest only once complete. ``put_files`` does the same
    for a batch with one sync of the file system (``syncfs``, on Linux) in place of two
    fsyncs per blob: every temporary file is durable before the first rename, and every
    rename is durable before it returns.
    """

    name: ClassVar[str] = "file"
    config_class: ClassVar[type[BaseModel]] = FileArtifactStoreConfig

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def put_stream(self, stream: BinaryIO) -> tuple[Digest, int]:
        tmp_dir = self.root / "tmp"
        with _translate(f"write a blob under {self.root}"):
            tmp_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="put-")
            try:
                digest, size = _copy_hashing(stream, fd)
                dest = self._path(digest)
                if not dest.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(tmp_name, dest)
                    _fsync_dir(dest.parent)
                else:
                    _touch(dest)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp_name)
        return digest, size

    def put_files(self, paths: Sequence[Path], *, workers: int = 8) -> list[tuple[Digest, int]]:
        if len(paths) <= 1:
            return [self.put_file(p) for p in paths]
        tmp_dir = self.root / "tmp"
        temps: list[str] = []
        with _translate(f"write {len(paths)} blobs under {self.root}"):
            tmp_dir.mkdir(parents=True, exist_ok=True)
            try:
                workers = max(1, min(workers, len(paths) // 8))
                with ThreadPoolExecutor(workers) as pool:
                    slices = [paths[i::workers] for i in range(workers)]
                    parts = list(pool.map(lambda ps: _write_temps(ps, tmp_dir, temps), slices))
                    written = [parts[i % workers][i // workers] for i in range(len(paths))]
                    _sync_all(tmp_dir, [name for name, _, _ in written], pool)
                    parents = self._rename_all(written)
                    _sync_all(tmp_dir, sorted(parents), pool)
            finally:
                for name in temps:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name)
        return [(digest, size) for _, digest, size in written]

    def _rename_all(self, written: list[tuple[str, Digest, int]]) -> set[str]:
        """Move durable temporary files into place; the folders that gained an entry."""
        parents: set[str] = set()
        made: set[str] = set()
        for name, digest, _ in written:
            dest = str(self._path(digest))
            if os.path.exists(dest):
                _touch(dest)
                continue
            parent = os.path.dirname(dest)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            os.replace(name, dest)
            parents.add(parent)
        return parents

    def open(self, digest: Digest) -> HashingReader:
        path = self._path(digest)
        with _translate(f"read {path}", digest=digest, where=self.url):
            return HashingReader(path.open("rb"), digest)

    def exists(self, digest: Digest) -> bool:
        path = self._path(digest)
        with _translate(f"check {path}"):
            return path.is_file()

    def size(self, digest: Digest) -> int:
        path = self._path(digest)
        with _translate(f"stat {path}", digest=digest, where=self.url):
            return path.stat().st_size

    def delete(self, digest: Digest) -> None:
        path = self._path(digest)
        with _translate(f"delete {path}"):
            path.unlink(missing_ok=True)

    def iter_digests(self) -> Iterator[Digest]:
        base = self.root / "sha256"
        with _translate(f"list {base}"):
            prefixes = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
            for prefix in prefixes:
                for blob in prefix.iterdir():
                    with contextlib.suppress(InvalidInputError):
                        yield check_digest(f"sha256:{prefix.name}{blob.name}")

    def stored_at_ms(self, digest: Digest) -> int | None:
        try:
            return os.stat(self._path(digest)).st_mtime_ns // 1_000_000
        except FileNotFoundError:
            return None

    def iter_stored(self) -> Iterator[tuple[Digest, int | None]]:
        base = self.root / "sha256"
        with _translate(f"list {base}"):
            prefixes = sorted(p for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
            for prefix in prefixes:
                with os.scandir(prefix) as entries:
                    for entry in entries:
                        with contextlib.suppress(InvalidInputError, FileNotFoundError):
                            digest = check_digest(f"sha256:{prefix.name}{entry.name}")
                            yield digest, entry.stat().st_mtime_ns // 1_000_000

    def discard_partial(self, older_than_ms: int) -> int:
        """Remove temporary files of writes a killed process left in ``<root>/tmp``."""
        tmp_dir = self.root / "tmp"
        removed = 0
        with _translate(f"clean {tmp_dir}"):
            if not tmp_dir.is_dir():
                return 0
            with os.scandir(tmp_dir) as entries:
                for entry in entries:
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime_ns // 1_000_000 < older_than_ms:
                            os.unlink(entry.path)
                            removed += 1
        return removed

    def _path(self, digest: Digest) -> Path:
        return self.root / blob_key(check_digest(digest))


def _write_temps(
    paths: Sequence[Path], tmp_dir: Path, temps: list[str]
) -> list[tuple[str, Digest, int]]:
    """Copy files into new temporary files of ``tmp_dir`` (not synced), hashing them."""
    out = []
    for path in paths:
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="put-")
        temps.append(name)
        with Path(path).open("rb") as stream:
            digest, size = _copy_hashing(stream, fd, sync=False)
        out.append((name, digest, size))
    return out


def _sync_all(tmp_dir: Path, paths: list[str], pool: ThreadPoolExecutor) -> None:
    """Make ``paths`` (files or folders) durable: one ``syncfs`` where the OS has it."""
    syncfs = _syncfs()
    if syncfs is not None:
        fd = os.open(tmp_dir, os.O_RDONLY)
        try:
            if syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    list(pool.map(lambda p: _fsync_dir(Path(p)), paths))


@functools.cache
def _syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)`` (flush the file system holding ``fd``), else ``None``."""
    import ctypes

    try:
        fn: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return fn


def _copy_hashing(stream: BinaryIO, fd: int, *, sync: bool = True) -> tuple[Digest, int]:
    """Copy ``stream`` into the open file ``fd`` chunk by chunk; fsync (if ``sync``), close."""
    hasher = hashlib.sha256()
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := stream.read(CHUNK_SIZE):
            hasher.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fchmod(out.fileno(), _BLOB_MODE)
        if sync:
            os.fsync(out.fileno())
    return Digest("sha256:" + hasher.hexdigest()), size


def _touch(path: str | Path) -> None:
    """Mark an existing blob as stored now: ``pomona gc`` spares blobs younger than its
    grace period, and a write that finds its content already stored is such a write."""
    with contextlib.suppress(OSError):
        os.utime(path)


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (or, for a file, its content)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _translate(action: str, *, digest: Digest | None = None, where: str = "") -> Iterator[None]:
    """Turn ``OSError`` into Pomona errors; a missing file is ``ArtifactNotFoundError``."""
    try:
        yield
    except FileNotFoundError as exc:
        if digest is None:
            raise BackendError(f"Could not {action}: {exc}.") from exc
        raise ArtifactNotFoundError(
            f"Artifact {digest} is not stored in {where}.",
            hint="Check the digest, or log the artifact again.",
            details={"digest": digest},
        ) from exc
    except OSError as exc:
        raise BackendError(
            f"Could not {action}: {exc.strerror or exc}.",
            hint="Check that the directory exists, is writable and has free space.",
        ) from exc
