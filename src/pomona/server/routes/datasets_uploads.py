"""``/api/v1/datasets/uploads``: files a remote client sends for an ingest, by digest.

``POST …/uploads/missing`` answers which digests the server lacks; ``POST …/uploads/blobs``
takes a multipart batch of files, each named by its digest (verified on arrival). The
version is then made by ``POST /api/v1/datasets/{name}/versions`` with ``upload``.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from pomona.datasets import DatasetService
from pomona.errors import InvalidInputError
from pomona.server._responses import json_response

__all__ = ["MAX_BATCH_FILES", "UploadSpec", "uploads_routes"]

MAX_BATCH_FILES = 1000
MAX_DIGESTS = 100_000


class UploadSpec(BaseModel):
    """The uploaded files a version is made from (``upload`` of an ingest request)."""

    model_config = ConfigDict(extra="forbid")

    files: list[tuple[str, str]] = Field(description="(record id, digest) of every file.")
    source: str = Field(description="What the client read (its folder or file), for lineage.")
    label_text: str | None = Field(None, description="A label CSV's text (images).")
    label_name: str = Field("labels.csv", max_length=250, description="The label CSV's name.")


class MissingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    digests: list[str] = Field(max_length=MAX_DIGESTS)


def uploads_routes(router: APIRouter, service: DatasetService) -> None:
    """Add the upload routes to the datasets router."""

    @router.post("/uploads/missing")
    def missing(body: MissingBody) -> Response:
        return json_response({"missing": service.missing_blobs(body.digests)})

    @router.post("/uploads/blobs", status_code=201)
    async def receive(request: Request) -> Response:
        try:
            form = await request.form(max_files=MAX_BATCH_FILES, max_fields=4)
        except Exception as exc:  # a malformed multipart body
            raise InvalidInputError(
                f"The multipart body cannot be read: {exc}.", details={"field": "files"}
            ) from exc
        try:
            items: list[tuple[str, BinaryIO]] = []
            for _, value in form.multi_items():
                item: Any = value
                if hasattr(item, "file"):
                    items.append((str(item.filename or ""), item.file))
            stored = await run_in_threadpool(service.receive_blobs, items)
        finally:
            await form.close()
        return json_response({"stored": list(stored)}, 201)
