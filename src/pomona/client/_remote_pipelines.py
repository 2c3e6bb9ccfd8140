"""The pipeline store and the step-output blobs over the REST API (remote mode).

Pipelines run in the client's process (and its executors); every record goes to the
server, and step outputs travel as verified blobs.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO, ClassVar, cast
from urllib.parse import quote

import httpx

from pomona.artifacts.base import ArtifactStore, HashingReader, check_digest
from pomona.client._remote import RemoteTracking
from pomona.errors import (
    ArtifactCorruptedError,
    ArtifactNotFoundError,
    InvalidInputError,
    NotFoundError,
)
from pomona.pipelines import _json as codec
from pomona.pipelines.records import (
    Event,
    LineageGraph,
    PipelineRun,
    PipelineRunNotFoundError,
    PipelineSummary,
    RunState,
    Schedule,
    ScheduleNotFoundError,
    StepRun,
)
from pomona.types import Digest, Page

__all__ = ["RemoteBlobStore", "RemotePipelineStore"]

_P = "/pipelines"


class RemotePipelineStore:
    """Implements ``PipelineStore`` by calling a Pomona server."""

    def __init__(self, remote: RemoteTracking) -> None:
        self._remote = remote

    def _get(self, path: str, **kwargs: Any) -> Any:
        return self._remote._request("GET", _P + path, **kwargs)

    def _send(self, method: str, path: str, body: Any) -> Any:
        return self._remote._json(method, _P + path, body)

    def create_run(self, run: PipelineRun, dag: dict[str, Any]) -> PipelineRun:
        data = self._send("POST", "/runs", {"run": codec.run_to_json(run), "dag": dag})
        return codec.run_from_json(data)

    def heartbeat_run(self, run_id: str) -> None:
        self._send("POST", f"/runs/{quote(run_id)}/heartbeat", {})

    def record_step(self, step: StepRun) -> None:
        path = f"/runs/{quote(step.run_id)}/steps/{quote(step.name, safe='')}"
        self._send("PUT", path, codec.step_to_json(step))

    def end_run(self, run_id: str, state: RunState, error: str | None = None) -> None:
        self._send("POST", f"/runs/{quote(run_id)}/end", {"state": state.value, "error": error})

    def find_cached(self, cache_key: str) -> StepRun | None:
        data = self._get(f"/cache/{quote(cache_key)}")["step"]
        return codec.step_from_json(data) if data else None

    def get_run(self, run_id: str) -> PipelineRun:
        try:
            return codec.run_from_json(self._get(f"/runs/{quote(run_id, safe='')}"))
        except NotFoundError:
            raise PipelineRunNotFoundError(run_id) from None

    def list_runs(
        self,
        pipeline: str | None = None,
        *,
        state: RunState | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> Page[PipelineRun]:
        query: dict[str, Any] = {"limit": limit}
        if pipeline is not None:
            query["pipeline"] = pipeline
        if state is not None:
            query["state"] = RunState(state).value
        if page_token:
            query["page_token"] = page_token
        data = self._get("/runs", params=query)
        return Page(
            items=[codec.run_from_json(r) for r in data["items"]],
            next_page_token=data.get("next_page_token"),
            total=data.get("total"),
        )

    def list_pipelines(self) -> list[PipelineSummary]:
        return [codec.summary_from_json(s) for s in self._get("")["items"]]

    def lineage(self, digest: str, direction: str, *, max_nodes: int = 500) -> LineageGraph:
        data = self._get(f"/lineage/{quote(digest)}", params={"direction": direction})
        return codec.lineage_from_json(data)

    def mark_dead_runs(self, timeout_s: float) -> int:
        return int(self._send("POST", "/dead-runs", {"timeout_s": timeout_s})["marked"])

    def create_schedule(self, schedule: Schedule) -> Schedule:
        return codec.schedule_from_json(
            self._send("POST", "/schedules", codec.schedule_to_json(schedule))
        )

    def get_schedule(self, name: str) -> Schedule:
        try:
            return codec.schedule_from_json(self._get(f"/schedules/{quote(name, safe='')}"))
        except NotFoundError:
            raise ScheduleNotFoundError(name) from None

    def list_schedules(self) -> list[Schedule]:
        return [codec.schedule_from_json(s) for s in self._get("/schedules")["items"]]

    def delete_schedule(self, name: str) -> None:
        self._remote._request("DELETE", f"{_P}/schedules/{quote(name, safe='')}")

    def emit_event(self, type: str, payload: dict[str, Any]) -> Event:
        return codec.event_from_json(
            self._send("POST", "/events", {"type": type, "payload": payload})
        )

    def list_events(
        self, type: str | None = None, *, limit: int = 50, page_token: str | None = None
    ) -> Page[Event]:
        query: dict[str, Any] = {"limit": limit}
        if type is not None:
            query["type"] = type
        if page_token:
            query["page_token"] = page_token
        data = self._get("/events", params=query)
        return Page(
            items=[codec.event_from_json(e) for e in data["items"]],
            next_page_token=data.get("next_page_token"),
        )


class RemoteBlobStore(ArtifactStore):
    """Step-output blobs on a Pomona server. Picklable: worker processes open their own
    connection, so the process and Ray executors work in remote mode too."""

    name: ClassVar[str] = "pomona"

    def __init__(self, base_url: str, token: str | None = None, timeout_s: float = 300) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._remote_client: RemoteTracking | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_remote_client": None}

    @property
    def _remote(self) -> RemoteTracking:
        if self._remote_client is None:
            self._remote_client = RemoteTracking(
                self.base_url, token=self._token, timeout_s=self._timeout_s
            )
        return self._remote_client

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/v1{_P}/blobs"

    def put_stream(self, stream: BinaryIO) -> tuple[Digest, int]:
        def chunks() -> Iterator[bytes]:
            while chunk := stream.read(1024 * 1024):
                yield chunk

        data = self._remote._request(
            "PUT",
            f"{_P}/blobs",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return Digest(data["digest"]), int(data["size"])

    def _head(self, digest: Digest) -> httpx.Response | None:
        path = f"/api/v1{_P}/blobs/{quote(check_digest(digest))}"
        with self._remote._translated():
            response = self._remote._http.head(path)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            self._remote._decode(self._remote._http.get(path))
        return response

    def exists(self, digest: Digest) -> bool:
        return self._head(digest) is not None

    def size(self, digest: Digest) -> int:
        response = self._head(digest)
        if response is None:
            raise ArtifactNotFoundError(f"No blob {digest} on the server.")
        return int(response.headers["Content-Length"])

    def open(self, digest: Digest) -> HashingReader:
        path = f"/api/v1{_P}/blobs/{quote(check_digest(digest))}"
        spool = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115 - returned open
        hasher = hashlib.sha256()
        try:
            with self._remote._translated(), self._remote._http.stream("GET", path) as response:
                if response.status_code >= 400:
                    response.read()
                    if response.status_code == 404:
                        raise ArtifactNotFoundError(f"No blob {digest} on the server.")
                    self._remote._decode(response)
                for chunk in response.iter_bytes(1024 * 1024):
                    hasher.update(chunk)
                    spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        if "sha256:" + hasher.hexdigest() != digest:
            spool.close()
            raise ArtifactCorruptedError(f"Blob {digest} arrived corrupted.", hint="Retry.")
        spool.seek(0)
        return HashingReader(cast(BinaryIO, spool), digest)

    def delete(self, digest: Digest) -> None:
        raise InvalidInputError(
            "Blobs are not deleted through the server.",
            hint="Run 'pomona gc' where the workspace lives.",
        )

    def iter_digests(self) -> Iterator[Digest]:
        raise InvalidInputError("Blobs are not listed through the server.")

    def close(self) -> None:
        if self._remote_client is not None:
            self._remote_client.close()
            self._remote_client = None
