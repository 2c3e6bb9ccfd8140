"""The tracking interface over the REST API (remote mode)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx
import orjson

from pomona.client import _codec
from pomona.errors import (
    ArtifactCorruptedError,
    BackendUnavailableError,
    PomonaError,
    error_class_for_code,
)
from pomona.tracking.validation import check_artifact_path
from pomona.types import ArtifactInfo, Metric, MetricPoint, Page, Run, RunStatus

__all__ = ["RemoteTracking"]

_API = "/api/v1"


class RemoteTracking:
    """Implements ``TrackingAPI`` by calling a Pomona server."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = 30) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)
        self.base_url = base_url.rstrip("/")

    def close(self) -> None:
        self._http.close()

    # --- transport ----------------------------------------------------------------------

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except httpx.TransportError as exc:
            raise BackendUnavailableError(
                f"The Pomona server at {self.base_url} cannot be reached: {exc}.",
                hint="Start it with 'pomona server' or check POMONA_URI.",
            ) from exc

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        with self._translated():
            response = self._http.request(method, _API + path, **kwargs)
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            try:
                err = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                cls = (
                    BackendUnavailableError
                    if response.status_code in (502, 503, 504)
                    else PomonaError
                )
                raise cls(
                    f"The server answered {response.status_code}: {response.text[:200]}"
                ) from None
            cls_ = error_class_for_code(err.get("code", ""))
            raise cls_(err.get("message", ""), hint=err.get("hint"), details=err.get("details"))
        if not response.content:
            return None
        return orjson.loads(response.content)

    def _json(
        self, method: str, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> Any:
        return self._request(
            method,
            path,
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    # --- TrackingAPI --------------------------------------------------------------------

    def create_run(
        self,
        *,
        run_id: str | None = None,
        name: str | None = None,
        experiment: str = "default",
        parent_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        source: str | None = None,
        git_commit: str | None = None,
        git_dirty: bool | None = None,
    ) -> Run:
        body = {
            "run_id": run_id,
            "name": name,
            "experiment": experiment,
            "parent_run_id": parent_run_id,
            "tags": dict(tags or {}),
            "params": dict(params or {}),
            "source": source,
            "git_commit": git_commit,
            "git_dirty": git_dirty,
        }
        return _codec.run_from_json(self._json("POST", "/runs", body))

    def get_run(self, run_id: str) -> Run:
        return _codec.run_from_json(self._request("GET", f"/runs/{quote(run_id)}"))

    def log_batch(
        self,
        run_id: str,
        *,
        metrics: Sequence[Metric] = (),
        params: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        body = {
            "metrics": [_codec.metric_to_json(m) for m in metrics],
            "params": dict(params or {}),
            "tags": dict(tags or {}),
        }
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        self._json("POST", f"/runs/{quote(run_id)}/batch", body, headers)

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        self._json("POST", "/runs/heartbeat", {"run_ids": list(run_ids)})

    def end_run(self, run_id: str, status: RunStatus = RunStatus.FINISHED) -> None:
        self._json("POST", f"/runs/{quote(run_id)}/end", {"status": RunStatus(status).value})

    def search_runs(
        self,
        filter: str | None = None,
        *,
        experiment: str | None = None,
        order_by: Sequence[str] = (),
        limit: int = 100,
        page_token: str | None = None,
        include_deleted: bool = False,
    ) -> Page[Run]:
        query: list[tuple[str, str | int | bool]] = [("limit", limit)]
        if filter:
            query.append(("filter", filter))
        if experiment is not None:
            query.append(("experiment", experiment))
        query.extend(("order_by", o) for o in order_by)
        if page_token:
            query.append(("page_token", page_token))
        if include_deleted:
            query.append(("include_deleted", "true"))
        data = self._request("GET", "/runs", params=query)
        return Page(
            items=[_codec.run_from_json(r) for r in data["items"]],
            next_page_token=data.get("next_page_token"),
            total=data.get("total"),
        )

    def list_experiments(self) -> list[str]:
        items: list[str] = self._request("GET", "/experiments")["items"]
        return items

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> list[MetricPoint]:
        params = {"max_points": max_points} if max_points is not None else None
        data = self._request("GET", f"/runs/{quote(run_id)}/metrics/{quote(key)}", params=params)
        return [_codec.point_from_json(p) for p in data["points"]]

    def log_artifact(self, run_id: str, path: str, stream: BinaryIO) -> ArtifactInfo:
        check_artifact_path(path)  # before the URL normalises '..' away

        def chunks() -> Iterator[bytes]:
            while chunk := stream.read(1024 * 1024):
                yield chunk

        data = self._request(
            "PUT",
            f"/runs/{quote(run_id)}/artifacts/{quote(path)}",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return _codec.artifact_from_json(data)

    def list_artifacts(self, run_id: str) -> list[ArtifactInfo]:
        data = self._request("GET", f"/runs/{quote(run_id)}/artifacts")
        return [_codec.artifact_from_json(a) for a in data["items"]]

    def download_artifact(self, run_id: str, path: str, dest: Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.partial")
        url = f"{_API}/runs/{quote(run_id)}/artifacts/{quote(path)}"
        try:
            with self._translated(), self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    self._decode(response)
                expected = response.headers.get("X-Pomona-Digest")
                digest = hashlib.sha256()
                with tmp.open("wb") as out:
                    for chunk in response.iter_bytes(1024 * 1024):
                        digest.update(chunk)
                        out.write(chunk)
            actual = "sha256:" + digest.hexdigest()
            if not expected:  # a proxy dropped the header: the run's listing names it
                listed = [a.digest for a in self.list_artifacts(run_id) if a.path == path]
                expected = listed[0] if listed else None
            if expected and actual != expected:
                raise ArtifactCorruptedError(
                    f"Artifact '{path}' of run {run_id} arrived corrupted "
                    f"({actual} != {expected}).",
                    hint="Retry the download.",
                )
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest

    def delete_run(self, run_id: str) -> None:
        self._request("DELETE", f"/runs/{quote(run_id)}")

    def restore_run(self, run_id: str) -> None:
        self._request("POST", f"/runs/{quote(run_id)}/restore")
