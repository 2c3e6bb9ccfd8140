"""``/api/v1/datasets``: the datasets API (ingest, versions, checks, splits, labels, records)."""

from __future__ import annotations

import io
import mimetypes
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pomona.client.workspace import Workspace
from pomona.datasets import DatasetService, DatasetSplit, DatasetVersion
from pomona.datasets import _codec as codec
from pomona.datasets._policy import SourcePolicy
from pomona.datasets._quality import load_transform
from pomona.errors import ConfigError, InvalidInputError, NotFoundError
from pomona.server._responses import json_response
from pomona.server.routes.datasets_uploads import UploadSpec, uploads_routes
from pomona.types import DatasetRef, parse_version_number

__all__ = ["datasets_router", "source_policy"]

_NO_SNIFF = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IngestBody(_Body):
    source: str | None = Field(
        None,
        description="Read by the server, as its datasets settings allow: a path under "
        "datasets.allowed_roots, a URL of datasets.allowed_protocols (s3://bucket/prefix), or "
        "'sql:<name>' of datasets.sql_sources (with 'query').",
    )
    upload: UploadSpec | None = Field(None, description="Files uploaded before, by digest.")
    labels: str | None = Field(
        None, description="'subfolders', a label CSV (under allowed_roots), or a table column."
    )
    label_column: str | None = None
    query: str | None = Field(None, description="SELECT … on the 'sql:<name>' source.")
    suite: str | None = Field(None, description="Suite YAML.")
    strict: bool = False
    storage_options: dict[str, Any] = Field(
        default_factory=dict,
        description="fsspec options; refused unless datasets.client_storage_options.",
    )
    run_id: str | None = None
    description: str | None = Field(None, max_length=10_000)


class ValidateBody(_Body):
    suite: str | None = None
    strict: bool = False


class PrepareBody(_Body):
    transform: dict[str, Any] = Field(description="The transform, as its to_dict() gives it.")
    suite: str | None = None
    strict: bool = False
    run_id: str | None = None
    description: str | None = Field(None, max_length=10_000)


class SplitBody(_Body):
    test: float = 0.2
    val: float = 0.1
    stratify: str | None = "label"
    seed: int = 0
    near_duplicates: int = 10


class RelabelBody(_Body):
    labels: dict[str, str] = Field(max_length=1_000_000)
    run_id: str | None = None


def _ref(name: str, version: str) -> DatasetRef:
    if version == "latest":
        return DatasetRef(name)
    number = parse_version_number(version)
    if number is None:
        raise InvalidInputError(
            f"'{version}' is not a version number (1, 2, … in ASCII digits) or 'latest'.",
            details={"field": "version"},
        )
    return DatasetRef(name, number)


def _split(service: DatasetService, ref: DatasetRef, split_id: str) -> DatasetSplit:
    for split in service.list_splits(ref):
        if split.split_id == split_id:
            return split
    raise NotFoundError(
        f"Dataset {ref} has no split '{split_id}'.",
        hint=f"GET /api/v1/datasets/{ref.name}/versions/{ref.version}/splits lists them.",
        details={"split_id": split_id},
    )


def datasets_router(ws: Workspace) -> APIRouter:
    """The routes over an embedded workspace's datasets service."""
    service = ws.datasets
    if not isinstance(service, DatasetService):
        raise ConfigError("A server serves a local workspace's datasets, not a remote one's.")
    router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
    uploads_routes(router, service)
    _versions(router, service, source_policy(ws))
    _checks(router, service)
    _splits_and_labels(router, service)
    _records(router, service)
    return router


def source_policy(ws: Workspace) -> SourcePolicy:
    """What the server reads for API clients: only what its ``datasets`` settings allow."""
    d = ws.settings.datasets
    return SourcePolicy.server(
        d.allowed_roots,
        protocols=d.allowed_protocols,
        sql_sources=d.sql_sources,
        client_storage_options=d.client_storage_options,
        timeout_s=d.source_timeout_s,
    )


def _suite(suite: str | None) -> str | None:
    """A suite sent over the API is YAML text: a file name would be read on the server."""
    if suite is not None and "\n" not in suite and suite.strip().endswith((".yaml", ".yml")):
        raise InvalidInputError(
            "Send the suite's YAML text, not a file name: the server reads no suite files.",
            hint="The Python client and the CLI read a suite file and send its text.",
            details={"field": "suite"},
        )
    return suite


def _ingest(
    service: DatasetService, name: str, body: IngestBody, policy: SourcePolicy
) -> DatasetVersion:
    if (body.source is None) == (body.upload is None):
        raise InvalidInputError(
            "An ingest needs either 'source' (read by the server) or 'upload' (files sent).",
            details={"field": "source"},
        )
    args = body.model_dump(exclude={"source", "upload"})
    args["suite"] = _suite(body.suite)
    if body.upload is None:
        return service.ingest(name, str(body.source), policy=policy, **args)
    if body.query is not None or body.storage_options:
        raise InvalidInputError(
            "An upload takes no 'query' or 'storage_options'.", details={"field": "upload"}
        )
    del args["query"], args["storage_options"]
    up = body.upload
    return service.ingest_upload(
        name,
        up.files,
        source=up.source,
        label_text=up.label_text,
        label_name=up.label_name,
        policy=policy,
        **args,
    )


