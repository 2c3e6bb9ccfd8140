"""Serving over HTTP: predictions (``/v1``), the Open Inference Protocol (``/v2``),
feedback, and deployment management (``/api/v1/deployments``).

The router carries the serving host's lifespan: models load when the app starts, and
stopping drains queued requests and writes pending prediction logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from pomona.client.workspace import Workspace
from pomona.errors import ConfigError, InvalidInputError
from pomona.server._errors import error_response
from pomona.server._responses import json_response, new_request_id
from pomona.server.routes.serving_oip import oip_routes
from pomona.serving._inputs import Inputs, InputSpec, parse_json
from pomona.serving.errors import OverloadedError
from pomona.serving.host import ServingHost
from pomona.serving.service import DeploymentService
from pomona.serving.strategies import strategy_from_json

__all__ = ["MAX_BODY_BYTES", "read_body", "serving_router"]

MAX_BODY_BYTES = 32 * 1024 * 1024
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,100}$")


class InvalidJsonError(InvalidInputError):
    """The body is not JSON (HTTP 400)."""

    http_status = 400


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateDeployment(_Body):
    name: str
    model: str = Field(description="A model reference: 'apples@champion', 'apples:3'.")
    environment: str = "production"
    region: str = "default"
    description: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    actor: str | None = None


class UpdateDeployment(_Body):
    model: str | None = None
    options: dict[str, Any] | None = None
    description: str | None = None
    actor: str | None = None


class StartRollout(_Body):
    model: str
    strategy: dict[str, Any] | None = Field(
        None, description='{"strategy": "canary" | "shadow" | "ab", ...}; default a canary.'
    )
    actor: str | None = None
    reason: str = ""


class Act(_Body):
    actor: str | None = None
    reason: str = ""


class PostFeedback(_Body):
    request_id: str
    label: str | int | float
    source: str = "api"


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The request body, refusing more than ``limit`` bytes (413)."""
    from pomona.serving._images import ImageTooLargeError

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ImageTooLargeError(f"The body exceeds {limit} bytes.", details={"field": "body"})
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ImageTooLargeError(f"The body exceeds {limit} bytes.", details={"field": "body"})
        chunks.append(chunk)
    return b"".join(chunks)


def loads(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidJsonError(
            f"The body is not valid JSON: {exc}.",
            hint="Send a JSON object with 'Content-Type: application/json'.",
            details={"field": "body"},
        ) from exc


def request_id(request: Request) -> str:
    given = getattr(request.state, "request_id", None)
    return given if isinstance(given, str) and _REQUEST_ID.match(given) else new_request_id()


def overloaded(exc: OverloadedError) -> Response:
    return error_response(
        503,
        exc.code,
        exc.message,
        exc.hint,
        exc.details,
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def _parser(request: Request) -> tuple[Callable[[InputSpec], Inputs | list[bytes]], Any]:
    """How to read this request for a model, and the body's ``key`` (A/B stickiness)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        files = await _files(request)

        def images(spec: InputSpec) -> list[bytes]:
            if not spec.is_image:
                raise InvalidInputError(
                    "This model takes a table or tensor, not image uploads.",
                    hint="Send JSON with 'records' or 'instances'.",
                    details={"field": "file"},
                )
            return files

        return images, None
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise _UnsupportedMediaError(
            f"Content type '{ctype or 'none'}' is not accepted.",
            hint="Send JSON (application/json), or image files as multipart/form-data.",
            details={"field": "content-type"},
        )
    body = loads(await read_body(request))
    key = body.get("key") if isinstance(body, dict) else None
    return (lambda spec: parse_json(spec, body)), key


class _UnsupportedMediaError(InvalidInputError):
    http_status = 415


async def _files(request: Request) -> list[bytes]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        from pomona.serving._images import ImageTooLargeError

        raise ImageTooLargeError(f"The upload exceeds {MAX_BODY_BYTES} bytes.")
    try:
        form = await request.form(max_files=64, max_fields=16)
    except Exception as exc:  # a malformed multipart body
        raise InvalidInputError(
            f"The multipart body cannot be read: {exc}.", details={"field": "file"}
        ) from exc
    files = []
    for _, value in form.multi_items():
        if hasattr(value, "read"):
            files.append(await value.read())
    await form.close()
    if not files:
        raise InvalidInputError(
            "The upload holds no file.", hint="Send the photo as 'file'.", details={"field": "file"}
        )
    return files


def _service(ws: Workspace) -> DeploymentService:
    service = getattr(ws, "deployments", None)
    if not isinstance(service, DeploymentService):
        raise ConfigError("The server needs an embedded workspace with deployments.")
    return service


def serving_router(ws: Workspace, on_models_loaded: Callable[[], None] | None = None) -> APIRouter:
    """Predictions, OIP v2, feedback and management, with the serving host's lifespan."""
    service = _service(ws)
    settings = ws.settings.serving
    host = ServingHost(
        service,
        poll_s=settings.poll_s,
        analysis_poll_s=settings.analysis_poll_s,
        log_flush_interval_s=settings.log_flush_interval_s,
        analysis=settings.analysis,
        on_models_loaded=on_models_loaded,
    )

    token = ws.settings.token.get_secret_value() if ws.settings.token else None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.serving = host
        await host.start()
        grpc_server = None
        if settings.grpc_port is not None:
            from pomona.server.routes.serving_grpc import start_grpc_server

            bind = ws.settings.server.host
            grpc_server = start_grpc_server(host, bind, settings.grpc_port, token=token)
        try:
            yield
        finally:
            if grpc_server is not None:  # stop taking calls, finish those in flight
                await asyncio.to_thread(lambda: grpc_server.stop(10).wait())
            await host.stop()

    router = APIRouter(lifespan=lifespan)
    router.include_router(_inference(service, host))
    router.include_router(oip_routes(host))
    router.include_router(_management(service, host))
    return router


def _inference(service: DeploymentService, host: ServingHost) -> APIRouter:
    router = APIRouter(prefix="/v1/deployments", tags=["inference"])

    @router.post(
        "/{name}/predict",
        openapi_extra={
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "records": {"type": "array", "items": {"type": "object"}},
                                "columns": {"type": "object"},
                                "instances": {"type": "array"},
                                "images": {"type": "array", "items": {"type": "string"}},
                                "key": {"type": "string"},
                            },
                        }
                    }
                }
            }
        },
    )
    async def predict(name: str, request: Request) -> Response:
        """Predict: ``{"records": [...]}``, ``{"columns": {...}}``, ``{"instances": [...]}``,
        ``{"images": [base64]}``, or image files as multipart (field ``file``)."""
        try:
            parse, key = await _parser(request)
            key = request.headers.get("x-request-key") or (key if isinstance(key, str) else None)
            result = await host.predict(name, parse, request_id=request_id(request), key=key)
        except OverloadedError as exc:
            return overloaded(exc)
        return json_response(result.to_json())

    @router.post("/{name}/feedback", status_code=201)
    def feedback(name: str, body: PostFeedback) -> Response:
        """Store the true label of a prediction, by its ``request_id``."""
        stored = service.feedback(name, body.request_id, body.label, source=body.source)
        return json_response(stored.to_json(), 201)

    return router


