"""Code execution through a pipeline target: a client must not make the server run a file.

A monitor's ``on_alert`` and a schedule's ``target`` name a pipeline (``file.py:name``,
``package.module:name`` or a stored ``module:name@file``) that the server loads, which
runs the file. Uploading Python code as a blob puts it at a known place under
``.pomona/``; naming that file (or any file outside the workspace, or a module not on the
allow-list) as ``on_alert`` ran it on the server at once, and as a schedule's target on
every tick. Now each is refused with a 422 naming the field and nothing is stored; a
schedule planted straight into the database is refused again by the server's scheduler.
A schedule's ``executor`` may not name a ``module:Class`` or a ``ray://`` host either.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import pomona
from pomona.pipelines import _json as codec
from pomona.pipelines._schedules import new_schedule

if TYPE_CHECKING:
    from _server import ServerProcess, StartServer

FLOW = """
import pomona as pm


@pm.step
def one() -> int:
    return 1


@pm.pipeline
def flow() -> None:
    one()
"""


def _evil(marker: Path) -> bytes:
    return f"open({str(marker)!r}, 'w').close()\n".encode()


def _upload_code(server: ServerProcess, code: bytes) -> Path:
    """Upload Python code as a pipeline blob; returns where the server stored it."""
    with server.client() as http:
        answer = http.put("/api/v1/pipelines/blobs", content=code)
        assert answer.status_code == 201, answer.text
    digest = hashlib.sha256(code).hexdigest()
    [stored] = [p for p in (server.home / ".pomona").rglob(f"*{digest[-12:]}*") if p.is_file()]
    assert stored.read_bytes() == code
    return stored


def _targets(server: ServerProcess, marker: Path, tmp_path: Path) -> dict[str, str]:
    """Targets naming code the server must never run, by how they get there."""
    blob = _upload_code(server, _evil(marker))
    outside = tmp_path / "outside.py"
    outside.write_bytes(_evil(marker))
    link = server.home / "linked.py"
    link.symlink_to(outside)
    return {
        "uploaded-blob": f"{blob}:x",
        "uploaded-blob-relative": f"{blob.relative_to(server.home)}:x",
        "stored-ref-to-blob": f"evil:x@{blob}",
        "file-outside-the-workspace": f"{outside}:x",
        "symlink-out-of-the-workspace": "linked.py:x",
        "dot-dot-out-of-the-workspace": f"../{outside.name}:x",
        "module-not-on-the-allow-list": "unittest.__main__:x",
        "not-a-python-file": f"{server.home / 'pomona.toml'}:x",
    }


KINDS = [
    "uploaded-blob",
    "uploaded-blob-relative",
    "stored-ref-to-blob",
    "file-outside-the-workspace",
    "symlink-out-of-the-workspace",
    "dot-dot-out-of-the-workspace",
    "module-not-on-the-allow-list",
    "not-a-python-file",
]


def _assert_refused(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] == field, error


def _schedule_body(target: str, *, executor: str | None = None) -> dict[str, Any]:
    """A schedule as the remote SDK sends it."""
    schedule = new_schedule(
        "nightly", target, cron=None, interval_s=1, on_event=None, event_filter={},
        params={}, missed="once", executor=executor,
    )  # fmt: skip
    return codec.schedule_to_json(schedule)


@pytest.mark.parametrize("kind", KINDS)
def test_on_alert_naming_code_outside_the_workspace_is_refused(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path, kind: str
) -> None:
    marker = tmp_path / "pwned"
    server = start_server(workspace_dir)
    target = _targets(server, marker, tmp_path)[kind]
    with server.client() as http:
        body = {"deployment": "shop", "window": "1h", "on_alert": target}
        answer = http.post("/api/v1/monitors", json=body)
        assert not marker.exists(), "the server ran the file on_alert named"
        _assert_refused(answer, "on_alert")
        assert http.get("/api/v1/monitors").json()["items"] == []
        assert http.get("/api/v1/pipelines/schedules").json()["items"] == []


@pytest.mark.parametrize("kind", KINDS)
def test_a_schedule_naming_code_outside_the_workspace_is_refused(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path, kind: str
) -> None:
    marker = tmp_path / "pwned"
    server = start_server(workspace_dir, settings={"pipelines.scheduler_in_server": True,
                                                   "pipelines.scheduler_poll_s": 0.2})  # fmt: skip
    target = _targets(server, marker, tmp_path)[kind]
    with server.client() as http:
        _assert_refused(http.post("/api/v1/pipelines/schedules", json=_schedule_body(target)),
                        "target")  # fmt: skip
        assert http.get("/api/v1/pipelines/schedules").json()["items"] == []
    time.sleep(1.5)  # a few scheduler polls
    assert not marker.exists()


@pytest.mark.parametrize(
    "executor", ["pomona._utils.git:subprocess.Popen", "unittest.__main__:X", "ray://127.0.0.1:1"]
)
def test_a_schedule_naming_an_executor_by_path_or_host_is_refused(
    start_server: StartServer, workspace_dir: Path, executor: str
) -> None:
    (workspace_dir / "flow.py").write_text(FLOW)
    server = start_server(workspace_dir)
    with server.client() as http:
        body = _schedule_body("flow.py:flow", executor=executor)
        _assert_refused(http.post("/api/v1/pipelines/schedules", json=body), "executor")
        assert http.get("/api/v1/pipelines/schedules").json()["items"] == []


def test_a_planted_schedule_is_refused_by_the_servers_scheduler(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    outside = tmp_path / "outside.py"
    outside.write_bytes(_evil(marker))
    with pomona.connect(workspace_dir) as ws:  # past the server's check: a row in the database
        store: Any = ws.pipelines.store
        store.create_schedule(codec.schedule_from_json(_schedule_body(f"{outside}:x")))
    settings = {"pipelines.scheduler_in_server": True, "pipelines.scheduler_poll_s": 0.2}
    server = start_server(workspace_dir, settings=settings)
    deadline = time.monotonic() + 30
    while "not a .py file inside the workspace" not in server.log() and not marker.exists():
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.2)
    assert not marker.exists(), "the server's scheduler ran a file outside the workspace"
    assert server.alive()


def test_pipelines_in_the_workspace_or_trusted_modules_are_accepted(
    start_server: StartServer, workspace_dir: Path
) -> None:
    (workspace_dir / "flow.py").write_text(FLOW)
    settings = {"pipelines.trusted_modules": ["pomona_trusted_flows"]}
    server = start_server(workspace_dir, settings=settings)
    with server.client() as http:
        body = {"deployment": "shop", "window": "1h", "on_alert": "flow.py:flow"}
        made = http.post("/api/v1/monitors", json=body)
        assert made.status_code == 201, made.text
        [schedule] = http.get("/api/v1/pipelines/schedules").json()["items"]
        assert schedule["target"].endswith(f"@{(workspace_dir / 'flow.py').resolve()}")
        for target in ["flow.py:flow", "pomona.examples.fraud.pipelines:retrain_fraud"]:
            body = _schedule_body(target) | {"name": target.replace(":", "-").replace("/", "-")}
            answer = http.post("/api/v1/pipelines/schedules", json=body)
            assert answer.status_code == 201, answer.text
        answer = http.post(
            "/api/v1/pipelines/schedules",
            json=_schedule_body("pomona_trusted_flows:flow") | {"name": "trusted"},
        )
        assert answer.status_code == 201, answer.text  # listed: checked by name, not imported


class _Opener:
    """Unpickling this creates the marker file (any call would do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


CHAINED = """
import pomona as pm


@pm.step
def first() -> int:
    return 1


@pm.step
def second(x: int) -> int:
    return x + 1


@pm.pipeline
def chained() -> None:
    second(first())
"""


def test_a_cached_step_record_naming_a_pickle_is_never_unpickled(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    import pickle

    marker = tmp_path / "pwned"
    (workspace_dir / "chained.py").write_text(CHAINED)
    settings = {"pipelines.scheduler_in_server": True, "pipelines.scheduler_poll_s": 0.2}
    server = start_server(workspace_dir, settings=settings)
    with server.client() as http:
        body = _schedule_body("chained.py:chained") | {"name": "often"}
        assert http.post("/api/v1/pipelines/schedules", json=body).status_code == 201
        first = _wait_for_runs(http, 1)[-1]
        # A client rewrites the cached record of 'first': its output is now a pickle.
        evil = pickle.dumps(_Opener(marker))
        digest = http.put("/api/v1/pipelines/blobs", content=evil).json()["digest"]
        [step] = [s for s in first["steps"] if s["name"] == "first"]
        step["outputs"] = [
            {"name": "output", "digest": digest, "materializer": "pickle", "type_name": "int",
             "size": len(evil)}
        ]  # fmt: skip
        step["ended_at"] = "2100-01-01T00:00:00+00:00"  # the newest record of its cache key
        planted = http.put(f"/api/v1/pipelines/runs/{first['run_id']}/steps/first", json=step)
        assert planted.status_code == 204, planted.text
        later = _wait_for_runs(http, 3)[0]  # the scheduler's next runs meet the record
    assert not marker.exists(), "the scheduler unpickled a client's blob"
    assert later["state"] == "succeeded", later
    [again] = [s for s in later["steps"] if s["name"] == "first"]
    assert not again["cache_hit"]


def _wait_for_runs(http: httpx.Client, n: int, timeout_s: float = 60) -> list[dict[str, Any]]:
    """The pipeline runs, newest first, once ``n`` have finished."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        items = http.get("/api/v1/pipelines/runs").json()["items"]
        done = [r for r in items if r["state"] in ("succeeded", "failed")]
        if len(done) >= n:
            return [http.get(f"/api/v1/pipelines/runs/{r['run_id']}").json() for r in done]
        time.sleep(0.2)
    raise AssertionError("the server's scheduler ran no pipeline")
