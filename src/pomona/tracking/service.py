"""The embedded tracking service: rules and transactions over the metadata and artifact stores."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection, delete, func, select, update

from pomona._utils.clock import from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.artifacts.base import ArtifactStore, check_digest
from pomona.errors import (
    ArtifactNotFoundError,
    ConflictError,
    InvalidInputError,
    RunNotFoundError,
)
from pomona.metadata import MetadataStore, insert_ignore, insert_returning, upsert
from pomona.metadata.schema import (
    blob_ref_columns,
    idempotency_keys,
    latest_metrics,
    metrics,
    run_artifacts,
    runs,
)
from pomona.metadata.schema import params as params_tbl
from pomona.metadata.schema import tags as tags_tbl
from pomona.tracking import _queries
from pomona.tracking._filter import compile_filter
from pomona.tracking.validation import (
    MAX_PARAM_LENGTH,
    MAX_TAG_LENGTH,
    check_artifact_path,
    check_key,
    check_metric_value,
    check_name,
    check_step,
    check_text_map,
)
from pomona.types import ArtifactInfo, Digest, Metric, MetricPoint, Page, Run, RunId, RunStatus

__all__ = ["TrackingService"]

MAX_PAGE = 10_000


class TrackingService:
    """Runs, params, metrics, tags and artifacts on a metadata store and an artifact store."""

    def __init__(self, metadata: MetadataStore, artifacts: ArtifactStore) -> None:
        self._db = metadata
        self._blobs = artifacts
        self._pks: dict[str, int] = {}  # run_id -> pk; pks are never reused

    # --- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        *,
        run_id: str | None = None,
        name: str | None = None,
        experiment: str = "default",
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        source: str | None = None,
        git_commit: str | None = None,
        git_dirty: bool | None = None,
    ) -> Run:
        run_id = run_id or uuid.uuid4().hex
        if len(run_id) != 32 or not all(c in "0123456789abcdef" for c in run_id):
            raise InvalidInputError(
                f"'{run_id}' is not a run id (32 lowercase hex characters).",
                details={"field": "run_id"},
            )
        name = check_name(name or f"run-{run_id[:8]}", "run name")
        experiment = check_name(experiment, "experiment")
        tag_values = check_text_map(tags or {}, "tag", MAX_TAG_LENGTH)
        param_values = check_text_map(params or {}, "param", MAX_PARAM_LENGTH)
        now = now_ms()
        with self._db.write() as conn:
            if parent_run_id is not None:
                self._pk(conn, parent_run_id)
            row = {
                "run_id": run_id,
                "name": name,
                "experiment": experiment,
                "status": RunStatus.RUNNING.value,
                "start_ms": now,
                "heartbeat_ms": now,
                "parent_run_id": parent_run_id,
                "source": source,
                "git_commit": git_commit,
                "git_dirty": git_dirty,
            }
            pk = insert_returning(conn, runs, row, ["run_id"], runs.c.pk)
            if pk is None:  # a retried create: the first one won
                return self._load(conn, run_id)
            self._pks[run_id] = pk
            for table, values in ((tags_tbl, tag_values), (params_tbl, param_values)):
                if values:
                    conn.execute(
                        table.insert(),
                        [{"run_pk": pk, "key": k, "value": v} for k, v in values.items()],
                    )
        start = from_ms(now)
        assert start is not None
        return Run(
            run_id=RunId(run_id),
            name=name,
            experiment=experiment,
            status=RunStatus.RUNNING,
            start_at=start,
            end_at=None,
            heartbeat_at=start,
            parent_run_id=RunId(parent_run_id) if parent_run_id else None,
            source=source,
            git_commit=git_commit,
            git_dirty=git_dirty,
            params=param_values,
            tags=tag_values,
        )

    def get_run(self, run_id: str) -> Run:
        with self._db.read() as conn:
            return self._load(conn, run_id)

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> None:
        status = RunStatus(status)
        if status is RunStatus.RUNNING:
            raise InvalidInputError("A run cannot be ended with status 'running'.")
        with self._db.write() as conn:
            done = conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id, runs.c.status == RunStatus.RUNNING.value)
                .values(status=status.value, end_ms=now_ms())
            )
            if done.rowcount == 0:
                self._pk(conn, run_id)  # raises for an unknown run; an ended one is fine

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        if not run_ids:
            return
        with self._db.write() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.run_id.in_(list(run_ids)), runs.c.status == "running")
                .values(heartbeat_ms=now_ms())
            )

    def mark_dead_runs(self, timeout_s: float) -> int:
        """Mark running runs without a heartbeat for ``timeout_s`` as dead; returns how many."""
        cutoff = now_ms() - int(timeout_s * 1000)
        with self._db.write() as conn:
            result = conn.execute(
                update(runs)
                .where(runs.c.status == "running", runs.c.heartbeat_ms < cutoff)
                .values(status=RunStatus.DEAD.value, end_ms=runs.c.heartbeat_ms)
            )
            return int(result.rowcount)

    def delete_run(self, run_id: str) -> None:
        with self._db.write() as conn:
            pk = self._pk(conn, run_id)
            conn.execute(
                update(runs)
                .where(runs.c.pk == pk, runs.c.deleted_ms.is_(None))
                .values(deleted_ms=now_ms())
            )

    def restore_run(self, run_id: str) -> None:
        with self._db.write() as conn:
            pk = self._pk(conn, run_id)
            conn.execute(update(runs).where(runs.c.pk == pk).values(deleted_ms=None))

    # --- logging ------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        metric_rows = _metric_rows(metrics)
        param_values = check_text_map(params or {}, "param", MAX_PARAM_LENGTH)
        tag_values = check_text_map(tags or {}, "tag", MAX_TAG_LENGTH)
        with self._db.write() as conn:
            pk = self._pk(conn, run_id)
            if idempotency_key is not None and not insert_ignore(
                conn,
                idempotency_keys,
                {"key": idempotency_key[:64], "created_ms": now_ms()},
                ["key"],
            ):
                return  # applied before: a retry after a lost response
            if param_values:
                self._write_params(conn, pk, param_values)
            if tag_values:
                upsert(
                    conn,
                    tags_tbl,
                    [{"run_pk": pk, "key": k, "value": v} for k, v in tag_values.items()],
                    keys=["run_pk", "key"],
                    update=["value"],
                )
            if metric_rows:
                self._write_metrics(conn, pk, metric_rows)

    def _write_params(self, conn: Connection, pk: int, values: dict[str, str]) -> None:
        stored = dict(
            conn.execute(
                select(params_tbl.c.key, params_tbl.c.value).where(
                    params_tbl.c.run_pk == pk, params_tbl.c.key.in_(list(values))
                )
            ).all()
        )
        for key, value in values.items():
            if key in stored and stored[key] != value:
                raise ConflictError(
                    f"Param '{key}' was logged as '{stored[key]}'; it cannot change to '{value}'.",
                    hint="Params are fixed once logged: log a new run, or use a metric or tag.",
                    details={"field": f"params.{key}", "stored": stored[key], "new": value},
                )
        new = [{"run_pk": pk, "key": k, "value": v} for k, v in values.items() if k not in stored]
        if new:
            conn.execute(params_tbl.insert(), new)

    def _write_metrics(self, conn: Connection, pk: int, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            row["run_pk"] = pk
        conn.execute(metrics.insert(), rows)
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            best = latest.get(row["key"])
            if best is None or (row["step"], row["ts_ms"]) >= (best["step"], best["ts_ms"]):
                latest[row["key"]] = row
        upsert(
            conn,
            latest_metrics,
            list(latest.values()),
            keys=["run_pk", "key"],
            update=["step", "ts_ms", "value"],
            where=_is_newer,
        )

    # --- search -------------------------------------------------------------------------

    def search_runs(
        self,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        order_by: Sequence[str] = (),
        limit: int = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Run]:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInputError(
                f"limit must be between 1 and {MAX_PAGE}, got {limit}.",
                details={"field": "limit"},
            )
        offset = decode_page_token(page_token)
        cond = compile_filter(filter)
        stmt = select(runs)
        if cond is not None:
            stmt = stmt.where(cond)
        if experiment is not None:
            stmt = stmt.where(runs.c.experiment == experiment)
        if not include_deleted:
            stmt = stmt.where(runs.c.deleted_ms.is_(None))
        count_stmt = select(func.count()).select_from(stmt.subquery())
        stmt = _queries.apply_order(stmt, order_by).limit(limit + 1).offset(offset)
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
            total = conn.execute(count_stmt).scalar_one() if offset == 0 else None
            items = _queries.runs_from_rows(conn, rows[:limit])
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return Page(items=items, next_page_token=token, total=total)

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> list[MetricPoint]:
        check_key(key, "metric")
        if max_points is not None and max_points < 2:
            raise InvalidInputError(
                "max_points must be at least 2.", details={"field": "max_points"}
            )
        with self._db.read() as conn:
            return _queries.metric_history(conn, self._pk(conn, run_id), key, max_points)

    def list_experiments(self) -> list[str]:
        """Names of the experiments that have runs not deleted, sorted."""
        stmt = (
            select(runs.c.experiment)
            .where(runs.c.deleted_ms.is_(None))
            .distinct()
            .order_by(runs.c.experiment)
        )
        with self._db.read() as conn:
            return list(conn.execute(stmt).scalars())

    def metric_keys(self, run_id: str) -> list[str]:
        """Every metric key logged to the run."""
        with self._db.read() as conn:
            pk = self._pk(conn, run_id)
            stmt = select(latest_metrics.c.key).where(latest_metrics.c.run_pk == pk)
            return sorted(conn.execute(stmt).scalars())

    # --- artifacts ----------------------------------------------------------------------

    def log_artifact(self, run_id: str, path: str, stream: BinaryIO) -> ArtifactInfo:
        path = check_artifact_path(path)
        self.get_run(run_id)  # fail before uploading
        digest, size = self._blobs.put_stream(stream)
        with self._db.write() as conn:
            pk = self._pk(conn, run_id)
            upsert(
                conn,
                run_artifacts,
                [
                    {
                        "run_pk": pk,
                        "path": path,
                        "digest": digest,
                        "size": size,
                        "created_ms": now_ms(),
                    }
                ],
                keys=["run_pk", "path"],
                update=["digest", "size", "created_ms"],
            )
        return ArtifactInfo(path=path, digest=digest, size=size)

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]:
        with self._db.read() as conn:
            pk = self._pk(conn, run_id)
            rows = conn.execute(
                select(run_artifacts.c.path, run_artifacts.c.digest, run_artifacts.c.size)
                .where(run_artifacts.c.run_pk == pk)
                .order_by(run_artifacts.c.path)
            )
            return [ArtifactInfo(p, Digest(d), s) for p, d, s in rows]

    def artifact_info(self, run_id: str, path: str) -> ArtifactInfo:
        path = check_artifact_path(path)
        with self._db.read() as conn:
            row = conn.execute(
                select(run_artifacts.c.digest, run_artifacts.c.size).where(
                    run_artifacts.c.run_pk == self._pk(conn, run_id),
                    run_artifacts.c.path == path,
                )
            ).first()
        if row is not None:
            return ArtifactInfo(path, Digest(row.digest), row.size)
        raise ArtifactNotFoundError(
            f"Run '{run_id}' has no artifact '{path}'.",
            hint=f"Run 'pomona runs show {run_id}' to list its artifacts.",
            details={"run_id": run_id, "path": path},
        )

    def open_artifact(self, run_id: str, path: str) -> BinaryIO:
        """A verified stream of a run's file."""
        info = self.artifact_info(run_id, path)
        return self._blobs.open(check_digest(info.digest))  # type: ignore[return-value]

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        info = self.artifact_info(run_id, path)
        return self._blobs.get_file(check_digest(info.digest), Path(dest))

    # --- garbage collection ---------------------------------------------------------------

    def purge_deleted_runs(self) -> tuple[int, list[Digest]]:
        """Remove deleted runs for good and free blobs no other record refers to.

        Returns:
            How many runs were purged and the digests whose storage was freed.
        """
        with self._db.write() as conn:
            pks = list(
                conn.execute(select(runs.c.pk).where(runs.c.deleted_ms.is_not(None))).scalars()
            )
            if not pks:
                return 0, []
            candidates = set(
                conn.execute(
                    select(run_artifacts.c.digest).where(run_artifacts.c.run_pk.in_(pks))
                ).scalars()
            )
            for table in (metrics, latest_metrics, params_tbl, tags_tbl, run_artifacts):
                conn.execute(delete(table).where(table.c.run_pk.in_(pks)))
            conn.execute(delete(runs).where(runs.c.pk.in_(pks)))
            self._pks.clear()
            still_used: set[str] = set()
            for col in blob_ref_columns():
                if candidates:
                    still_used.update(
                        conn.execute(select(col).where(col.in_(list(candidates)))).scalars()
                    )
        freed = [Digest(d) for d in sorted(candidates - still_used)]
        for digest in freed:
            self._blobs.delete(digest)
        return len(pks), freed

    # --- helpers ------------------------------------------------------------------------

    def _pk(self, conn: Connection, run_id: str) -> int:
        cached = self._pks.get(run_id)
        if cached is not None:
            return cached
        pk = conn.execute(select(runs.c.pk).where(runs.c.run_id == run_id)).scalar()
        if pk is None:
            raise RunNotFoundError(run_id)
        if len(self._pks) < 100_000:
            self._pks[run_id] = int(pk)
        return int(pk)

    def _load(self, conn: Connection, run_id: str) -> Run:
        row = conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
        if row is None:
            raise RunNotFoundError(run_id)
        return _queries.runs_from_rows(conn, [row])[0]


def _metric_rows(items: Sequence[Metric]) -> list[dict[str, Any]]:
    rows = []
    now = now_ms()
    for m in items:
        key = check_key(m.key, "metric")
        value = check_metric_value(key, m.value)
        rows.append(
            {
                "key": key,
                "value": None if math.isnan(value) else value,
                "step": check_step(key, m.step),
                "ts_ms": m.timestamp_ms or now,
            }
        )
    return rows


def _is_newer(new: Any) -> Any:
    """Upsert guard: the incoming latest value wins only if its step (then time) is later."""
    return (new.step > latest_metrics.c.step) | (
        (new.step == latest_metrics.c.step) & (new.ts_ms >= latest_metrics.c.ts_ms)
    )
