"""Limits and bad input, replayed against a real ``pomona server`` process.

- A 36 KB request of eight 6000x6000 1-bit PNGs (864 MB once decoded to RGB) and too many
  images in one request: 413 from the headers, before any decoding; the server's peak
  memory barely moves.
- A body over the limit, declared (``Content-Length``) or streamed (chunked): 413 before
  the route reads it; nothing stored, no spool file left. Uploads streamed to disk have a
  limit of their own; a long model description is a 422.
- ``{"duration": 1e12}`` for a silence: 422, no row; an out-of-range row an older version
  stored reads back clamped, and ``/alerts`` keeps answering.
- A run artifact overwritten with same-size garbage is never a 200 with the wrong bytes,
  and the SDK refuses it.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from _server import peak_rss
from sqlalchemy import insert

import pomona
from pomona.artifacts.base import blob_key
from pomona.errors import ArtifactCorruptedError, PomonaError
from pomona.testing.serving import apple_png, register_apple_model

if TYPE_CHECKING:
    from _server import ServerProcess, StartServer

MIB = 1024 * 1024


def _bomb(side: int = 6000) -> bytes:
    """A ``side`` x ``side`` 1-bit PNG of zeros: 4.4 KB that decode to 108 MB of RGB."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "hint", "details"}, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.fixture
def image_server(workspace_dir: Path, start_server: StartServer) -> ServerProcess:
    """A server with an image model deployed as ``apples``."""
    with pomona.connect(workspace_dir) as ws:
        register_apple_model(ws, epochs=0)
        ws.deployments.create("apples", model="apples:1")
    return start_server(workspace_dir, settings={"server.max_request_images": 16})


def _oip_body(files: list[bytes]) -> tuple[bytes, dict[str, str]]:
    raw = b"".join(struct.pack("<I", len(f)) + f for f in files)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "image",
                    "datatype": "BYTES",
                    "shape": [len(files)],
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    ).encode()
    headers = {
        "Content-Type": "application/octet-stream",
        "Inference-Header-Content-Length": str(len(header)),
    }
    return header + raw, headers


def test_png_bomb_is_refused_from_the_headers(image_server: ServerProcess) -> None:
    bombs = [_bomb()] * 8
    assert sum(map(len, bombs)) < 40_000
    predict = "/v1/deployments/apples/predict"
    with image_server.client() as http:
        assert http.post(predict, files={"file": ("a.png", apple_png(1))}).status_code == 200
        before = peak_rss(image_server.proc.pid)
        multipart = [("file", (f"{i}.png", b, "image/png")) for i, b in enumerate(bombs)]
        replies = [
            http.post(predict, files=multipart),
            http.post(predict, json={"images": [base64.b64encode(b).decode() for b in bombs]}),
        ]
        body, headers = _oip_body(bombs)
        oip = http.post("/v2/models/apples/infer", content=body, headers=headers)
        grown = peak_rss(image_server.proc.pid) - before
        assert grown < 100 * MIB, f"the server's peak memory grew by {grown / MIB:.0f} MiB"
        for reply in replies:
            assert reply.status_code == 413, reply.text
            error = _error(reply)
            assert "server.max_request_pixels" in str(error["message"])
            assert error["details"] == {
                "field": "image",
                "limit": 64_000_000,
                "setting": "server.max_request_pixels",
            }
        assert oip.status_code == 413 and "server.max_request_pixels" in oip.json()["error"]
        # one such picture is within the budget; the server still answers
        assert http.post(predict, files={"file": ("a.png", apple_png(2))}).status_code == 200


def test_too_many_images_in_one_request(image_server: ServerProcess) -> None:
    photo = apple_png(3)
    predict = "/v1/deployments/apples/predict"
    with image_server.client() as http:
        many = [("file", (f"{i}.png", photo, "image/png")) for i in range(17)]
        as_json = {"images": [base64.b64encode(photo).decode()] * 17}
        body, headers = _oip_body([photo] * 17)
        replies = [
            http.post(predict, files=many),
            http.post(predict, json=as_json),
            http.post("/v2/models/apples/infer", content=body, headers=headers),
        ]
        for reply in replies:
            assert reply.status_code == 413, reply.text
            assert "server.max_request_images" in reply.text and "16" in reply.text
        assert http.post(predict, files=many[:16]).status_code == 200
        logged = http.get("/api/v1/deployments/apples/status").json()["models"]
        assert logged["primary"]["requests"] == 1  # the refused requests reached no model


def _raw_request(url: str, head: str, body: bytes = b"", timeout_s: float = 10) -> bytes:
    """Send a hand-written request on a socket; what the server answered."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    """The server's temporary folder: uploads spool there."""
    path = tmp_path / "server-tmp"
    path.mkdir()
    return path