def _management(service: DeploymentService, host: ServingHost) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["deployments"])

    @router.get("/deployments")
    def list_deployments(
        environment: str | None = None,
        region: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list(
            environment=environment, region=region, limit=limit, page_token=page_token
        )
        return json_response(
            {"items": [d.to_json() for d in page], "next_page_token": page.next_page_token}
        )

    @router.post("/deployments", status_code=201)
    def create(body: CreateDeployment) -> Response:
        dep = service.create(
            body.name,
            model=body.model,
            environment=body.environment,
            region=body.region,
            description=body.description,
            options=body.options,
            actor=body.actor,
        )
        return json_response(dep.to_json(), 201)

    @router.get("/deployments/{name}")
    def get(name: str) -> Response:
        return json_response(service.get(name).to_json())

    @router.patch("/deployments/{name}")
    def patch(name: str, body: UpdateDeployment) -> Response:
        dep = service.update(
            name,
            model=body.model,
            options=body.options,
            description=body.description,
            actor=body.actor,
        )
        return json_response(dep.to_json())

    @router.delete("/deployments/{name}", status_code=204)
    def delete(name: str) -> Response:
        service.delete(name)
        return Response(status_code=204)

    @router.post("/deployments/{name}/rollout")
    def rollout(name: str, body: StartRollout) -> Response:
        strategy = None if body.strategy is None else strategy_from_json(body.strategy)
        dep = service.rollout(
            name, model=body.model, strategy=strategy, actor=body.actor, reason=body.reason
        )
        return json_response(dep.to_json())

    actions: dict[str, Callable[..., Any]] = {
        "promote": service.promote,
        "rollback": service.rollback,
        "pause": service.pause,
        "resume": service.resume,
    }
    for action, fn in actions.items():
        router.add_api_route(
            f"/deployments/{{name}}/{action}",
            _acting(fn),
            methods=["POST"],
            name=f"{action}_deployment",
            summary=f"{action.title()} the rollout.",
        )

    @router.get("/deployments/{name}/decisions")
    def decisions(
        name: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100, page_token: str | None = None
    ) -> Response:
        page = service.decisions(name, limit=limit, page_token=page_token)
        return json_response(
            {"items": [d.to_json() for d in page], "next_page_token": page.next_page_token}
        )

    @router.get("/deployments/{name}/status")
    def status(name: str) -> Response:
        service.find(name) or service.get(name)
        idle: dict[str, Any] = {"ready": False, "revision": None, "models": {}}
        idle["versions"] = host.counts.of(name)
        return json_response(host.status().get(name, idle))

    @router.get("/feedback/{request_id}")
    def get_feedback(request_id: str) -> Response:
        return json_response(service.get_feedback(request_id).to_json())

    @router.get("/prediction-logs")
    def log_files(
        deployment: str | None = None,
        start_ms: Annotated[int | None, Query(ge=0, le=2**62)] = None,
        end_ms: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    ) -> Response:
        files = service.log_files(deployment, start_ms=start_ms, end_ms=end_ms)
        return json_response({"items": [f.to_json() for f in files]})

    return router


def _acting(fn: Callable[..., Any]) -> Callable[[str, Act], Response]:
    def act(name: str, body: Act) -> Response:
        return json_response(fn(name, actor=body.actor, reason=body.reason).to_json())

    return act
