"""``/healthz``, ``/readyz`` and ``/metrics``."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from pomona.artifacts import ArtifactStore
from pomona.errors import PomonaError
from pomona.metadata import MetadataStore
from pomona.server._observability import ServerMetrics
from pomona.server._responses import json_response

__all__ = ["health_router"]

_PROBE = b"pomona health probe\n"


def _check_database(metadata: MetadataStore) -> str | None:
    try:
        with metadata.read() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except PomonaError as exc:
        return exc.message


def _check_artifacts(artifacts: ArtifactStore) -> str | None:
    try:
        digest, _ = artifacts.put_bytes(_PROBE)
        if artifacts.read_bytes(digest) != _PROBE:
            return "the artifact store returned different bytes"
        return None
    except PomonaError as exc:
        return exc.message


def health_router(
    metadata: MetadataStore, artifacts: ArtifactStore, metrics: ServerMetrics
) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> Response:
        """Checks the database and the artifact store for real (a query, a write and a read)."""
        checks = {"database": _check_database(metadata), "artifacts": _check_artifacts(artifacts)}
        ok = all(v is None for v in checks.values())
        body = {
            "status": "ok" if ok else "failing",
            "checks": {k: (v or "ok") for k, v in checks.items()},
        }
        return json_response(body, 200 if ok else 503)

    @router.get("/readyz")
    def readyz() -> Response:
        """Ready when the database holds the schema this server needs."""
        try:
            metadata.check_schema()
        except PomonaError as exc:
            return json_response({"status": "not ready", "reason": exc.message}, 503)
        return json_response({"status": "ready"})

    @router.get("/metrics")
    def prometheus() -> Response:
        _update_storage_gauges(metadata, metrics)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _update_storage_gauges(metadata: MetadataStore, metrics: ServerMetrics) -> None:
    import psutil

    metrics.cpu.set(psutil.cpu_percent(interval=None))
    metrics.memory.set(psutil.Process().memory_info().rss)
    path = getattr(metadata, "path", None)
    if isinstance(path, Path) and path.exists():
        metrics.db_bytes.set(path.stat().st_size)
        metrics.disk_free.set(shutil.disk_usage(path.parent).free)
