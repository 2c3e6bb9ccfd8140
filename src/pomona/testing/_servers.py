"""Real PostgreSQL and S3 (moto) servers on 127.0.0.1 for tests, started and stopped here.

Each server is a context manager; ``start()`` returns once it accepts connections and
``stop()`` (also run at interpreter exit) ends the process and deletes its files.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import weakref
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["PostgresServer", "S3Server", "ServerStartError", "free_port"]

_PG_HINT = "Install PostgreSQL: apt-get update && apt-get install -y postgresql"


class ServerStartError(RuntimeError):
    """A test server could not be started; the message carries its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    """A child process with a scratch directory; subclasses say how to launch and probe it."""

    startup_timeout = 30.0

    def __init__(self) -> None:
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: Path | None = None
        self._finalizer: weakref.finalize[..., Self] | None = None

    def _launch(self, tmpdir: Path, port: int) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> Self:
        """Start the server on a free port and wait until it is ready."""
        if self._proc is not None:
            return self
        self._tmpdir = Path(tempfile.mkdtemp(prefix=f"pomona-{type(self).__name__.lower()}-"))
        procs: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(self, _cleanup, procs, self._tmpdir)
        try:
            for _attempt in range(3):  # the port may be taken between probe and bind
                self.port = free_port()
                self._proc = self._launch(self._tmpdir, self.port)
                procs.append(self._proc)
                if self._wait_ready():
                    return self
                _terminate(self._proc)
            raise ServerStartError(f"{type(self).__name__} did not start. Log:\n{self._read_log()}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server and delete its files; safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()
        self._proc = None
        self._tmpdir = None

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if self._ready():
                return True
            time.sleep(0.05)
        return False

    def _log_file(self) -> Path:
        assert self._tmpdir is not None
        return self._tmpdir / "server.log"

    def _read_log(self) -> str:
        try:
            return self._log_file().read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _terminate(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _cleanup(procs: list[subprocess.Popen[bytes]], tmpdir: Path) -> None:
    for proc in procs:
        _terminate(proc, signal.SIGINT)  # SIGINT: PostgreSQL's "fast" shutdown; moto exits too
    shutil.rmtree(tmpdir, ignore_errors=True)


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class PostgresServer(_Server):
    """A throwaway PostgreSQL cluster (``initdb`` + ``postgres``), trust auth, no fsync.

    As root, the cluster runs as the ``postgres`` system user, since PostgreSQL refuses root.
    """

    def __init__(self, bin_dir: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self._bin_dir = Path(bin_dir) if bin_dir is not None else None

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        """SQLAlchemy URL of database ``name`` on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        conninfo = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    @staticmethod
    def find_bin_dir() -> Path | None:
        """The directory holding ``initdb`` and ``postgres``: PATH first, then Debian's."""
        found = shutil.which("initdb")
        if found and shutil.which("postgres"):
            return Path(found).parent
        candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
        candidates.sort(key=lambda p: int(Path(p).parent.parent.name), reverse=True)
        return Path(candidates[0]).parent if candidates else None

    def _launch(self, tmpdir: Path, port: int) -> subprocess.Popen[bytes]:
        data = tmpdir / "data"
        if not data.exists():
            self._initdb(tmpdir, data)
        options = [
            "-D", str(data), "-p", str(port), "-k", str(tmpdir),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
            "-c", "max_connections=200", "-c", "shared_buffers=32MB",
        ]  # fmt: skip
        with self._log_file().open("ab") as log:
            user = self._run_as()
            return subprocess.Popen(
                [str(self._bin("postgres")), *options],
                stdout=log, stderr=subprocess.STDOUT, cwd=tmpdir,
                user=user, group=user, extra_groups=[] if user else None,
            )  # fmt: skip

    def _ready(self) -> bool:
        assert self._tmpdir is not None
        try:
            lines = (self._tmpdir / "data" / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready" and _port_open(self.port)

    def _initdb(self, tmpdir: Path, data: Path) -> None:
        user = self._run_as()
        if user:
            entry = pwd.getpwnam(user)
            os.chown(tmpdir, entry.pw_uid, entry.pw_gid)
        command = [str(self._bin("initdb")), "-D", str(data), "-U", "postgres", "-A", "trust",
                   "-E", "UTF8", "--no-locale", "--no-sync"]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, cwd=tmpdir, check=False,
            user=user, group=user, extra_groups=[] if user else None,
        )  # fmt: skip
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise ServerStartError(f"initdb failed ({done.returncode}):\n{output}")

    def _bin(self, name: str) -> Path:
        bin_dir = self._bin_dir or self.find_bin_dir()
        if bin_dir is None or not (bin_dir / name).exists():
            raise ServerStartError(f"PostgreSQL's '{name}' binary was not found. {_PG_HINT}")
        return bin_dir / name

    @staticmethod
    def _run_as() -> str | None:
        """The user to run PostgreSQL as: ``postgres`` when we are root, else ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ServerStartError(
                f"Running as root, but there is no 'postgres' user to run PostgreSQL. {_PG_HINT}"
            ) from None
        return "postgres"


class S3Server(_Server):
    """A moto S3 server in a subprocess (``python -m moto.server``), with dummy credentials."""

    access_key = "pomona-test"
    secret_key = "pomona-test-secret"
    region = "us-east-1"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def options(self) -> dict[str, str]:
        """Options for ``open_artifact_store("s3://bucket", **options)``."""
        return {
            "endpoint_url": self.endpoint_url,
            "key": self.access_key,
            "secret": self.secret_key,
            "region": self.region,
        }

    def create_bucket(self, name: str) -> str:
        """Create a bucket and return its name."""
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )
        try:
            client.create_bucket(Bucket=name)
        finally:
            client.close()
        return name

    def _launch(self, tmpdir: Path, port: int) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
        with self._log_file().open("ab") as log:
            return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmpdir)

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False
