"""The serving host: every deployment of a workspace, live in one server process.

It polls the deployments (``poll_s``) and, when a policy's revision or a resolved alias
changes, loads the new models off the event loop, swaps the route in one assignment and
drains the old models' queues before closing them: no request fails on a change. It runs
the rollout analysis every ``analysis_poll_s`` and logs every prediction. After a refresh
that loaded models, and after the first one, it calls ``on_models_loaded`` (the server
settles its heap there).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pomona._utils.clock import now_ms
from pomona.errors import BackendUnavailableError, PomonaError
from pomona.serving._batcher import Batcher, BatcherClosedError, Job, Result
from pomona.serving._counts import RequestCounts
from pomona.serving._enrich import enrich, request_spec
from pomona.serving._images import decode_images
from pomona.serving._inputs import Inputs, InputSpec
from pomona.serving._logmetrics import LogMetrics
from pomona.serving._logrows import RowMeta
from pomona.serving._routes import Route, RouteKey
from pomona.serving.analysis import CanaryMetrics
from pomona.serving.errors import DeploymentNotFoundError
from pomona.serving.logger import PredictionLogger
from pomona.serving.records import Deployment, DeploymentOptions
from pomona.serving.rollouts import analyse_rollout
from pomona.serving.runtime import ModelRuntime
from pomona.serving.service import DeploymentService

__all__ = ["ModelError", "Prediction", "ServingHost"]

log = logging.getLogger("pomona.serving")
Parser = Callable[[InputSpec], "Inputs | list[bytes]"]


class ModelError(PomonaError):
    """The model raised on a request (HTTP 500 with the model's message)."""

    code = "model_error"
    http_status = 500
    exit_code = 1


@dataclass
class Prediction:
    """A request's answer."""

    request_id: str
    request_ids: list[str]
    deployment: str
    model: str
    variant: str
    labels: list[Any]
    proba: np.ndarray[Any, Any] | None
    classes: list[str] | None

    def to_json(self) -> dict[str, Any]:
        proba = self.proba
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "request_ids": self.request_ids,
            "deployment": self.deployment,
            "model": self.model,
            "variant": self.variant,
            "predictions": self.labels,
            "classes": self.classes,
            "probabilities": None,
            "confidence": None,
        }
        if proba is not None and self.classes is not None:
            rows = proba.tolist()
            out["probabilities"] = [dict(zip(self.classes, r, strict=True)) for r in rows]
            out["confidence"] = proba.max(axis=1).tolist()
        return out