def test_declared_body_over_the_limit_is_refused_unread(
    workspace_dir: Path, start_server: StartServer, spool_dir: Path
) -> None:
    server = start_server(workspace_dir, env={"TMPDIR": str(spool_dir)})
    with pomona.connect(server.url) as remote, remote.start_run(experiment="limits") as run:
        run_id = run.run_id
    cases = [
        ("POST /api/v1/models", 64 * MIB + 1, "server.max_body_mb"),
        (f"PUT /api/v1/runs/{run_id}/artifacts/big.bin", 5120 * MIB + 1, "server.max_upload_mb"),
        ("POST /api/v1/model-blobs", 10**15, "server.max_upload_mb"),
        ("POST /api/v1/datasets/d/versions/1/labels", 10**12, "server.max_body_mb"),
    ]
    for request_line, declared, setting in cases:
        # the body is never sent: a server that waited to read it would time out here
        answer = _raw_request(
            server.url,
            f"{request_line} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\n"
            f"Content-Length: {declared}\n",
        )
        status, _, rest = answer.partition(b"\r\n")
        assert status.startswith(b"HTTP/1.1 413"), answer[:300]
        error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
        assert error["details"]["setting"] == setting and str(declared) in error["message"]
    with server.client() as http:
        assert http.get("/api/v1/models").json()["items"] == []
        assert http.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"] == []
    assert list(spool_dir.iterdir()) == []


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    """``total`` bytes as a stream: httpx sends it chunked, without ``Content-Length``."""
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


def _multipart_head() -> list[bytes]:
    """The start of a multipart body with one file part (its bytes follow)."""
    return [
        b"--x\r\n",
        b'Content-Disposition: form-data; name="file"; filename="a.png"\r\n',
        b"Content-Type: image/png\r\n\r\n",
    ]


def test_streamed_body_over_the_limit_is_cut_off(
    workspace_dir: Path, start_server: StartServer, spool_dir: Path
) -> None:
    settings = {"server.max_body_mb": 1, "server.max_upload_mb": 2}
    server = start_server(workspace_dir, env={"TMPDIR": str(spool_dir)}, settings=settings)
    big = workspace_dir.parent / "big.bin"
    big.write_bytes(b"x" * int(1.5 * MIB))  # over max_body_mb, within max_upload_mb
    with pomona.connect(server.url) as remote, remote.start_run(experiment="limits") as run:
        run.log_artifact(big, "ok.bin")  # the SDK streams it, chunked
        run_id = run.run_id
    json_headers = {"Content-Type": "application/json"}
    with server.client() as http:
        description = b'{"name": "m", "description": "' + b"x" * (2 * MIB) + b'"}'
        streamed = [
            http.post("/api/v1/models", content=_chunks(2 * MIB), headers=json_headers),
            http.post("/api/v1/models", content=iter([description]), headers=json_headers),
            http.put(f"/api/v1/runs/{run_id}/artifacts/too-big.bin", content=_chunks(3 * MIB)),
            http.post("/api/v1/model-blobs", content=_chunks(3 * MIB)),
            http.post("/api/v1/datasets/d/versions/1/labels", content=_chunks(2 * MIB)),
            http.post(
                "/v1/deployments/none/predict",
                content=iter([*_multipart_head(), *_chunks(2 * MIB)]),
                headers={"Content-Type": "multipart/form-data; boundary=x"},
            ),
        ]
        for reply in streamed:
            assert "content-length" not in reply.request.headers
            assert reply.status_code == 413, reply.text
            setting = reply.json()["error"]["details"]["setting"]
            assert setting in ("server.max_body_mb", "server.max_upload_mb")
        assert http.get("/api/v1/models").json()["items"] == []
        stored = http.get(f"/api/v1/runs/{run_id}/artifacts").json()["items"]
        assert [a["path"] for a in stored] == ["ok.bin"]
        # within the body limit, a description longer than a description is a 422
        reply = http.post("/api/v1/models", json={"name": "m", "description": "x" * 20_000})
        assert reply.status_code == 422
        assert reply.json()["error"]["details"]["field"] == "description"
        assert http.get("/api/v1/models").json()["items"] == []
    assert list(spool_dir.iterdir()) == []


