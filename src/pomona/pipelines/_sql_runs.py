"""Pipeline runs, step runs and lineage in the metadata database."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from pomona._utils.clock import now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.metadata import MetadataStore, insert_returning
from pomona.metadata.schema import pipeline_artifacts as arts
from pomona.metadata.schema import pipeline_runs as runs
from pomona.metadata.schema import pipeline_steps as steps
from pomona.pipelines import _rows
from pomona.pipelines._lineage import walk
from pomona.pipelines.records import (
    LineageGraph,
    PipelineRun,
    PipelineRunNotFoundError,
    PipelineSummary,
    RunState,
    StepRun,
    StepState,
)
from pomona.types import Page

__all__ = ["SqlRuns"]

_STEP_COLUMNS = [
    "step",
    "state",
    "attempt",
    "upstream",
    "params",
    "code_hash",
    "cache_key",
    "cache_hit",
    "start_ms",
    "end_ms",
    "error",
    "traceback",
    "logs_digest",
]


@functools.cache
def _upsert_step(dialect: str) -> Any:
    """``INSERT … ON CONFLICT (run_pk, name) DO UPDATE … RETURNING pk``, built once."""
    base = (postgresql if dialect == "postgresql" else sqlite).insert(steps)
    return base.on_conflict_do_update(
        index_elements=["run_pk", "name"],
        set_={col: base.excluded[col] for col in _STEP_COLUMNS},
    ).returning(steps.c.pk)


class SqlRuns:
    """Runs, steps and lineage edges (mixed into ``SqlPipelineStore``)."""

    _db: MetadataStore

    def _run_pk(self, conn: Connection, run_id: str) -> int:
        pk = conn.execute(select(runs.c.pk).where(runs.c.run_id == run_id)).scalar()
        if pk is None:
            raise PipelineRunNotFoundError(run_id)
        return int(pk)

    def create_run(self, run: PipelineRun, dag: dict[str, Any]) -> PipelineRun:
        with self._db.write() as conn:
            pk = insert_returning(conn, runs, _rows.run_row(run, dag), ["run_id"], runs.c.pk)
            if pk is None:  # created before (a retried request)
                return self._load(conn, run.run_id)
            if run.steps:
                conn.execute(steps.insert(), [_rows.step_row(s, pk) for s in run.steps])
        return run

    def heartbeat_run(self, run_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id, runs.c.state == RunState.RUNNING.value)
                .values(heartbeat_ms=now_ms())
            )

    def record_step(self, step: StepRun) -> None:
        self.record_steps([step])

    def record_steps(self, records: Sequence[StepRun]) -> None:
        """Write several step records (in order) in one transaction."""
        if not records:
            return
        with self._db.write() as conn:
            upsert = _upsert_step(conn.dialect.name)
            for step in records:
                run_pk = self._cached_run_pk(conn, step.run_id)
                step_pk = conn.execute(upsert, _rows.step_row(step, run_pk)).scalar_one()
                conn.execute(delete(arts).where(arts.c.step_pk == step_pk))
                rows = _rows.link_rows(step, step_pk)
                if rows:
                    conn.execute(arts.insert(), rows)

    def _cached_run_pk(self, conn: Connection, run_id: str) -> int:
        pks: dict[str, int] = self.__dict__.setdefault("_run_pks", {})
        pk = pks.get(run_id)
        if pk is None:
            pk = pks[run_id] = self._run_pk(conn, run_id)
            if len(pks) > 10_000:
                pks.clear()
        return pk

    def end_run(self, run_id: str, state: RunState, error: str | None = None) -> None:
        with self._db.write() as conn:
            self._run_pk(conn, run_id)
            conn.execute(
                update(runs)
                .where(runs.c.run_id == run_id, runs.c.state == RunState.RUNNING.value)
                .values(state=RunState(state).value, end_ms=now_ms(), error=error)
            )

    def find_cached(self, cache_key: str) -> StepRun | None:
        with self._db.read() as conn:
            row = conn.execute(
                select(steps, runs.c.run_id)
                .join(runs, runs.c.pk == steps.c.run_pk)
                .where(steps.c.cache_key == cache_key, steps.c.state == "succeeded")
                .order_by(steps.c.end_ms.desc(), steps.c.pk.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            links = conn.execute(select(arts).where(arts.c.step_pk == row.pk)).all()
        return _rows.step_from_row(row, row.run_id, links)

    def get_run(self, run_id: str) -> PipelineRun:
        with self._db.read() as conn:
            return self._load(conn, run_id)

    def _load(self, conn: Connection, run_id: str) -> PipelineRun:
        row = conn.execute(select(runs).where(runs.c.run_id == run_id)).first()
        if row is None:
            raise PipelineRunNotFoundError(run_id)
        step_rows = conn.execute(
            select(steps).where(steps.c.run_pk == row.pk).order_by(steps.c.pk)
        ).all()
        links: dict[int, list[Any]] = defaultdict(list)
        for link in conn.execute(
            select(arts).join(steps, steps.c.pk == arts.c.step_pk).where(steps.c.run_pk == row.pk)
        ):
            links[link.step_pk].append(link)
        return _rows.run_from_row(
            row, [_rows.step_from_row(s, run_id, links[s.pk]) for s in step_rows]
        )

    def list_runs(
        self,
        pipeline: str | None = None,
        *,
        state: RunState | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[PipelineRun]:
        offset = decode_page_token(page_token)
        where = []
        if pipeline is not None:
            where.append(runs.c.pipeline == pipeline)
        if state is not None:
            where.append(runs.c.state == RunState(state).value)
        cond = and_(true(), *where)
        with self._db.read() as conn:
            rows = conn.execute(
                select(runs)
                .where(cond)
                .order_by(runs.c.start_ms.desc(), runs.c.pk.desc())
                .limit(limit + 1)
                .offset(offset)
            ).all()
            total = conn.execute(select(func.count()).select_from(runs).where(cond)).scalar_one()
        more = len(rows) > limit
        return Page(
            items=[_rows.run_from_row(r) for r in rows[:limit]],
            next_page_token=encode_page_token(offset + limit) if more else None,
            total=int(total),
        )

    def list_pipelines(self) -> list[PipelineSummary]:
        with self._db.read() as conn:
            counts = conn.execute(
                select(runs.c.pipeline, func.count(), func.max(runs.c.pk)).group_by(runs.c.pipeline)
            ).all()
            latest = {
                r.pk: r
                for r in conn.execute(select(runs).where(runs.c.pk.in_([c[2] for c in counts])))
            }
        found = []
        for name, count, last_pk in sorted(counts):
            last = _rows.run_from_row(latest[last_pk])
            found.append(
                PipelineSummary(
                    name=name,
                    target=last.target,
                    runs=int(count),
                    last_run_id=last.run_id,
                    last_state=last.state,
                    last_started_at=last.started_at,
                )
            )
        return found

    def mark_dead_runs(self, timeout_s: float) -> int:
        cutoff = now_ms() - int(timeout_s * 1000)
        with self._db.write() as conn:
            dead = (
                conn.execute(
                    select(runs.c.pk).where(
                        runs.c.state == RunState.RUNNING.value, runs.c.heartbeat_ms < cutoff
                    )
                )
                .scalars()
                .all()
            )
            if not dead:
                return 0
            conn.execute(
                update(runs)
                .where(runs.c.pk.in_(dead))
                .values(
                    state=RunState.DEAD.value,
                    end_ms=runs.c.heartbeat_ms,
                    error="The process running the pipeline stopped sending heartbeats.",
                )
            )
            for old, new in (
                (StepState.RUNNING, StepState.DEAD),
                (StepState.PENDING, StepState.SKIPPED),
            ):
                conn.execute(
                    update(steps)
                    .where(steps.c.run_pk.in_(dead), steps.c.state == old.value)
                    .values(state=new.value)
                )
            return len(dead)

    def lineage(self, digest: str, direction: str, *, max_nodes: int = 500) -> LineageGraph:
        with self._db.read() as conn:
            return walk(conn, digest, direction, max_nodes)
