"""The datasets interface over the REST API (remote mode).

A folder or file that exists here is uploaded (only the files the server lacks, see
``_remote_datasets_upload``) and ingested there, with a label CSV named at ingest; other
sources (``s3://``, SQL URLs, paths only the server has) are read by the server, within
its ``datasets.allowed_roots``. Label files given to ``import_labels`` are read here and sent.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import orjson

from pomona.client._remote import RemoteTracking
from pomona.client._remote_datasets_upload import local_source, upload_files
from pomona.datasets import _codec as codec
from pomona.datasets import _quality
from pomona.datasets._model import DatasetInfo, DatasetSplit, DatasetVersion, Record
from pomona.datasets._quality import SuiteLike
from pomona.datasets._reading import safe_relative
from pomona.datasets._refs import RefLike, as_ref
from pomona.datasets._sources import FileSource
from pomona.errors import DatasetValidationError, InvalidInputError
from pomona.types import Page

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

    from pomona.datasets.checks import ValidationReport
    from pomona.datasets.transforms import Transform

__all__ = ["RemoteDatasets"]

_CONNECT_TIMEOUT_S = 10.0


def _suite_text(suite: SuiteLike) -> str | None:
    if suite is None:
        return None
    if isinstance(suite, (str, Path)):
        return _quality.read_suite_text(suite)
    return suite.to_yaml()


@contextmanager
def _with_report() -> Iterator[None]:
    """Rebuild ``DatasetValidationError.report`` from the error's details."""
    try:
        yield
    except DatasetValidationError as exc:
        data = exc.details.get("report")
        if data is not None and exc.report is None:
            exc.report = _quality.report_from_dict(data)
        raise