class ServingHost:
    """Serves every deployment of ``service``'s workspace (see the module docstring)."""

    def __init__(
        self,
        service: DeploymentService,
        *,
        poll_s: float = 1.0,
        analysis_poll_s: float = 5.0,
        log_flush_interval_s: float = 1.0,
        metrics: CanaryMetrics | None = None,
        analysis: bool = True,
        on_models_loaded: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self.on_models_loaded = on_models_loaded
        self.poll_s = poll_s
        self.analysis_poll_s = analysis_poll_s
        self.analysis = analysis
        self.logger = PredictionLogger(
            service.metadata_store, service.artifact_store, flush_interval_s=log_flush_interval_s
        )
        self.metrics: CanaryMetrics = metrics or LogMetrics(
            service.metadata_store, service.artifact_store, service
        )
        self.counts = RequestCounts()
        self.routes: dict[str, Route] = {}
        self.errors: dict[str, str] = {}
        self._batchers: dict[tuple[str, str], Batcher] = {}
        self._users: dict[tuple[str, str], int] = {}
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self.ready = False
        self.stopping = False
        self._last_miss = 0.0

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Load every deployment, then keep them current in the background."""
        await self.refresh()
        self.ready = True
        self._tasks.append(asyncio.create_task(self._loop(self.refresh, self.poll_s)))
        if self.analysis:
            self._tasks.append(asyncio.create_task(self._loop(self.analyse, self.analysis_poll_s)))

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Finish queued requests, write pending logs, release the models."""
        self.stopping = True
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        batchers = list(self._batchers.values())
        self._batchers.clear()
        for batcher in batchers:
            await asyncio.to_thread(batcher.close, timeout_s)
        await asyncio.to_thread(self.logger.close, timeout_s)

    async def _loop(self, fn: Callable[[], Any], period: float) -> None:
        while True:
            await asyncio.sleep(period)
            try:
                await fn()
            except Exception:  # keep serving what is loaded; say why in the log
                log.exception("serving background task failed")

    # --- keeping routes current -----------------------------------------------------------

    async def refresh(self) -> None:
        """Reload the deployments whose policy or resolved versions changed."""
        async with self._lock:
            deployments = await asyncio.to_thread(self.service.all_deployments)
            names = {d.name for d in deployments}
            loaded = set(self._batchers)
            for dep in deployments:
                await self._refresh_one(dep)
            for name in list(self.routes):
                if name not in names:
                    await self._drop(self.routes.pop(name))
            for name in list(self.errors):
                if name not in names:
                    del self.errors[name]
            changed = not self.ready or not set(self._batchers) <= loaded
            if self.on_models_loaded is not None and changed:
                self.on_models_loaded()

    def _resolve(self, dep: Deployment) -> RouteKey:
        registry = self.service.registry
        primary = registry.get_version(dep.model).ref
        challenger = None
        if dep.rollout is not None:
            challenger = registry.get_version(dep.rollout.challenger).ref
        return dep.revision, primary, challenger, json.dumps(dep.options.to_json(), sort_keys=True)

    async def _refresh_one(self, dep: Deployment) -> None:
        try:
            key = await asyncio.to_thread(self._resolve, dep)
            current = self.routes.get(dep.name)
            if current is not None and current.key == key:
                return
            service = dep.options.feature_service
            features = (
                await asyncio.to_thread(self.service.feature_lookup, service) if service else None
            )
            primary = await self._acquire(key[1], dep.options)
            challenger = None if key[2] is None else await self._acquire(key[2], dep.options)
        except Exception as exc:
            self.errors[dep.name] = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("deployment %s cannot be loaded: %s", dep.name, self.errors[dep.name])
            return
        self.errors.pop(dep.name, None)
        self.routes[dep.name] = Route(dep, key, primary, challenger, features)
        if current is not None:
            await self._drop(current)

    async def _acquire(self, ref: str, options: DeploymentOptions) -> Batcher:
        key = (ref, json.dumps(options.to_json(), sort_keys=True))
        batcher = self._batchers.get(key)
        if batcher is None:
            runtime = ModelRuntime(
                self.service.registry,
                ref,
                runtime=options.runtime,
                transforms=self.service.transforms,
            )
            await asyncio.to_thread(runtime.load)
            batcher = Batcher(
                runtime,
                max_batch_size=options.max_batch_size,
                max_wait_ms=options.max_wait_ms,
                max_queue=options.max_queue,
                log_sink=None if options.logging == "off" else self.logger.append,
                counts=self.counts,
            )
            self._batchers[key] = batcher
        self._users[key] = self._users.get(key, 0) + 1
        return batcher

    async def _drop(self, route: Route) -> None:
        for batcher in route.batchers():
            key = next((k for k, b in self._batchers.items() if b is batcher), None)
            if key is None:
                continue
            self._users[key] -= 1
            if self._users[key] <= 0:
                del self._batchers[key], self._users[key]
                await asyncio.to_thread(batcher.close)

    async def analyse(self) -> None:
        """Run the rollout analysis on every running rollout once."""
        changed = False
        for name, route in list(self.routes.items()):
            rollout = route.deployment.rollout
            if rollout is None or rollout.state != "running":
                continue
            action = await asyncio.to_thread(analyse_rollout, self.service, self.metrics, name)
            changed = changed or action not in (None, "hold")
        if changed:
            await self.refresh()

    # --- predictions ----------------------------------------------------------------------

    def route(self, name: str) -> Route:
        route = self.routes.get(name)
        if route is not None:
            return route
        if name in self.errors:
            raise BackendUnavailableError(
                f"Deployment '{name}' is not ready: {self.errors[name]}",
                hint="Fix the deployment's model reference, or wait for it to load.",
                details={"deployment": name},
            )
        raise DeploymentNotFoundError(name)

    async def predict(
        self, name: str, parse: Parser, *, request_id: str | None = None, key: str | None = None
    ) -> Prediction:
        """Answer a request: ``parse(spec)`` turns the body into inputs for the chosen model.

        Raises:
            InvalidInputError: the body does not fit the model's signature (422).
            OverloadedError: the model's queue is full (503).
            ModelError: the model raised (500).
        """
        rid = request_id or uuid.uuid4().hex
        await self._ensure(name)
        for _ in range(5):
            route = self.route(name)
            target, mirror = route.choose(rid, key)
            spec = target.batcher.runtime.spec
            wanted = spec if route.features is None else request_spec(spec, route.features)
            inputs = await self._inputs(spec, parse(wanted), route.deployment.options)
            if route.features is not None:  # one online-store read per request, off the loop
                inputs = await asyncio.to_thread(enrich, spec, route.features, inputs)
            ids = [rid] if inputs.n == 1 else [f"{rid}-{i}" for i in range(inputs.n)]
            job = self._job(
                inputs,
                RowMeta(ids, name, target.variant, now_ms(), 0.0),
                route.deployment.options.logging == "sync",
            )
            try:
                target.batcher.submit(job)
            except BatcherClosedError:  # the route was swapped meanwhile: use the new one
                await asyncio.sleep(0)
                continue
            if mirror is not None:
                self._mirror(
                    mirror.batcher, spec, parse, inputs, RowMeta(ids, name, "shadow", now_ms(), 0.0)
                )
            result: Result = await job.future  # type: ignore[misc]
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
            )
        raise BackendUnavailableError(f"Deployment '{name}' is changing; retry.", details={})

    async def _ensure(self, name: str) -> None:
        """Load a deployment created since the last poll (at most 5 reloads a second)."""
        if name in self.routes or name in self.errors:
            return
        now = asyncio.get_running_loop().time()
        if now - self._last_miss >= 0.2:
            self._last_miss = now
            await self.refresh()

    async def _inputs(
        self, spec: InputSpec, parsed: Inputs | list[bytes], options: DeploymentOptions
    ) -> Inputs:
        if isinstance(parsed, Inputs):
            return parsed
        return await asyncio.to_thread(decode_images, spec, parsed, options.max_image_bytes)

    def _job(self, inputs: Inputs, meta: RowMeta, sync_log: bool) -> Job:
        loop = asyncio.get_running_loop()
        return Job(inputs, meta, loop.create_future(), loop, sync_log=sync_log)

    def _mirror(
        self, batcher: Batcher, spec: InputSpec, parse: Parser, inputs: Inputs, meta: RowMeta
    ) -> None:
        """Send a copy to the shadow model; its answer is only logged."""
        try:
            other = batcher.runtime.spec
            copy = inputs if other == spec else parse(other)
            if isinstance(copy, Inputs):
                batcher.submit(self._job(copy, meta, False))
        except Exception as exc:  # a full queue or an incompatible body: skip the mirror
            log.debug("shadow copy skipped: %s", exc)

    def status(self) -> dict[str, Any]:
        """Readiness of every deployment and its models (for health endpoints), with
        requests and failed requests per model version and variant (``versions``)."""
        out: dict[str, Any] = {}
        for name, route in self.routes.items():
            variants = {"primary": route.primary}
            if route.challenger is not None:
                variants["challenger"] = route.challenger
            out[name] = {
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
                    for k, b in variants.items()
                },
                "versions": self.counts.of(name),
            }
        for name, error in self.errors.items():
            entry: dict[str, Any] = {"ready": False, "revision": None, "models": {}, "versions": []}
            out.setdefault(name, entry)["error"] = error
        return out


def _error(error: BaseException, ref: str) -> PomonaError:
    if isinstance(error, PomonaError):
        return error
    return ModelError(
        f"Model {ref} failed on this request: {type(error).__name__}: {error}",
        hint="Check the input values; the server log has the traceback.",
        details={"model": ref},
    )
