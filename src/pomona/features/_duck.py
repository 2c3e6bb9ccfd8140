"""DuckDB connections with bounded memory, SQL quoting, and DuckDB errors as Pomona errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pomona.errors import BackendError, InvalidInputError, PomonaError

if TYPE_CHECKING:
    import duckdb

__all__ = ["DuckSettings", "connect", "ident", "literal", "path_list", "translated"]


@dataclass(frozen=True)
class DuckSettings:
    """Resources one DuckDB connection may use."""

    memory_limit_mb: int = 1024
    threads: int | None = None
    temp_dir: Path | None = None


def connect(settings: DuckSettings) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that spills to ``temp_dir`` past its memory limit.

    Without the ICU extension (not bundled) DuckDB handles TIMESTAMPTZ in UTC.
    """
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": f"{settings.memory_limit_mb}MB",
        "enable_external_access": True,
    }
    if settings.threads:
        config["threads"] = settings.threads
    if settings.temp_dir is not None:
        settings.temp_dir.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(settings.temp_dir)
    with translated("start DuckDB"):
        return duckdb.connect(config=config)


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def path_list(paths: list[Path]) -> str:
    """A SQL list of file paths, for ``read_parquet([...])``."""
    return "[" + ", ".join(literal(str(p)) for p in paths) + "]"


@contextmanager
def translated(what: str, *, source: str | None = None) -> Iterator[None]:
    """Turn DuckDB errors into Pomona errors; data that cannot be read or cast is the
    caller's input (``InvalidInputError``), anything else a ``BackendError``."""
    import duckdb

    try:
        yield
    except PomonaError:
        raise
    except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
        raise InvalidInputError(
            f"Cannot {what}: {source or 'the data'} does not fit: {_first_line(exc)}",
            hint="Check the column types against the feature view's declared types.",
        ) from exc
    except duckdb.IOException as exc:
        raise InvalidInputError(
            f"Cannot {what}: {_first_line(exc)}", hint="Check that the file exists and is valid."
        ) from exc
    except duckdb.Error as exc:
        raise BackendError(f"DuckDB failed to {what}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
