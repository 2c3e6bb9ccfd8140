"""One window of the prediction logs in DuckDB: the files, the view, the queries.

The logs are the serving contract's Parquet files (indexed by ``prediction_log_files``):
``request_id, deployment, model_name, model_version, variant, ts_ms, latency_ms, status,
error``, one ``in__<feature>`` column per input, ``prediction``, ``confidence``,
``proba__<class>`` and, when a model logs them, ``emb__<i>`` embedding columns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select

from pomona.artifacts.base import ArtifactStore
from pomona.features._duck import DuckSettings, connect, ident, literal, path_list, translated
from pomona.metadata import MetadataStore
from pomona.metadata.schema import prediction_log_files
from pomona.types import Digest

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "EMBEDDING",
    "INPUT",
    "PROBA",
    "LogFile",
    "WindowView",
    "fetch_files",
    "log_files",
    "next_log_ts",
    "window_view",
]

INPUT = "in__"
EMBEDDING = "emb__"
PROBA = "proba__"


@dataclass(frozen=True)
class LogFile:
    digest: str
    min_ts_ms: int
    max_ts_ms: int


def log_files(
    db: MetadataStore, deployment: str, start_ms: int | None, end_ms: int | None
) -> list[LogFile]:
    """Index rows of the files that may hold rows with ``start_ms <= ts_ms < end_ms``."""
    t = prediction_log_files
    conds: list[Any] = [t.c.deployment == deployment]
    if start_ms is not None:
        conds.append(t.c.max_ts_ms >= start_ms)
    if end_ms is not None:
        conds.append(t.c.min_ts_ms < end_ms)
    stmt = select(t.c.digest, t.c.min_ts_ms, t.c.max_ts_ms).where(and_(*conds))
    with db.read() as conn:
        rows = conn.execute(stmt.order_by(t.c.min_ts_ms, t.c.pk)).all()
    return [LogFile(r.digest, int(r.min_ts_ms), int(r.max_ts_ms)) for r in rows]


def next_log_ts(db: MetadataStore, deployment: str, after_ms: int | None) -> int | None:
    """The earliest logged time at or after ``after_ms`` (``None``: no logs there)."""
    t = prediction_log_files
    stmt = select(t.c.min_ts_ms, t.c.max_ts_ms).where(t.c.deployment == deployment)
    if after_ms is not None:
        stmt = stmt.where(t.c.max_ts_ms >= after_ms)
    with db.read() as conn:
        rows = conn.execute(stmt).all()
    if not rows:
        return None
    return min(max(int(r.min_ts_ms), after_ms or 0) for r in rows)


def fetch_files(artifacts: ArtifactStore, files: Sequence[LogFile], folder: Path) -> list[Path]:
    """Local, verified copies named by digest (reused while they exist)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in files:
        path = folder / f"{f.digest.removeprefix('sha256:')}.parquet"
        if not path.exists():
            artifacts.get_file(Digest(f.digest), path)
        paths.append(path)
    return paths


@dataclass
class WindowView:
    """A DuckDB connection with the view ``w``: the window's rows of one deployment."""

    con: duckdb.DuckDBPyConnection
    columns: dict[str, str]

    @property
    def inputs(self) -> list[str]:
        return sorted(c for c in self.columns if c.startswith(INPUT))

    @property
    def embeddings(self) -> list[str]:
        found = [c for c in self.columns if c.startswith(EMBEDDING)]
        return sorted(found, key=lambda c: (len(c), c))

    @property
    def probabilities(self) -> list[str]:
        return sorted(c for c in self.columns if c.startswith(PROBA))

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with translated("read the prediction logs"):
            return list(self.con.execute(sql, list(params)).fetchall())

    def arrays(self, names: Sequence[str], where: str = "status = 'ok'") -> dict[str, Any]:
        """The named columns of the matching rows as numpy (masked where null)."""
        if not names:
            return {}
        cols = ", ".join(ident(n) for n in names)
        with translated("read the prediction logs"):
            found: dict[str, Any] = self.con.execute(
                f"SELECT {cols} FROM w WHERE {where}"
            ).fetchnumpy()
        return found


@contextmanager
def window_view(
    paths: Sequence[Path],
    deployment: str,
    start_ms: int,
    end_ms: int,
    *,
    memory_limit_mb: int = 1024,
) -> Iterator[WindowView]:
    """Open DuckDB on ``paths`` with ``w`` = the rows of ``[start_ms, end_ms)``.

    Shadow rows (copies of requests answered by a shadow model) are left out: their inputs
    would count twice, and their request ids are the primary's.
    """
    con = connect(DuckSettings(memory_limit_mb=memory_limit_mb, threads=1))
    try:
        if paths:
            source = f"read_parquet({path_list(list(paths))}, union_by_name=true)"
            where = (
                f"deployment = {literal(deployment)} AND ts_ms >= {int(start_ms)}"
                f" AND ts_ms < {int(end_ms)} AND variant IS DISTINCT FROM 'shadow'"
            )
            with translated("read the prediction logs"):
                con.execute(f"CREATE VIEW w AS SELECT * FROM {source} WHERE {where}")
                described = con.execute("DESCRIBE w").fetchall()
            columns = {str(r[0]): str(r[1]) for r in described}
        else:
            con.execute(
                "CREATE VIEW w AS SELECT NULL::VARCHAR AS request_id, NULL::VARCHAR AS status,"
                " NULL::DOUBLE AS latency_ms, NULL::BIGINT AS ts_ms WHERE false"
            )
            columns = {"request_id": "VARCHAR", "status": "VARCHAR", "latency_ms": "DOUBLE"}
        yield WindowView(con, columns)
    finally:
        con.close()
