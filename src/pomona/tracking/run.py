"""The run a training script logs into: ``with ws.start_run(name=...) as run: ...``."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from pomona._utils.retry import retrying
from pomona.tracking._logger import RunLogger
from pomona.tracking.base import TrackingAPI
from pomona.tracking.validation import check_artifact_path, check_key, check_metric_value
from pomona.types import ArtifactInfo, Run, RunId, RunStatus

__all__ = ["ActiveRun"]

T = TypeVar("T")


class ActiveRun:
    """A running run. Metrics are queued and written in the background; params, tags and
    artifacts are written before the call returns (retried while a server is unreachable)."""

    def __init__(
        self,
        api: TrackingAPI,
        logger: RunLogger,
        run: Run,
        *,
        retry_max_s: float,
        on_end: Callable[[ActiveRun], None] | None = None,
    ) -> None:
        self._api = api
        self._logger = logger
        self._retry_max_s = retry_max_s
        self._on_end = on_end
        self.run_id: RunId = run.run_id
        self.name = run.name
        self._ended = False
        self._checked_keys: set[str] = set()
        logger.track(self.run_id)

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.run_id!r}, name={self.name!r})"

    @property
    def info(self) -> Run:
        """The run as stored now (metrics written so far)."""
        self._logger.flush()
        return self._call(lambda: self._api.get_run(self.run_id))

    @property
    def ended(self) -> bool:
        return self._ended

    # --- metrics (queued) -------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        """Queue one metric value; validated now, written in the background."""
        if key not in self._checked_keys:
            check_key(key, "metric")
            self._checked_keys.add(key)
        if type(value) is not float:
            value = check_metric_value(key, value)
        if type(step) is not int:
            from pomona.tracking.validation import check_step

            step = check_step(key, step)
        self._logger.enqueue(self.run_id, key, value, step, time.time_ns() // 1_000_000)

    def log_metrics(self, values: Mapping[str, float], step: int = 0) -> None:
        for key, value in values.items():
            self.log_metric(key, value, step)

    # --- params, tags, artifacts (written now) --------------------------------------------

    def log_param(self, key: str, value: object) -> None:
        self.log_params({key: value})

    def log_params(self, values: Mapping[str, object]) -> None:
        """Write params; re-logging a param with a different value raises ``ConflictError``."""
        text = {k: v if isinstance(v, str) else str(v) for k, v in values.items()}
        self._call(lambda: self._api.log_batch(self.run_id, params=text))

    def set_tag(self, key: str, value: object) -> None:
        self.set_tags({key: value})

    def set_tags(self, values: Mapping[str, object]) -> None:
        text = {k: str(v) for k, v in values.items()}
        self._call(lambda: self._api.log_batch(self.run_id, tags=text))

    def log_artifact(
        self, local_path: str | Path, artifact_path: str | None = None
    ) -> ArtifactInfo:
        """Store a local file under ``artifact_path`` (default: its file name)."""
        local = Path(local_path)
        target = check_artifact_path(artifact_path or local.name)
        with local.open("rb") as fh:
            return self._call(lambda: self._upload(target, fh))

    def log_text(self, text: str, artifact_path: str) -> ArtifactInfo:
        data = text.encode()
        return self._call(
            lambda: self._api.log_artifact(self.run_id, artifact_path, io.BytesIO(data))
        )

    def log_dict(self, value: Mapping[str, Any], artifact_path: str) -> ArtifactInfo:
        return self.log_text(
            json.dumps(value, indent=2, sort_keys=True, default=str), artifact_path
        )

    def _upload(self, target: str, fh: Any) -> ArtifactInfo:
        fh.seek(0)
        return self._api.log_artifact(self.run_id, target, fh)

    # --- lifecycle --------------------------------------------------------------------------

    def flush(self) -> None:
        """Wait until every queued metric is written."""
        self._logger.flush()
        self._raise_background_error()

    def end(self, status: RunStatus | str = RunStatus.FINISHED) -> None:
        """Write what is queued and mark the run ended (idempotent)."""
        if self._ended:
            return
        self._ended = True
        try:
            self._logger.flush()
            self._logger.untrack(self.run_id)
            self._call(lambda: self._api.end_run(self.run_id, RunStatus(status)))
        finally:
            if self._on_end is not None:
                self._on_end(self)
        self._raise_background_error()

    def _raise_background_error(self) -> None:
        error = self._logger.pop_error(self.run_id)
        if error is not None:
            raise error

    def _call(self, fn: Callable[[], T]) -> T:
        return retrying(fn, self._retry_max_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is None:
            self.end(RunStatus.FINISHED)
        elif issubclass(et, KeyboardInterrupt):
            self.end(RunStatus.KILLED)
        else:
            self.end(RunStatus.FAILED)
