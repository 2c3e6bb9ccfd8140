"""The metadata store port: a SQL database with migrations, transactions and error translation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy import exc as sa_exc

from pomona.errors import (
    BackendError,
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    PomonaError,
    SchemaOutdatedError,
)
from pomona.metadata import _migrations

__all__ = ["MetadataStore"]


class MetadataStore(ABC):
    """A SQL database holding every domain's metadata (tables in ``schema.py``).

    Subclasses build the engine and know how to back the database up; this class owns
    transactions, schema checks and the translation of driver errors into Pomona errors.
    """

    name: ClassVar[str]

    def __init__(self, url: str) -> None:
        self._url = url
        self._engine: Engine | None = None

    @property
    def url(self) -> str:
        return self._url

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created on first use."""
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @abstractmethod
    def _create_engine(self) -> Engine:
        """Build the engine with the backend's connection settings."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether the database already exists (never creates it)."""

    @abstractmethod
    def backup(self, folder: Path) -> str:
        """Back the database up before a migration.

        Returns:
            What was done: the backup file's path, or the command to run.
        """

    def _unavailable(self, exc: sa_exc.DBAPIError) -> bool:
        """Whether a driver error means the database cannot be reached."""
        return bool(exc.connection_invalidated) or isinstance(exc, sa_exc.InterfaceError)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write; it holds the write lock from its start on SQLite."""
        with self._translated(), self.engine.connect() as conn:
            conn = conn.execution_options(pomona_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        with self._translated(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except PomonaError:
            raise
        except sa_exc.IntegrityError as exc:
            raise ConflictError(
                f"The change conflicts with stored data: {exc.orig}.",
                hint="Reload the object and retry.",
            ) from exc
        except sa_exc.DBAPIError as exc:
            if self._unavailable(exc):
                raise BackendUnavailableError(
                    f"The metadata database at {self.safe_url} cannot be reached: {exc.orig}.",
                    hint="Check that the database server is running and reachable.",
                ) from exc
            raise BackendError(f"The metadata database failed: {exc.orig}.") from exc
        except sa_exc.SQLAlchemyError as exc:
            raise BackendError(f"The metadata database failed: {exc}.") from exc
        except OSError as exc:
            raise BackendUnavailableError(
                f"The metadata database at {self.safe_url} cannot be reached: {exc}.",
                hint="Check the path or address in metadata.url ('pomona config show').",
            ) from exc

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden."""
        from sqlalchemy.engine import make_url

        return make_url(self._url).render_as_string(hide_password=True)

    # --- schema -------------------------------------------------------------------------

    def revision(self) -> str | None:
        """The schema revision stored in the database, or ``None`` if it has none."""
        with self.read() as conn:
            return _migrations.current_revision(conn)

    def initialize(self) -> None:
        """Create the schema in an empty database.

        Raises:
            ConflictError: the database already holds a Pomona schema.
        """
        with self._translated(), self.engine.begin() as conn:
            if _migrations.current_revision(conn) is not None:
                raise ConflictError(f"The database at {self.safe_url} is already initialised.")
            _migrations.upgrade(conn)

    def check_schema(self) -> None:
        """Raise unless the database holds the schema this Pomona needs.

        Raises:
            ConfigError: no Pomona schema, or one made by a newer Pomona.
            SchemaOutdatedError: the schema is older; ``pomona db upgrade`` fixes it.
        """
        current = self.revision()
        head = _migrations.head_revision()
        if current == head:
            return
        if current is None:
            with self.read() as conn:
                has_tables = bool(inspect(conn).get_table_names())
            what = "holds other tables" if has_tables else "is empty"
            raise ConfigError(
                f"The database at {self.safe_url} {what}: it is not a Pomona workspace.",
                hint="Run 'pomona init' to create a workspace.",
            )
        if _migrations.is_known(current):
            raise SchemaOutdatedError(
                f"The workspace database has schema {current}; this Pomona needs {head}.",
                hint="Run 'pomona db upgrade' (it backs the database up first).",
                details={"current": current, "required": head},
            )
        raise ConfigError(
            f"The workspace database has schema {current}, unknown to this Pomona.",
            hint="It was made by a newer Pomona: upgrade the pomona package.",
            details={"current": current, "required": head},
        )

    def upgrade(self, revision: str = "head") -> str | None:
        """Migrate to ``revision``; returns the revision before (``None`` if fresh)."""
        with self._translated(), self.engine.begin() as conn:
            before = _migrations.current_revision(conn)
            _migrations.upgrade(conn, revision)
        return before

    def close(self) -> None:
        """Dispose of the connection pool."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
