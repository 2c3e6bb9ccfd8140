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

from pomona._utils.principal import IGNORED_ACTOR, acting_user
from pomona.client.workspace import Workspace
from pomona.errors import ConfigError, InvalidInputError
from pomona.server._errors import error_response
from pomona.server._responses import json_response, new_request_id
from pomona.server.routes.serving_oip import oip_routes
from pomona.serving._images import ImageBudget
from pomona.serving._inputs import Inputs, InputSpec, parse_json
from pomona.serving.errors import OverloadedError
from pomona.serving.host import ServingHost
from pomona.serving.service import DeploymentService
from pomona.serving.strategies import strategy_from_json

__all__ = ["serving_router"]

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
    description: str = Field("", max_length=10_000)
    options: dict[str, Any] = Field(default_factory=dict)
    actor: str | None = Field(None, description=IGNORED_ACTOR)


class UpdateDeployment(_Body):
    model: str | None = None
    options: dict[str, Any] | None = None
    description: str | None = Field(None, max_length=10_000)
    actor: str | None = Field(None, description=IGNORED_ACTOR)


class StartRollout(_Body):
    model: str
    strategy: dict[str, Any] | None = Field(
        None, description='{"strategy": "canary" | "shadow" | "ab", ...}; default a canary.'
    )
    actor: str | None = Field(None, description=IGNORED_ACTOR)
    reason: str = ""


class Act(_Body):
    actor: str | None = Field(None, description=IGNORED_ACTOR)
    reason: str = ""


class PostFeedback(_Body):
    request_id: str
    label: str | int | float
    source: str = "api"


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


async def _parser(
    request: Request, budget: ImageBudget
) -> tuple[Callable[[InputSpec], Inputs | list[bytes]], Any]:
    """How to read this request for a model, and the body's ``key`` (A/B stickiness).
    The body is at most ``server.max_body_mb`` (``pomona.server._limits``); the images it
    carries are checked against ``budget`` from their headers before any is decoded."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        files = await _files(request, budget)

        def images(spec: InputSpec) -> list[bytes]:
            if not spec.is_image:
                raise InvalidInputError(
                    "This model takes a table or tensor, not image uploads.",
                    hint="Send JSON with 'records' or 'instances'.",
                    details={"field": "file"},
                )
            return files

        return budget.guard(images), None
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise _UnsupportedMediaError(
            f"Content type '{ctype or 'none'}' is not accepted.",
            hint="Send JSON (application/json), or image files as multipart/form-data.",
            details={"field": "content-type"},
        )
    body = loads(await request.body())
    key = body.get("key") if isinstance(body, dict) else None
    return budget.guard(lambda spec: parse_json(spec, body)), key


class _UnsupportedMediaError(InvalidInputError):
    http_status = 415


async def _files(request: Request, budget: ImageBudget) -> list[bytes]:
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException

    try:
        form = await request.form(max_files=budget.max_images, max_fields=16)
    except (MultiPartException, HTTPException) as exc:  # Starlette's 400 for a bad form
        why = str(getattr(exc, "detail", None) or getattr(exc, "message", None) or exc)
        if why.startswith("Too many files"):  # Starlette's words for max_files
            raise budget.too_many(None) from exc
        raise InvalidInputError(
            f"The multipart body cannot be read: {why}", details={"field": "file"}
        ) from exc
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

    settings_token = ws.settings.token.get_secret_value() if ws.settings.token else None
    limits = ws.settings.server
    budget = ImageBudget(limits.max_request_images, limits.max_request_pixels)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.serving = host
        await host.start()
        grpc_server = None
        if settings.grpc_port is not None:
            from pomona.server.routes.serving_grpc import start_grpc_server

            bind = ws.settings.server.host
            token = getattr(app.state, "token", settings_token)  # the REST routes' token
            grpc_server = start_grpc_server(
                host, bind, settings.grpc_port, token=token, budget=budget
            )
        try:
            yield
        finally:
            if grpc_server is not None:  # stop taking calls, finish those in flight
                await asyncio.to_thread(lambda: grpc_server.stop(10).wait())
            await host.stop()

    router = APIRouter(lifespan=lifespan)
    router.include_router(_inference(service, host, budget))
    router.include_router(oip_routes(host, budget))
    router.include_router(_management(service, host))
    return router


def _inference(service: DeploymentService, host: ServingHost, budget: ImageBudget) -> APIRouter:
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
            parse, key = await _parser(request, budget)
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
    def create(body: CreateDeployment, request: Request) -> Response:
        dep = service.create(
            body.name,
            model=body.model,
            environment=body.environment,
            region=body.region,
            description=body.description,
            options=body.options,
            actor=acting_user(request),
        )
        return json_response(dep.to_json(), 201)

    @router.get("/deployments/{name}")
    def get(name: str) -> Response:
        return json_response(service.get(name).to_json())

    @router.patch("/deployments/{name}")
    def patch(name: str, body: UpdateDeployment, request: Request) -> Response:
        dep = service.update(
            name,
            model=body.model,
            options=body.options,
            description=body.description,
            actor=acting_user(request),
        )
        return json_response(dep.to_json())

    @router.delete("/deployments/{name}", status_code=204)
    def delete(name: str) -> Response:
        service.delete(name)
        return Response(status_code=204)

    @router.post("/deployments/{name}/rollout")
    def rollout(name: str, body: StartRollout, request: Request) -> Response:
        strategy = None if body.strategy is None else strategy_from_json(body.strategy)
        who = acting_user(request)
        dep = service.rollout(
            name, model=body.model, strategy=strategy, actor=who, reason=body.reason
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


def _acting(fn: Callable[..., Any]) -> Callable[[str, Act, Request], Response]:
    def act(name: str, body: Act, request: Request) -> Response:
        return json_response(fn(name, actor=acting_user(request), reason=body.reason).to_json())

    return act
