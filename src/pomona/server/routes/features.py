"""``/api/v1/features``: definitions, point-in-time joins, materialisation, online reads, pushes.

Entity frames travel as Parquet (``application/vnd.apache.parquet``) both ways; everything
else is JSON.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pomona.client.workspace import Workspace
from pomona.errors import ConfigError, InvalidInputError
from pomona.features import _json
from pomona.features.definitions import check_transformation_module, definition_from_spec
from pomona.features.service import FeatureStore
from pomona.features.sources import check_client_source
from pomona.server._responses import json_response
from pomona.server.routes.datasets import source_policy
from pomona.types import INT64_MAX

__all__ = ["PARQUET", "features_router"]

PARQUET = "application/vnd.apache.parquet"
PageLimit = Annotated[int, Query(ge=1, le=1000)]
Version = Annotated[int | None, Query(ge=1, le=INT64_MAX, description="Default: the latest.")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Apply(_Body):
    objects: list[dict[str, Any]] = Field(max_length=10_000)
    ingest: bool = True


class Materialize(_Body):
    start: datetime | None = Field(None, description="Omit for incremental materialisation.")
    end: datetime | None = None
    views: list[str] | None = None


class Online(_Body):
    entities: dict[str, list[Any]] | list[dict[str, Any]]
    features: list[str] | str
    full_names: bool = False
    at: datetime | None = None


class Vectors(_Body):
    service: str
    entities: dict[str, list[Any]] | list[dict[str, Any]]
    at: datetime | None = None


class Push(_Body):
    view: str
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=1_000_000)
    to: Literal["online", "offline", "online_and_offline"] = "online_and_offline"


def _features_arg(features: list[str] | None, service: str | None) -> list[str] | str:
    if service is not None:
        return service
    if not features:
        raise InvalidInputError(
            "Name features (?features=view:feature) or a feature service (?service=…).",
            details={"field": "features"},
        )
    return features


async def _frame(request: Request) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    body = await request.body()  # at most server.max_body_mb (pomona.server._limits)
    try:
        return pq.read_table(io.BytesIO(body))
    except (pa.ArrowInvalid, OSError) as exc:
        raise InvalidInputError(
            f"The body is not a Parquet file: {exc}.",
            hint=f"Send the entity rows as Parquet with Content-Type {PARQUET}.",
            details={"field": "body"},
        ) from exc


def _parquet(table: Any) -> Response:
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

    out = io.BytesIO()
    pq.write_table(table, out)
    return Response(out.getvalue(), media_type=PARQUET)


def features_router(ws: Workspace) -> APIRouter:
    """The routes over the workspace's embedded feature store."""
    store = ws.features
    if not isinstance(store, FeatureStore):
        raise ConfigError("The server needs an embedded feature store.")
    router = APIRouter(prefix="/api/v1/features", tags=["features"])
    policy = source_policy(ws)

    @router.post("/apply")
    def apply(body: Apply) -> Response:
        for spec in body.objects:  # files and databases only as the server's settings allow
            if spec.get("kind") == "feature_view":
                check_client_source(spec.get("source"), policy)
        objects = [definition_from_spec(o) for o in body.objects]
        for obj in objects:  # ingest imports the transformation's module: trusted ones only
            declared = getattr(obj, "transformation", None)
            if declared is not None:
                check_transformation_module(declared, ws.settings.features.trusted_modules)
        applied = store.apply(objects, ingest=body.ingest)
        return json_response({"items": _json.to_json(applied)})

    @router.get("/entities")
    def list_entities(limit: PageLimit = 100, page_token: str | None = None) -> Response:
        page = store.list_entities(limit=limit, page_token=page_token)
        return json_response(_page(page))

    @router.get("/entities/{name}")
    def get_entity(name: str) -> Response:
        return json_response(_json.to_json(store.get_entity(name)))

    @router.get("/views")
    def list_views(limit: PageLimit = 100, page_token: str | None = None) -> Response:
        return json_response(_page(store.list_feature_views(limit=limit, page_token=page_token)))

    @router.get("/views/{name}")
    def get_view(name: str, version: Version = None) -> Response:
        return json_response(_json.to_json(store.get_feature_view(name, version=version)))

    @router.post("/views/{name}/ingest")
    def ingest(name: str) -> Response:
        return json_response(_json.to_json(store.ingest(name)))

    @router.get("/services")
    def list_services(limit: PageLimit = 100, page_token: str | None = None) -> Response:
        page = store.list_feature_services(limit=limit, page_token=page_token)
        return json_response(_page(page))

    @router.get("/services/{name}")
    def get_service(name: str) -> Response:
        return json_response(_json.to_json(store.get_feature_service(name)))

    @router.post("/historical")
    async def historical(
        request: Request,
        features: Annotated[list[str] | None, Query()] = None,
        service: str | None = None,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> Response:
        frame = await _frame(request)
        table = await run_in_threadpool(
            lambda: store.get_historical_table(
                frame,
                _features_arg(features, service),
                timestamp_column=timestamp_column,
                full_names=full_names,
            )
        )
        return _parquet(table)

    @router.post("/training-datasets/{name}", status_code=201)
    async def save_training(
        name: str,
        request: Request,
        features: Annotated[list[str] | None, Query()] = None,
        service: str | None = None,
        timestamp_column: str = "event_timestamp",
        full_names: bool = False,
    ) -> Response:
        frame = await _frame(request)
        dataset = await run_in_threadpool(
            lambda: store.save_training_dataset(
                name,
                frame,
                _features_arg(features, service),
                timestamp_column=timestamp_column,
                full_names=full_names,
            )
        )
        return json_response(_json.to_json(dataset), 201)

    @router.get("/training-datasets/{name}")
    def get_training(name: str, version: Version = None) -> Response:
        return json_response(_json.to_json(store.get_training_dataset(name, version=version)))

    @router.get("/training-datasets/{name}/data")
    def training_data(name: str, version: Version = None) -> Response:
        import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

        dataset = store.get_training_dataset(name, version=version)
        return _parquet(pq.read_table(store.offline.cache.path(dataset.digest)))

    @router.post("/materialize")
    def materialize(body: Materialize) -> Response:
        if body.start is None:
            result = store.materialize_incremental(body.end, views=body.views)
        else:
            if body.end is None:
                raise InvalidInputError("end is required with start.", details={"field": "end"})
            result = store.materialize(body.start, body.end, views=body.views)
        return json_response(_json.to_json(result))

    @router.post("/online")
    def online(body: Online) -> Response:
        columns = store.get_online_features(
            body.entities, body.features, full_names=body.full_names, at=body.at
        )
        return json_response(
            {"columns": {k: [_json.value_to_json(v) for v in vs] for k, vs in columns.items()}}
        )

    @router.post("/vectors")
    def vectors(body: Vectors) -> Response:
        rows = store.get_feature_vectors(body.service, body.entities, at=body.at)
        return json_response({"rows": [[_json.value_to_json(v) for v in r] for r in rows]})

    @router.post("/push")
    def push(body: Push) -> Response:
        result = store.push(body.view, body.rows, to=body.to)
        return json_response(_json.to_json(result))

    return router


def _page(page: Any) -> dict[str, Any]:
    return {
        "items": _json.to_json(list(page.items)),
        "next_page_token": page.next_page_token,
        "total": page.total,
    }
