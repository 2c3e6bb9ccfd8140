"""``/api/v1/models``: the model registry (versions, aliases, gate reports, exports)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pomona._utils.principal import IGNORED_ACTOR, acting_user
from pomona.client.workspace import Workspace
from pomona.errors import ConfigError, InvalidInputError
from pomona.registry.records import Lineage
from pomona.registry.service import RegistryService
from pomona.registry.signature import Signature
from pomona.server._downloads import verified_download
from pomona.server._responses import json_response
from pomona.server.routes.runs import _spool
from pomona.types import INT64_MAX, Digest, parse_version_number

__all__ = ["models_router"]

MAX_DESCRIPTION = 10_000
"""Characters of a model's or a version's description (a 200 MB one was once accepted)."""
MAX_CARD = 1_000_000
"""Characters of a model card (Markdown)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateModel(_Body):
    name: str
    description: str = Field("", max_length=MAX_DESCRIPTION)
    tags: dict[str, str] = Field(default_factory=dict)


class CreateVersion(_Body):
    flavor: str
    files: dict[str, str] = Field(description="File path -> digest of an uploaded blob.")
    signature: dict[str, Any]
    metrics: dict[str, float | None] = Field(default_factory=dict)
    lineage: dict[str, Any] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = Field("", max_length=MAX_DESCRIPTION)
    card: str | None = Field(None, max_length=MAX_CARD)
    actor: str | None = Field(None, description=IGNORED_ACTOR)


class UpdateVersion(_Body):
    tags: dict[str, str] | None = None
    card: str | None = Field(None, max_length=MAX_CARD)
    description: str | None = Field(None, max_length=MAX_DESCRIPTION)


class SetAlias(_Body):
    version: int = Field(ge=1, le=INT64_MAX)
    reason: str
    actor: str | None = Field(None, description=IGNORED_ACTOR)
    gate_report_digest: str | None = None
    forced: bool = False
    check_signature: bool = False


class PutGateReport(_Body):
    target: str
    passed: bool
    report: dict[str, Any]
    actor: str | None = Field(None, description=IGNORED_ACTOR)


class ExportOnnx(_Body):
    tolerance: float = Field(1e-4, ge=0)


def _ref(name: str, version: str) -> str:
    """``name:N`` for a number, ``name`` for ``latest``."""
    if version == "latest":
        return name
    if parse_version_number(version) is None:
        raise InvalidInputError(
            f"'{version}' is not a version number (1, 2, … in ASCII digits) or 'latest'.",
            details={"field": "version"},
        )
    return f"{name}:{version}"


def _service(ws: Workspace) -> RegistryService:
    service = getattr(ws, "models", None)
    if not isinstance(service, RegistryService):
        raise ConfigError("The server needs an embedded workspace with a model registry.")
    return service


