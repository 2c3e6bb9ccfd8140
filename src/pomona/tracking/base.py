"""The tracking interface both transports (embedded and remote) implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from pomona.types import ArtifactInfo, Metric, MetricPoint, Page, Run, RunStatus

__all__ = ["TrackingAPI"]


class TrackingAPI(Protocol):
    """Runs, their params, metrics, tags and artifacts."""

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
        """Start a run; an existing ``run_id`` returns that run unchanged (retries)."""
        ...

    def get_run(self, run_id: str) -> Run:
        """The run, or ``RunNotFoundError``."""
        ...

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """Write metrics, params and tags in one transaction; a repeated key is a no-op."""
        ...

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Say that these running runs are alive."""
        ...

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> None:
        """Mark a run ended (a run already ended keeps its first end)."""
        ...

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
        """Runs matching the filter language, sorted, one page at a time."""
        ...

    def list_experiments(self) -> list[str]:
        """Names of the experiments that have runs, sorted."""
        ...

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> list[MetricPoint]:
        """Every value of a metric by step, downsampled to ``max_points`` buckets if set."""
        ...

    def log_artifact(self, run_id: str, path: str, stream: BinaryIO) -> ArtifactInfo:
        """Store a file under ``path`` inside the run."""
        ...

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]:
        """The run's files."""
        ...

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        """Copy a run's file to ``dest`` (verified against its digest)."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Mark a run deleted (idempotent); ``pomona gc`` frees its storage."""
        ...

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run`` (idempotent) until ``pomona gc`` purges the run."""
        ...
