"""The pipeline store on the metadata database (SQLite or PostgreSQL)."""

from __future__ import annotations

from pomona.metadata import MetadataStore
from pomona.pipelines._sql_runs import SqlRuns
from pomona.pipelines._sql_schedules import Delivery, SqlSchedules

__all__ = ["Delivery", "SqlPipelineStore"]


class SqlPipelineStore(SqlRuns, SqlSchedules):
    """``PipelineStore`` on a ``MetadataStore``, plus what only a scheduler next to the
    database does: claiming ticks and outbox deliveries."""

    def __init__(self, metadata: MetadataStore) -> None:
        self._db = metadata