def models_router(ws: Workspace) -> APIRouter:
    """The registry's routes, plus ``POST /api/v1/model-blobs`` for uploading model files."""
    service = _service(ws)
    router = APIRouter(prefix="/api/v1", tags=["models"])

    @router.post("/model-blobs", status_code=201)
    async def upload_blob(request: Request) -> Response:
        spool = await _spool(request)
        try:
            with spool.open("rb") as fh:
                digest, size = await run_in_threadpool(service.upload_blob, fh)
        finally:
            spool.unlink(missing_ok=True)
        return json_response({"digest": digest, "size": size}, 201)

    @router.get("/models")
    def list_models(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100, page_token: str | None = None
    ) -> Response:
        page = service.list_models(limit=limit, page_token=page_token)
        return json_response(
            {"items": [m.to_json() for m in page], "next_page_token": page.next_page_token}
        )

    @router.post("/models", status_code=201)
    def create_model(body: CreateModel) -> Response:
        model = service.create_model(body.name, description=body.description, tags=body.tags)
        return json_response(model.to_json(), 201)

    @router.get("/models/{name}")
    def get_model(name: str) -> Response:
        return json_response(service.get_model(name).to_json())

    @router.get("/models/{name}/versions")
    def list_versions(
        name: str,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list_versions(name, limit=limit, page_token=page_token)
        return json_response(
            {"items": [v.to_json() for v in page], "next_page_token": page.next_page_token}
        )

    @router.post("/models/{name}/versions", status_code=201)
    def create_version(name: str, body: CreateVersion, request: Request) -> Response:
        files = {path: Digest(digest) for path, digest in body.files.items()}
        service.check_loadable(body.flavor, files)  # nothing unsafe to load is ever stored
        version = service.create_version(
            name,
            flavor=body.flavor,
            files=files,
            signature=Signature.from_dict(body.signature),
            metrics={k: float("nan") if v is None else v for k, v in body.metrics.items()},
            lineage=Lineage.from_json(body.lineage),
            tags=body.tags,
            description=body.description,
            card=body.card,
            actor=acting_user(request),
        )
        return json_response(version.to_json(), 201)

    @router.get("/models/{name}/versions/{version}")
    def get_version(name: str, version: str) -> Response:
        return json_response(service.get_version(_ref(name, version)).to_json())

    @router.patch("/models/{name}/versions/{version}")
    def update_version(name: str, version: str, body: UpdateVersion) -> Response:
        updated = service.update_version(
            _ref(name, version), tags=body.tags, card=body.card, description=body.description
        )
        return json_response(updated.to_json())

    @router.get("/models/{name}/aliases/{alias}")
    def get_alias(name: str, alias: str) -> Response:
        return json_response(service.get_version(f"{name}@{alias}").to_json())

    @router.put("/models/{name}/aliases/{alias}")
    def set_alias(name: str, alias: str, body: SetAlias, request: Request) -> Response:
        args = body.model_dump(exclude={"version", "actor"})
        move = service.set_alias(name, alias, body.version, actor=acting_user(request), **args)
        return json_response(move.to_json())

    @router.delete("/models/{name}/aliases/{alias}")
    def delete_alias(
        name: str, alias: str, reason: str, request: Request, actor: str | None = None
    ) -> Response:
        del actor  # accepted for old clients, ignored: who moves an alias is the credential's
        move = service.delete_alias(name, alias, reason=reason, actor=acting_user(request))
        return json_response({"move": None if move is None else move.to_json()})

    @router.get("/models/{name}/alias-history")
    def alias_history(
        name: str,
        alias: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list_alias_history(name, alias=alias, limit=limit, page_token=page_token)
        return json_response(
            {"items": [m.to_json() for m in page], "next_page_token": page.next_page_token}
        )

    @router.post("/models/{name}/versions/{version}/gate-reports", status_code=201)
    def put_gate_report(name: str, version: str, body: PutGateReport, request: Request) -> Response:
        info = service.put_gate_report(
            _ref(name, version), body.report, target=body.target, passed=body.passed,
            actor=acting_user(request),
        )  # fmt: skip
        return json_response(info.to_json(), 201)

    @router.get("/models/{name}/gate-reports")
    def list_gate_reports(
        name: str, version: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None
    ) -> Response:
        items = service.list_gate_reports(name, version=version)
        return json_response({"items": [g.to_json() for g in items]})

    @router.get("/models/{name}/gate-reports/{digest}")
    def get_gate_report(name: str, digest: str) -> Response:
        return json_response(service.get_gate_report(name, digest))

    @router.post("/models/{name}/versions/{version}/exports/onnx", status_code=201)
    def export_onnx(name: str, version: str, body: ExportOnnx) -> Response:
        export = service.export_onnx(_ref(name, version), tolerance=body.tolerance)
        return json_response(export.to_json(), 201)

    @router.get("/models/{name}/versions/{version}/exports/onnx")
    def find_export(name: str, version: str) -> Response:
        export = service.find_export(_ref(name, version))
        return json_response({"export": None if export is None else export.to_json()})

    @router.get("/models/{name}/blobs/{digest}")
    def download_blob(name: str, digest: str) -> Response:
        reader, size = service.open_blob(name, digest)
        return verified_download(reader, size, digest)  # a corrupted blob is never a 200

    return router
