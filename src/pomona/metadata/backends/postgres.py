"""PostgreSQL through psycopg 3: metadata at scale."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from pomona.metadata.base import MetadataStore

__all__ = ["PostgresConfig", "PostgresMetadataStore"]


class PostgresConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pool_size: int = Field(5, ge=1)
    connect_timeout_s: int = Field(10, ge=1)
    busy_timeout_s: float = Field(30.0, gt=0)  # accepted for parity with SQLite; unused


def psycopg_url(url: str) -> str:
    """``postgresql://…`` with the psycopg 3 driver named."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


class PostgresMetadataStore(MetadataStore):
    """A PostgreSQL database (``postgresql://user:pw@host:5432/db``)."""

    name: ClassVar[str] = "postgresql"

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(psycopg_url(url))
        self._config = PostgresConfig(**options)

    def _create_engine(self) -> Engine:
        return create_engine(
            self._url,
            pool_size=self._config.pool_size,
            pool_pre_ping=True,
            connect_args={"connect_timeout": self._config.connect_timeout_s},
        )

    def _unavailable(self, exc: sa_exc.DBAPIError) -> bool:
        return super()._unavailable(exc) or isinstance(exc, sa_exc.OperationalError)

    def exists(self) -> bool:
        try:
            with self.engine.connect() as conn:
                return bool(inspect(conn).has_table("alembic_version"))
        except sa_exc.OperationalError:
            return False

    def backup(self, folder: Path) -> str:
        url = make_url(self._url)
        target = folder / f"{url.database}.dump"
        return (
            f"pg_dump --format=custom --host={url.host} --port={url.port or 5432} "
            f"--username={url.username} --file={target} {url.database}"
        )
