"""``/datasets``: datasets, a version's page (profile charts, report, quarantine), labelling."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from pomona.client.workspace import Workspace
from pomona.dashboard._dataset_charts import label_chart, profile_charts
from pomona.dashboard._render import error_page, render
from pomona.datasets import DatasetService
from pomona.datasets._reading import record_from_image
from pomona.errors import ConfigError, InvalidInputError, PomonaError
from pomona.types import DatasetRef, parse_version_number

__all__ = ["datasets_pages", "file_url"]

MAX_QUARANTINE = 60
MAX_RECORDS = 200


def file_url(name: str, version: int, record_id: str) -> str:
    """The REST API's route for an image file of a version (thumbnails)."""
    return (
        f"/api/v1/datasets/{quote(name, safe='')}/versions/{version}/files/"
        f"{quote(record_id, safe='/')}"
    )


def _ref(name: str, version: str) -> DatasetRef:
    number = parse_version_number(version)
    if number is None:
        raise InvalidInputError(f"'{version}' is not a version number (1, 2, …).")
    return DatasetRef(name, number)


def datasets_page(service: DatasetService) -> HTMLResponse:
    page = service.list_datasets(limit=1000)
    return render("datasets.html", title="Datasets", active="datasets", datasets=list(page))


def dataset_page(service: DatasetService, name: str) -> HTMLResponse:
    versions = service.list_versions(name, limit=1000)
    return render("dataset.html", title=name, active="datasets", name=name, versions=list(versions))


def version_page(service: DatasetService, ref: DatasetRef) -> HTMLResponse:
    version = service.get_version(ref)
    profile = service.get_profile(ref)
    charts = [c for c in [label_chart(version.label_counts)] if c is not None]
    if version.kind == "images":
        held = [record_from_image(r) for r in service.image_rows(ref, quarantined=True)]
    else:
        held = list(service.list_records(ref, quarantined=True, limit=MAX_QUARANTINE))
    charts.extend(profile_charts(profile))
    return render(
        "dataset_version.html",
        title=str(version),
        active="datasets",
        version=version,
        report=version.report,
        charts=charts,
        quarantined=held[:MAX_QUARANTINE],
        more_quarantined=max(0, version.num_quarantined - MAX_QUARANTINE),
        splits=service.list_splits(ref),
        file_url=file_url,
    )


def label_page(service: DatasetService, ref: DatasetRef, record_id: str | None) -> HTMLResponse:
    """One image, large, with a button per label; a click makes a new version."""
    version = service.get_version(ref)
    if version.kind != "images":
        raise InvalidInputError(f"{version} is a table: label its rows with a transform.")
    rows = service.image_rows(ref)
    if not rows:
        raise InvalidInputError(f"{version} has no clean images to label.")
    ids = [r["record_id"] for r in rows]
    index = ids.index(record_id) if record_id in ids else 0
    row = rows[index]
    labels = sorted({str(r["label"]) for r in rows if r["label"] is not None})
    nxt = ids[(index + 1) % len(ids)]
    return render(
        "dataset_label.html",
        title=f"Label {version}",
        active="datasets",
        version=version,
        record=record_from_image(row),
        image_url=file_url(version.name, version.version, row["record_id"]),
        labels=labels,
        position=index + 1,
        count=len(ids),
        next_url=_label_url(version.name, version.version, nxt),
        next_id=nxt,
    )


def _label_url(name: str, version: int, record_id: str) -> str:
    base = f"/datasets/{quote(name, safe='')}/{version}/label"
    return f"{base}?{urlencode({'record': record_id})}"


def datasets_pages(ws: Workspace) -> APIRouter:
    """The routes; errors render as pages (404 for an unknown dataset or version)."""
    service = ws.datasets
    if not isinstance(service, DatasetService):
        raise ConfigError("The dashboard shows a local workspace's datasets.")
    router = APIRouter(include_in_schema=False)

    def guarded(build: Callable[[], Response]) -> Response:
        try:
            return build()
        except PomonaError as exc:
            return error_page(exc)

    @router.get("/datasets")
    def datasets() -> Response:
        return guarded(lambda: datasets_page(service))

    @router.get("/datasets/{name}")
    def dataset(name: str) -> Response:
        return guarded(lambda: dataset_page(service, name))

    @router.get("/datasets/{name}/{version}")
    def version(name: str, version: str) -> Response:
        return guarded(lambda: version_page(service, _ref(name, version)))

    @router.get("/datasets/{name}/{version}/label")
    def label(name: str, version: str, request: Request) -> Response:
        record = request.query_params.get("record")
        return guarded(lambda: label_page(service, _ref(name, version), record))

    @router.post("/datasets/{name}/{version}/label")
    def relabel(
        name: str,
        version: str,
        record_id: str = Form(...),
        label: str = Form(...),
        next_id: str = Form(""),
    ) -> Response:
        def act() -> Response:
            made = service.relabel(_ref(name, version), {record_id: label})
            target = _label_url(made.name, made.version, next_id or record_id)
            return RedirectResponse(target, status_code=303)

        return guarded(act)

    return router
