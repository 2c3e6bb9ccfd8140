"""Predictions in the calling process (embedded ``ws.deployments.predict``).

The same models, batchers, routes and logs as a server; the call waits until its log
rows are stored (``sync``), so a script's predictions are never lost.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

from pomona._utils.clock import now_ms
from pomona.errors import InvalidInputError
from pomona.serving._batcher import Batcher, Job, Result
from pomona.serving._counts import RequestCounts
from pomona.serving._enrich import enrich, request_spec
from pomona.serving._images import decode_images
from pomona.serving._inputs import Inputs, InputSpec, parse_json
from pomona.serving._logrows import RowMeta
from pomona.serving._routes import Route
from pomona.serving.errors import DeploymentNotFoundError
from pomona.serving.logger import PredictionLogger
from pomona.serving.runtime import ModelRuntime

if TYPE_CHECKING:
    from pomona.serving.service import DeploymentService

__all__ = ["LocalPredictor", "body_from_python"]


def body_from_python(inputs: Any) -> dict[str, Any] | list[bytes]:
    """A request body from Python objects: a DataFrame, records, columns, an array, images."""
    if isinstance(inputs, bytes | bytearray):
        return [bytes(inputs)]
    if (
        isinstance(inputs, list)
        and inputs
        and all(isinstance(i, bytes | bytearray) for i in inputs)
    ):
        return [bytes(i) for i in inputs]
    if type(inputs).__name__ == "DataFrame":
        return {"records": json.loads(inputs.to_json(orient="records"))}
    if isinstance(inputs, dict):
        if any(k in inputs for k in ("records", "columns", "instances", "images")):
            return inputs
        return {"columns": {k: np.asarray(v).tolist() for k, v in inputs.items()}}
    if isinstance(inputs, list) and inputs and all(isinstance(r, dict) for r in inputs):
        return {"records": inputs}
    if isinstance(inputs, np.ndarray | list):
        return {"instances": np.asarray(inputs).tolist()}
    raise InvalidInputError(
        f"Cannot predict on a {type(inputs).__name__}.",
        hint="Pass a DataFrame, a list of records, a dict of columns, an array or image bytes.",
        details={"field": "inputs"},
    )


class LocalPredictor:
    """Routes and batchers kept current on each call (one reload per policy change)."""

    def __init__(self, service: DeploymentService) -> None:
        self.service = service
        self.logger = PredictionLogger(
            service.metadata_store, service.artifact_store, flush_interval_s=0.2
        )
        self.counts = RequestCounts()
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()

    def _route(self, name: str) -> Route:
        dep = self.service.find(name)
        if dep is None:
            raise DeploymentNotFoundError(name)
        registry = self.service.registry
        primary = registry.get_version(dep.model).ref
        challenger = registry.get_version(dep.rollout.challenger).ref if dep.rollout else None
        key = (dep.revision, primary, challenger, json.dumps(dep.options.to_json()))
        with self._lock:
            route = self._routes.get(name)
            if route is not None and route.key == key:
                return route
            service = dep.options.feature_service
            features = self.service.feature_lookup(service) if service else None
            batchers = [self._batcher(ref, dep) if ref else None for ref in (primary, challenger)]
            assert batchers[0] is not None
            new = Route(dep, key, batchers[0], batchers[1], features)
            self._routes[name] = new
        if route is not None:
            for old in route.batchers():
                old.close()
        return new

    def _batcher(self, ref: str, dep: Any) -> Batcher:
        runtime = ModelRuntime(
            self.service.registry,
            ref,
            runtime=dep.options.runtime,
            transforms=self.service.transforms,
        ).load()
        sink = None if dep.options.logging == "off" else self.logger.append
        return Batcher(
            runtime,
            max_batch_size=dep.options.max_batch_size,
            max_wait_ms=0,
            max_queue=dep.options.max_queue,
            log_sink=sink,
            counts=self.counts,
        )

    def predict(self, name: str, inputs: Any, *, key: str | None = None) -> dict[str, Any]:
        from pomona.serving.host import Prediction, _error

        route = self._route(name)
        rid = uuid.uuid4().hex
        target, _ = route.choose(rid, key)
        spec = target.batcher.runtime.spec
        wanted = spec if route.features is None else request_spec(spec, route.features)
        body = body_from_python(inputs)
        parsed = _parse(wanted, body, route.deployment.options.max_image_bytes)
        if route.features is not None:
            parsed = enrich(spec, route.features, parsed)
        ids = [rid] if parsed.n == 1 else [f"{rid}-{i}" for i in range(parsed.n)]
        future: Future[Result] = Future()
        meta = RowMeta(ids, name, target.variant, now_ms(), 0.0)
        target.batcher.submit(Job(parsed, meta, future, None, sync_log=True))
        result = future.result()
        if result.error is not None:
            raise _error(result.error, target.batcher.runtime.ref)
        return Prediction(
            rid,
            ids,
            name,
            target.batcher.runtime.ref,
            target.variant,
            result.labels,
            result.proba,
            result.classes,
        ).to_json()

    def status(self, name: str) -> dict[str, Any]:
        """The deployment as this process serves it (the shape of ``ServingHost.status``)."""
        with self._lock:
            route = self._routes.get(name)
        versions = self.counts.of(name)
        if route is None:
            return {"ready": False, "revision": None, "models": {}, "versions": versions}
        models = {"primary": route.primary, "challenger": route.challenger}
        return {
            "ready": True,
            "revision": route.deployment.revision,
            "models": {
                k: {
                    "model": b.runtime.ref,
                    "engine": b.runtime.engine,
                    "queued": b.queued,
                    "batches": b.batches,
                    "requests": b.requests,
                    "errors": self.counts.errors(name, b.runtime.ref),
                }
                for k, b in models.items()
                if b is not None
            },
            "versions": versions,
        }

    def close(self) -> None:
        with self._lock:
            routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            for batcher in route.batchers():
                batcher.close()
        self.logger.close()


def _parse(spec: InputSpec, body: dict[str, Any] | list[bytes], max_bytes: int) -> Inputs:
    if isinstance(body, list):
        if not spec.is_image:
            raise InvalidInputError("This model does not take images.", details={"field": "image"})
        return decode_images(spec, body, max_bytes)
    parsed = parse_json(spec, body)
    if isinstance(parsed, list):
        return decode_images(spec, parsed, max_bytes)
    return parsed
