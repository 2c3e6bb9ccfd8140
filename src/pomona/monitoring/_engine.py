"""Windows: compute each closed window once, and recompute a window's performance when
feedback for its requests arrives late.

Windows are aligned on multiples of the window length since the Unix epoch. A window is
closed ``lag_s`` after its end (log rows are written a moment after the request). Stretches
without logs are skipped, not stored. The monitor's ``cursor_ms`` is the end of the last
computed window: a run starts there, so old windows are never read again — except for
late labels, found by joining the request ids of new feedback with the logs of the last
``labels_within_s``.
"""

from __future__ import annotations

import logging
import shutil
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pomona.artifacts.base import ArtifactStore
from pomona.errors import PomonaError
from pomona.features._duck import ident
from pomona.metadata import MetadataStore
from pomona.metadata.schema import feedback, monitor_windows
from pomona.monitoring._compute import base_stats, performance, profile_window
from pomona.monitoring._logs import INPUT, fetch_files, log_files, next_log_ts, window_view
from pomona.monitoring._points import performance_points, points
from pomona.monitoring._profile import as_float, as_text
from pomona.monitoring._store import MonitorRow, MonitorStore
from pomona.monitoring.base import Reference, ReferenceProvider
from pomona.monitoring.drift import DriftDetector
from pomona.monitoring.records import Monitor

__all__ = ["WindowEngine"]

log = logging.getLogger("pomona.monitoring")

_FEEDBACK_BATCH = 200_000
_OVERLAP_MS = 2_000
_DETECTORS = 8