def _versions(router: APIRouter, service: DatasetService, policy: SourcePolicy) -> None:
    @router.get("")
    def list_datasets(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100, page_token: str | None = None
    ) -> Response:
        page = service.list_datasets(limit=limit, page_token=page_token)
        return json_response(codec.page_to_json(page, codec.info_to_json))

    @router.post("/{name}/versions", status_code=201)
    def ingest(name: str, body: IngestBody) -> Response:
        return json_response(codec.version_to_json(_ingest(service, name, body, policy)), 201)

    @router.get("/{name}/versions")
    def list_versions(
        name: str,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list_versions(name, limit=limit, page_token=page_token)
        return json_response(codec.page_to_json(page, codec.version_to_json))

    @router.get("/{name}/versions/{version}")
    def get_version(name: str, version: str) -> Response:
        return json_response(codec.version_to_json(service.get_version(_ref(name, version))))

    @router.delete("/{name}/versions/{version}", status_code=204)
    def delete_version(name: str, version: str, force: bool = False) -> Response:
        service.delete_version(_ref(name, version), force=force)
        return Response(status_code=204)

    @router.delete("/{name}", status_code=204)
    def delete_dataset(name: str, force: bool = False) -> Response:
        service.delete(name, force=force)
        return Response(status_code=204)

    @router.get("/{name}/versions/{version}/profile")
    def get_profile(name: str, version: str) -> Response:
        return json_response(service.get_profile(_ref(name, version)))

    @router.get("/{name}/versions/{version}/transform")
    def get_transform(name: str, version: str) -> Response:
        transform = service.load_transform(_ref(name, version))
        return json_response(transform.to_dict())


def _checks(router: APIRouter, service: DatasetService) -> None:
    @router.get("/{name}/versions/{version}/suite")
    def infer_suite(name: str, version: str) -> Response:
        return json_response({"yaml": service.infer_suite(_ref(name, version))})

    @router.post("/{name}/versions/{version}/validate")
    def validate(name: str, version: str, body: ValidateBody) -> Response:
        report = service.validate(_ref(name, version), _suite(body.suite), strict=body.strict)
        return json_response(report.to_dict())

    @router.post("/{name}/versions/{version}/prepare", status_code=201)
    def prepare(name: str, version: str, body: PrepareBody) -> Response:
        transform = load_transform(body.transform)
        made = service.prepare(
            _ref(name, version),
            transform,
            suite=_suite(body.suite),
            strict=body.strict,
            run_id=body.run_id,
            description=body.description,
        )
        return json_response(codec.version_to_json(made), 201)


def _splits_and_labels(router: APIRouter, service: DatasetService) -> None:
    @router.post("/{name}/versions/{version}/splits", status_code=201)
    def split(name: str, version: str, body: SplitBody) -> Response:
        made = service.split(_ref(name, version), **body.model_dump())
        return json_response(codec.split_to_json(made), 201)

    @router.get("/{name}/versions/{version}/splits")
    def list_splits(name: str, version: str) -> Response:
        splits = service.list_splits(_ref(name, version))
        return json_response({"items": [codec.split_to_json(s) for s in splits]})

    @router.get("/{name}/versions/{version}/splits/{split_id}")
    def split_assignment(name: str, version: str, split_id: str) -> Response:
        ref = _ref(name, version)
        return json_response(service.split_assignment(_split(service, ref, split_id)))

    @router.post("/{name}/versions/{version}/labels", status_code=201)
    async def import_labels(
        name: str,
        version: str,
        request: Request,
        file_column: str | None = None,
        label_column: str | None = None,
        filename: str = "labels.csv",
        run_id: str | None = None,
    ) -> Response:
        data = await request.body()  # at most server.max_body_mb (pomona.server._limits)
        made = await run_in_threadpool(
            lambda: service.import_label_text(
                _ref(name, version),
                data.decode("utf-8-sig", errors="replace"),
                name=filename,
                file_column=file_column,
                label_column=label_column,
                run_id=run_id,
            )
        )
        return json_response(codec.version_to_json(made), 201)

    @router.post("/{name}/versions/{version}/relabel", status_code=201)
    def relabel(name: str, version: str, body: RelabelBody) -> Response:
        made = service.relabel(_ref(name, version), body.labels, run_id=body.run_id)
        return json_response(codec.version_to_json(made), 201)

    @router.get("/{name}/versions/{version}/labels")
    def label_distribution(name: str, version: str) -> Response:
        return json_response(service.label_distribution(_ref(name, version)))


def _records(router: APIRouter, service: DatasetService) -> None:
    def target(ref: DatasetRef, split_id: str | None) -> DatasetRef | DatasetSplit:
        return _split(service, ref, split_id) if split_id else ref

    @router.get("/{name}/versions/{version}/records")
    def list_records(
        name: str,
        version: str,
        quarantined: bool = False,
        subset: str | None = None,
        split_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        page_token: str | None = None,
    ) -> Response:
        page = service.list_records(
            target(_ref(name, version), split_id),
            quarantined=quarantined,
            subset=subset,
            limit=limit,
            page_token=page_token,
        )
        return json_response(codec.page_to_json(page, codec.record_to_json))

    @router.get("/{name}/versions/{version}/files/{record_id:path}")
    def read_record(name: str, version: str, record_id: str) -> Response:
        data = service.read_record(_ref(name, version), record_id)
        media_type = mimetypes.guess_type(record_id)[0] or "application/octet-stream"
        return Response(data, media_type=media_type, headers=_NO_SNIFF)

    @router.get("/{name}/versions/{version}/table")
    def load_table(
        name: str,
        version: str,
        subset: str | None = None,
        split_id: str | None = None,
        quarantined: bool = False,
    ) -> Response:
        df = service.load_table(
            target(_ref(name, version), split_id), subset=subset, quarantined=quarantined
        )
        buf = io.BytesIO()
        df.to_parquet(buf)
        return Response(buf.getvalue(), media_type="application/vnd.apache.parquet")