class RemoteDatasets:
    """Implements ``DatasetsAPI`` by calling a Pomona server (over ``RemoteTracking``'s client)."""

    def __init__(self, http: RemoteTracking) -> None:
        self._http = http

    def _path(self, ref: RefLike, tail: str = "") -> str:
        r = as_ref(ref)
        version = "latest" if r.version is None else str(r.version)
        return f"/datasets/{quote(r.name)}/versions/{version}{tail}"

    def _long(self, method: str, path: str, body: Any) -> Any:
        """A JSON request that may run for minutes (ingest, prepare): no read timeout."""
        return self._http._request(
            method,
            path,
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=httpx.Timeout(None, connect=_CONNECT_TIMEOUT_S),
        )

    def _split_query(self, ref: RefLike) -> dict[str, str]:
        return {"split_id": ref.split_id} if isinstance(ref, DatasetSplit) else {}

    # --- versions -----------------------------------------------------------------------

    def ingest(
        self,
        name: str,
        source: str | Path,
        *,
        labels: str | Path | None = None,
        label_column: str | None = None,
        query: str | None = None,
        suite: SuiteLike = None,
        strict: bool = False,
        storage_options: Mapping[str, Any] | None = None,
        run_id: str | None = None,
        description: str | None = None,
    ) -> DatasetVersion:
        local = local_source(source, query)
        if local is not None:
            return self._ingest_upload(
                name,
                local,
                labels=labels,
                label_column=label_column,
                suite=suite,
                strict=strict,
                run_id=run_id,
                description=description,
            )
        body = {
            "source": _absolute(source),
            "labels": None if labels is None else _absolute(labels),
            "label_column": label_column,
            "query": query,
            "suite": _suite_text(suite),
            "strict": strict,
            "storage_options": dict(storage_options or {}),
            "run_id": run_id,
            "description": description,
        }
        with _with_report():
            data = self._long("POST", f"/datasets/{quote(name)}/versions", body)
        return codec.version_from_json(data)

    def _ingest_upload(
        self,
        name: str,
        src: FileSource,
        *,
        labels: str | Path | None,
        label_column: str | None,
        suite: SuiteLike,
        strict: bool,
        run_id: str | None,
        description: str | None,
    ) -> DatasetVersion:
        """Send the files of a local source (those the server lacks), then ingest them."""
        label_text, label_name = None, "labels.csv"
        if src.kind == "images" and labels is not None and str(labels) != "subfolders":
            if not Path(labels).is_file():
                raise InvalidInputError(
                    f"The label file '{labels}' does not exist.", details={"field": "labels"}
                )
            label_text = Path(labels).read_text(encoding="utf-8-sig")
            label_name = Path(labels).name
            labels = None
        files = upload_files(self._http, src)
        body = {
            "upload": {
                "files": files,
                "source": src.description,
                "label_text": label_text,
                "label_name": label_name,
            },
            "labels": None if labels is None else str(labels),
            "label_column": label_column,
            "suite": _suite_text(suite),
            "strict": strict,
            "run_id": run_id,
            "description": description,
        }
        with _with_report():
            data = self._long("POST", f"/datasets/{quote(name)}/versions", body)
        return codec.version_from_json(data)

    def delete_version(self, ref: RefLike, *, force: bool = False) -> None:
        r = as_ref(ref)
        version = "latest" if r.version is None else str(r.version)
        path = f"/datasets/{quote(r.name)}/versions/{version}"
        self._http._request("DELETE", path, params={"force": str(force).lower()})

    def delete(self, name: str, *, force: bool = False) -> None:
        path = f"/datasets/{quote(name)}"
        self._http._request("DELETE", path, params={"force": str(force).lower()})

    def list_datasets(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[DatasetInfo]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._http._request("GET", "/datasets", params=params)
        return codec.page_from_json(data, codec.info_from_json)

    def list_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[DatasetVersion]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._http._request("GET", f"/datasets/{quote(name)}/versions", params=params)
        return codec.page_from_json(data, codec.version_from_json)

    def get_version(self, ref: RefLike) -> DatasetVersion:
        return codec.version_from_json(self._http._request("GET", self._path(ref)))

    def get_profile(self, ref: RefLike) -> dict[str, Any]:
        return dict(self._http._request("GET", self._path(ref, "/profile")))

    # --- checks and preparation ---------------------------------------------------------

    def infer_suite(self, ref: RefLike) -> str:
        return str(self._http._request("GET", self._path(ref, "/suite"))["yaml"])

    def validate(
        self, ref: RefLike, suite: SuiteLike = None, *, strict: bool = False
    ) -> ValidationReport:
        body = {"suite": _suite_text(suite), "strict": strict}
        with _with_report():
            data = self._long("POST", self._path(ref, "/validate"), body)
        return _quality.report_from_dict(data)

    def prepare(
        self,
        ref: RefLike,
        transform: Transform,
        *,
        suite: SuiteLike = None,
        strict: bool = False,
        run_id: str | None = None,
        description: str | None = None,
    ) -> DatasetVersion:
        body = {
            "transform": transform.to_dict(),
            "suite": _suite_text(suite),
            "strict": strict,
            "run_id": run_id,
            "description": description,
        }
        with _with_report():
            data = self._long("POST", self._path(ref, "/prepare"), body)
        return codec.version_from_json(data)

    def load_transform(self, ref: RefLike) -> Transform:
        return _quality.load_transform(self._http._request("GET", self._path(ref, "/transform")))

    # --- splits and labels --------------------------------------------------------------

    def split(
        self,
        ref: RefLike,
        *,
        test: float = 0.2,
        val: float = 0.1,
        stratify: str | None = "label",
        seed: int = 0,
        near_duplicates: int = 10,
    ) -> DatasetSplit:
        body = {
            "test": test,
            "val": val,
            "stratify": stratify,
            "seed": seed,
            "near_duplicates": near_duplicates,
        }
        return codec.split_from_json(self._long("POST", self._path(ref, "/splits"), body))

    def list_splits(self, ref: RefLike) -> list[DatasetSplit]:
        data = self._http._request("GET", self._path(ref, "/splits"))
        return [codec.split_from_json(s) for s in data["items"]]

    def split_assignment(self, split: DatasetSplit) -> dict[str, str]:
        data = self._http._request("GET", self._path(split.ref, f"/splits/{split.split_id}"))
        return dict(data)

    def import_labels(
        self,
        ref: RefLike,
        path: str | Path,
        *,
        file_column: str | None = None,
        label_column: str | None = None,
        run_id: str | None = None,
    ) -> DatasetVersion:
        file = Path(path)
        try:
            content = file.read_bytes()
        except OSError as exc:
            raise InvalidInputError(
                f"Cannot read the label file '{file}': {exc}.", details={"field": "labels"}
            ) from exc
        params = {
            k: v
            for k, v in {
                "file_column": file_column,
                "label_column": label_column,
                "run_id": run_id,
                "filename": file.name,
            }.items()
            if v is not None
        }
        data = self._http._request(
            "POST",
            self._path(ref, "/labels"),
            content=content,
            params=params,
            headers={"Content-Type": "text/csv"},
            timeout=httpx.Timeout(None, connect=_CONNECT_TIMEOUT_S),
        )
        return codec.version_from_json(data)

    def relabel(
        self, ref: RefLike, labels: Mapping[str, str], *, run_id: str | None = None
    ) -> DatasetVersion:
        body = {"labels": dict(labels), "run_id": run_id}
        return codec.version_from_json(self._long("POST", self._path(ref, "/relabel"), body))

    def label_distribution(self, ref: RefLike) -> dict[str, int]:
        return dict(self._http._request("GET", self._path(ref, "/labels")))

    # --- records ------------------------------------------------------------------------

    def list_records(
        self,
        ref: RefLike,
        *,
        quarantined: bool = False,
        subset: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Record]:
        params: dict[str, Any] = {"limit": limit, **self._split_query(ref)}
        if quarantined:
            params["quarantined"] = "true"
        if subset:
            params["subset"] = subset
        if page_token:
            params["page_token"] = page_token
        data = self._http._request("GET", self._path(ref, "/records"), params=params)
        return codec.page_from_json(data, codec.record_from_json)

    def read_record(self, ref: RefLike, record_id: str) -> bytes:
        path = self._path(ref, f"/files/{quote(record_id)}")
        with self._http._translated():
            response = self._http._http.get("/api/v1" + path)
        if response.status_code >= 400:
            self._http._decode(response)
        return response.content

    def load_table(
        self, ref: RefLike, *, subset: str | None = None, quarantined: bool = False
    ) -> pd.DataFrame:
        import pandas as pd

        params: dict[str, Any] = dict(self._split_query(ref))
        if subset:
            params["subset"] = subset
        if quarantined:
            params["quarantined"] = "true"
        with self._http._translated():
            response = self._http._http.get("/api/v1" + self._path(ref, "/table"), params=params)
        if response.status_code >= 400:
            self._http._decode(response)
        return pd.read_parquet(io.BytesIO(response.content))

    def export(self, ref: RefLike, dest: str | Path, *, subset: str | None = None) -> Path:
        target = Path(dest)
        target.mkdir(parents=True, exist_ok=True)
        version = self.get_version(ref)
        if version.kind == "table":
            self.load_table(ref, subset=subset).to_parquet(target / "data.parquet")
            return target
        token: str | None = None
        while True:
            page = self.list_records(ref, subset=subset, limit=1000, page_token=token)
            for record in page:
                name = safe_relative(record.record_id)
                out = (
                    target / safe_relative(record.label.replace("/", "_")) / "__".join(name.parts)
                    if record.label
                    else target / name
                )
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(self.read_record(version.ref, record.record_id))
            token = page.next_page_token
            if token is None:
                return target


def _absolute(path: str | Path) -> str:
    """Local paths as absolute paths (the server resolves them); URLs and names unchanged."""
    text = str(path)
    if "://" in text or text == "subfolders" or not Path(text).exists():
        return text
    return str(Path(text).resolve())