class WindowEngine:
    """Computes windows of monitors into the ``MonitorStore``."""

    def __init__(
        self,
        db: MetadataStore,
        artifacts: ArtifactStore,
        store: MonitorStore,
        *,
        references: ReferenceProvider | None,
        cache_dir: Path,
        memory_limit_mb: int = 1024,
        max_windows: int = 500,
    ) -> None:
        self.db = db
        self.artifacts = artifacts
        self.store = store
        self.references = references
        self.cache_dir = Path(cache_dir)
        self.memory_limit_mb = memory_limit_mb
        self.max_windows = max_windows
        self._detectors: OrderedDict[tuple[Any, ...], tuple[Reference, DriftDetector]] = (
            OrderedDict()
        )

    # --- new windows ------------------------------------------------------------------

    def compute_due(self, row: MonitorRow, at_ms: int) -> list[int]:
        """Compute the closed windows after the cursor; returns their starts."""
        monitor = row.monitor
        size = monitor.window_ms
        closed_until = at_ms - int(monitor.lag_s * 1000)
        cursor = row.cursor_ms
        done: list[int] = []
        while len(done) < self.max_windows:
            first = next_log_ts(self.db, monitor.deployment, cursor)
            if first is None:
                break
            start = first - first % size
            if cursor is not None:
                start = max(start, cursor)
            if start + size > closed_until:
                break
            self.compute_window(row, start, start + size)
            done.append(start)
            cursor = start + size
            self.store.advance(row.pk, cursor_ms=cursor)
        return done

    def compute_window(self, row: MonitorRow, start: int, end: int) -> None:
        monitor = row.monitor
        paths = self._paths(monitor.deployment, start, end)
        with window_view(
            paths, monitor.deployment, start, end, memory_limit_mb=self.memory_limit_mb
        ) as view:
            base = base_stats(view)
            profile: dict[str, Any] = dict(base)
            if base["rows"]:
                model = _primary(base)
                reference, detector, note = self._reference(monitor, model)
                profile = profile_window(view, monitor, base, reference, detector)
                profile["reference"] = note
                if monitor.performance:
                    perf = performance(
                        view, self._labels(monitor.deployment, start), monitor.slices
                    )
                    profile["performance"] = _with_history(perf, None)
        self.store.save_window(row.pk, start, end, profile, points(profile))

    def _paths(self, deployment: str, start: int | None, end: int | None) -> list[Path]:
        files = log_files(self.db, deployment, start, end)
        return fetch_files(self.artifacts, files, self.cache_dir / "logs")

    # --- references -------------------------------------------------------------------

    def _reference(
        self, monitor: Monitor, model: str
    ) -> tuple[Reference | None, DriftDetector | None, dict[str, Any]]:
        try:
            reference = self._load_reference(monitor, model)
        except PomonaError as exc:
            return None, None, {"error": exc.message}
        if reference is None:
            return None, None, {"error": f"no reference data was found for {model}"}
        key = (monitor.name, reference.key, monitor.thresholds, monitor.categorical)
        cached = self._detectors.get(key)
        if cached is None:
            categorical = (*monitor.categorical, *reference.categorical)
            detector = DriftDetector(categorical=categorical, thresholds=monitor.thresholds)
            cached = (reference, detector.fit(dict(reference.columns)))
            self._detectors[key] = cached
            while len(self._detectors) > _DETECTORS:
                self._detectors.popitem(last=False)
        self._detectors.move_to_end(key)
        rows = max((len(v) for v in reference.columns.values()), default=0)
        return (
            cached[0],
            cached[1],
            {"source": reference.source, "key": reference.key, "rows": rows},
        )

    def _load_reference(self, monitor: Monitor, model: str) -> Reference | None:
        start = monitor.reference_window_ms
        if start is None:
            if self.references is None:
                return None
            return self.references.reference(monitor.deployment, model)
        end = start + monitor.window_ms
        paths = self._paths(monitor.deployment, start, end)
        with window_view(paths, monitor.deployment, start, end) as view:
            names = view.inputs
            data = view.arrays([*names, *(["prediction"] if "prediction" in view.columns else [])])
        if not names:
            return None
        columns = {
            n[len(INPUT) :]: (
                as_float(data[n]) if data[n].dtype.kind in "fiub" else as_text(data[n])
            )
            for n in names
        }
        labels = as_text(data["prediction"]) if "prediction" in data else None
        if labels is not None:
            labels = labels[[v is not None for v in labels]]
        return Reference(f"window:{start}", f"window starting {start} ms", columns, labels)

    # --- labels -----------------------------------------------------------------------

    def _labels(self, deployment: str, since_ms: int) -> Any:
        """Feedback of the deployment received since ``since_ms`` as a pyarrow table."""
        import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]

        stmt = select(feedback.c.request_id, feedback.c.label, feedback.c.received_ms).where(
            feedback.c.deployment == deployment, feedback.c.received_ms >= since_ms
        )
        with self.db.read() as conn:
            rows = conn.execute(stmt).all()
        return pa.table(
            {
                "request_id": pa.array([r.request_id for r in rows], pa.string()),
                "label": pa.array([r.label for r in rows], pa.string()),
                "received_ms": pa.array([int(r.received_ms) for r in rows], pa.int64()),
            }
        )

    def relabel(self, row: MonitorRow, at_ms: int) -> list[int]:
        """Recompute the performance of stored windows that new feedback is about."""
        monitor = row.monitor
        if not monitor.performance or row.cursor_ms is None:
            return []
        since = row.feedback_ms if row.feedback_ms is not None else row.created_ms
        stmt = (
            select(feedback.c.request_id, feedback.c.received_ms)
            .where(
                feedback.c.deployment == monitor.deployment,
                feedback.c.received_ms > since - _OVERLAP_MS,
            )
            .order_by(feedback.c.received_ms)
            .limit(_FEEDBACK_BATCH)
        )
        with self.db.read() as conn:
            fresh = conn.execute(stmt).all()
        if not fresh:
            return []
        horizon = max(at_ms - int(monitor.labels_within_s * 1000), 0)
        touched = self._touched(monitor, fresh, horizon, row.cursor_ms)
        done = []
        for stored in self.store.stored_windows(row.pk, sorted(touched)):
            if stored.rows and touched[stored.start_ms] > (stored.labels_ms or -1):
                self._recompute(row, stored.start_ms, stored.end_ms, stored.profile, at_ms)
                done.append(stored.start_ms)
        self.store.advance(row.pk, feedback_ms=max(int(r.received_ms) for r in fresh))
        return done

    def _touched(
        self, monitor: Monitor, fresh: Sequence[Any], horizon: int, cursor: int
    ) -> dict[int, int]:
        """Window start -> newest feedback received for one of its requests."""
        import pyarrow as pa

        ids = pa.table(
            {
                "request_id": pa.array([r.request_id for r in fresh], pa.string()),
                "received_ms": pa.array([int(r.received_ms) for r in fresh], pa.int64()),
            }
        )
        paths = self._paths(monitor.deployment, horizon, cursor)
        if not paths:
            return {}
        size = monitor.window_ms
        with window_view(paths, monitor.deployment, horizon, cursor) as view:
            view.con.register("fresh", ids)
            found = view.rows(
                f"SELECT ts_ms - ts_ms % {size} AS start, max(f.received_ms) FROM w"
                f" JOIN fresh f ON w.{ident('request_id')} = f.request_id GROUP BY 1"
            )
        return {int(s): int(r) for s, r in found}

    def _recompute(
        self, row: MonitorRow, start: int, end: int, profile: dict[str, Any], at_ms: int
    ) -> None:
        monitor = row.monitor
        paths = self._paths(monitor.deployment, start, end)
        with window_view(paths, monitor.deployment, start, end) as view:
            perf = performance(view, self._labels(monitor.deployment, start), monitor.slices)
        perf = _with_history(perf, profile.get("performance"), at_ms)
        profile = {**profile, "performance": perf}
        self.store.update_performance(row.pk, start, profile, performance_points(perf))
        log.info(
            "monitor %s: window %d relabelled (%s labels)",
            monitor.name,
            start,
            perf.get("labelled"),
        )

    def latest_model(self, pk: int) -> str | None:
        """The primary model of the newest window with rows."""
        with self.db.read() as conn:
            found = conn.execute(
                select(monitor_windows.c.profile)
                .where(monitor_windows.c.monitor_pk == pk, monitor_windows.c.rows > 0)
                .order_by(monitor_windows.c.start_ms.desc())
                .limit(1)
            ).first()
        if found is None:
            return None
        import json

        return _primary(json.loads(found.profile))

    def prune_cache(self, keep: Sequence[str]) -> None:
        """Delete cached log files other than ``keep`` (digests)."""
        folder = self.cache_dir / "logs"
        wanted = {d.removeprefix("sha256:") for d in keep}
        if folder.is_dir():
            for path in folder.glob("*.parquet"):
                if path.stem not in wanted:
                    path.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.cache_dir / "logs", ignore_errors=True)


def _primary(profile: dict[str, Any]) -> str:
    versions = profile.get("versions") or []
    primary = [v for v in versions if v.get("variant") == "primary"] or versions
    return str(primary[0]["model"]) if primary else ""


def _with_history(
    perf: dict[str, Any], previous: dict[str, Any] | None, at_ms: int | None = None
) -> dict[str, Any]:
    """Keep when the performance was recomputed and what it was (the last 20 times)."""
    history = list((previous or {}).get("history") or [])
    if previous is not None:
        history.append(
            {
                "at_ms": at_ms,
                "labelled": previous.get("labelled", 0),
                "accuracy": previous.get("accuracy"),
            }
        )
    return {**perf, "history": history[-20:]}