def test_silence_out_of_range_stores_nothing_and_old_rows_read_back(
    workspace_dir: Path, start_server: StartServer
) -> None:
    from pomona.metadata.schema import monitor_silences

    with pomona.connect(workspace_dir) as ws:  # a row an older Pomona stored
        assert ws.metadata_store is not None
        with ws.metadata_store.write() as conn:
            conn.execute(
                insert(monitor_silences).values(
                    silence_id="old",
                    rule="drift",
                    starts_ms=1_700_000_000_000,
                    ends_ms=1_700_000_000_000 + 10**15,
                    created_by="older-pomona",
                    comment="",
                    created_ms=1_700_000_000_000,
                )
            )
    server = start_server(workspace_dir)
    with server.client() as http:
        for duration in (1e12, 1e300, "9999999999d", -1, 0):
            reply = http.post("/api/v1/alerts/silences", json={"duration": duration})
            assert reply.status_code == 422, reply.text
            assert _error(reply)["details"] == {"field": "duration"}
        listed = http.get("/api/v1/alerts/silences", params={"active": "false"})
        assert listed.status_code == 200
        assert [(s["silence_id"], s["ends_at"]) for s in listed.json()["items"]] == [
            ("old", "9999-12-31T23:59:59.999000+00:00")
        ]
        assert http.get("/api/v1/alerts").status_code == 200
        page = http.get("/alerts")
        assert page.status_code == 200 and "older-pomona" in page.text
        made = http.post("/api/v1/alerts/silences", json={"duration": "2h", "rule": "drift"})
        assert made.status_code == 201
    assert "out of range" in server.log()


def _corrupt(home: Path, digest: str) -> bytes:
    """Overwrite a stored blob with garbage of the same length; the garbage."""
    path = home / ".pomona" / "artifacts" / blob_key(digest)  # type: ignore[arg-type]
    garbage = path.read_bytes().translate(bytes(b ^ 0x5A for b in range(256)))
    path.chmod(0o644)
    path.write_bytes(garbage)
    return garbage


def test_corrupted_artifact_is_never_served_as_200(
    workspace_dir: Path, start_server: StartServer, tmp_path: Path
) -> None:
    small, large = tmp_path / "small.txt", tmp_path / "large.bin"
    small.write_bytes(b"weights " * 1000)
    large.write_bytes(bytes(range(256)) * (65 * MIB // 256 + 1))  # over VERIFY_FIRST_BYTES
    with pomona.connect(workspace_dir) as ws, ws.start_run(experiment="corrupt") as run:
        infos = {p.name: run.log_artifact(p) for p in (small, large)}
    garbage = {name: _corrupt(workspace_dir, info.digest) for name, info in infos.items()}
    server = start_server(workspace_dir)
    base = f"/api/v1/runs/{run.run_id}/artifacts"
    with server.client() as http:
        reply = http.get(f"{base}/small.txt")
        assert reply.status_code == 502 and _error(reply)["code"] == "artifact_corrupted"
        assert reply.content != garbage["small.txt"]
        with http.stream("GET", f"{base}/large.bin") as streamed:
            assert streamed.headers["X-Pomona-Digest"] == infos["large.bin"].digest
            received = 0
            with pytest.raises(httpx.RemoteProtocolError):  # cut short of Content-Length
                for chunk in streamed.iter_bytes():
                    received += len(chunk)
            assert received < len(garbage["large.bin"])
    with pomona.connect(server.url) as remote:
        for name in ("small.txt", "large.bin"):
            dest = tmp_path / "down" / name
            expected = ArtifactCorruptedError if name == "small.txt" else PomonaError
            with pytest.raises(expected):  # the large one: a connection cut short
                remote.runs.download_artifact(run.run_id, name, dest)
            assert not dest.exists()
    assert server.alive()


@pytest.mark.parametrize("header", [True, False], ids=["digest-header", "header-dropped"])
def test_the_sdk_refuses_an_artifact_whose_bytes_fail_the_digest(
    tmp_path: Path, header: bool
) -> None:
    """A server (or a proxy) that answers 200 with other bytes than the artifact's digest:
    the remote SDK checks ``X-Pomona-Digest`` (or, when a proxy dropped it, the digest the
    run's artifact listing names) and keeps nothing."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from pomona.client._remote import RemoteTracking

    sent = b"not the stored bytes"
    claimed = "sha256:" + hashlib.sha256(b"the stored bytes").hexdigest()

    class Lying(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            listing = self.path.endswith("/artifacts")
            item = {"path": "model.bin", "digest": claimed, "size": len(sent)}
            body = json.dumps({"items": [item]}).encode() if listing else sent
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if listing:
                self.send_header("Content-Type", "application/json")
            elif header:
                self.send_header("X-Pomona-Digest", claimed)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Lying)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        remote = RemoteTracking(f"http://127.0.0.1:{server.server_address[1]}")
        dest = tmp_path / "model.bin"
        with pytest.raises(ArtifactCorruptedError, match="arrived corrupted"):
            remote.download_artifact("r1", "model.bin", dest)
        remote.close()
    finally:
        server.shutdown()
        thread.join()
    assert list(tmp_path.iterdir()) == []
