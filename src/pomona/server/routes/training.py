"""``/api/v1/studies``, ``/api/v1/evaluations`` and ``…/promote``: tuning, evaluation, gates.

Training runs in the caller's process; the server keeps what it shares: the journal of
each study (so trials in many processes, anywhere, join one study), the studies' summaries
and evaluation reports (read from their runs), and the promotion gates (they need the
registry and the stored test data).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from pomona._utils.principal import IGNORED_ACTOR, acting_user
from pomona.client.training import promote
from pomona.client.workspace import Workspace
from pomona.server._responses import json_response
from pomona.training.journal import MAX_READ, MAX_SEQ, StudyJournal
from pomona.training.studies import find_studies, read_evaluation_report, read_study
from pomona.types import INT64_MAX

__all__ = ["training_router"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Append(_Body):
    entries: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_READ)
    read_from: int = Field(
        ge=0, le=MAX_SEQ, description="Also return the entries from this seq on."
    )


class Promote(_Body):
    to: str = Field("champion", min_length=1, max_length=250)
    force: bool = False
    reason: str | None = Field(None, max_length=2000)
    actor: str | None = Field(None, max_length=250, description=IGNORED_ACTOR)
    slices: list[str] | None = None
    check_only: bool = False


def training_router(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["training"])
    assert ws.metadata_store is not None
    journal = StudyJournal(ws.metadata_store)

    @router.get("/studies")
    def list_studies(limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> Response:
        return json_response({"items": find_studies(ws.runs, limit=limit)})

    @router.get("/studies/{study}")
    def get_study(study: str) -> Response:
        return json_response(read_study(ws.runs, study))

    @router.get("/studies/{study}/journal")
    def read_journal(
        study: str,
        start: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_READ)] = MAX_READ,
    ) -> Response:
        return json_response({"entries": journal.read_entries(study, start, limit)})

    @router.post("/studies/{study}/journal")
    def append_journal(study: str, body: Append) -> Response:
        entries = journal.append_entries(study, body.entries, read_from=body.read_from)
        return json_response({"entries": entries})

    @router.get("/evaluations/{run_id}")
    def get_evaluation(run_id: str) -> Response:
        return json_response(read_evaluation_report(ws.runs, run_id))

    @router.post("/models/{name}/versions/{version}/promote")
    def promote_version(
        name: str,
        version: Annotated[int, Path(ge=1, le=INT64_MAX)],
        body: Promote,
        request: Request,
    ) -> Response:
        report = promote(
            ws,
            name,
            version,
            to=body.to,
            force=body.force,
            reason=body.reason,
            actor=acting_user(request),
            slices=body.slices,
            check_only=body.check_only,
        )
        return json_response(report.to_dict())

    return router
