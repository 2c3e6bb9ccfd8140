"""The inference server over real HTTP: bad input, the Open Inference Protocol with the real
tritonclient, the OpenAPI document under schemathesis, management and the CLI."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.server.app import create_app
from pomona.testing.live import serve_in_thread
from pomona.testing.serving import (
    SENTINEL,
    apple_png,
    cancer_frame,
    register_apple_model,
    register_cancer_model,
    register_table_net,
)

FAST = {"serving.poll_s": 0.2, "serving.log_flush_interval_s": 0.2}  # server settings
LIMITS = {"server.max_body_mb": 32}  # the "huge" body below is over it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    ws = pomona.connect(tmp_path_factory.mktemp("serving") / "ws", **FAST, **LIMITS)
    register_cancer_model(ws)
    register_table_net(ws, "net", mode="fail_on_sentinel")
    register_apple_model(ws, epochs=0)
    ws.deployments.create("cancer-prod", model="cancer:1")
    ws.deployments.create("net", model="net:1")
    ws.deployments.create("apples-prod", model="apples:1", options={"max_image_bytes": 200_000})
    with serve_in_thread(create_app(ws)) as url:
        yield ws, url
    ws.close()


def _post(url: str, path: str, **kwargs: object) -> httpx.Response:
    return httpx.post(url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def _error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "hint", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_signature_is_enforced_naming_the_field(served: tuple[Workspace, str]) -> None:
    _, url = served
    X, _ = cancer_frame()
    record = X.iloc[0].to_dict()
    ok = _post(url, "/v1/deployments/cancer-prod/predict", json={"records": [record]})
    assert ok.status_code == 200 and ok.json()["predictions"] in ([0], [1])
    assert ok.headers["X-Request-ID"] == ok.json()["request_id"]

    missing = {k: v for k, v in record.items() if k != "worst_area"}
    r = _post(url, "/v1/deployments/cancer-prod/predict", json={"records": [missing]})
    assert r.status_code == 422 and _error(r)["details"] == {"field": "worst_area"}
    wrong = record | {"mean_radius": "large"}
    r = _post(url, "/v1/deployments/cancer-prod/predict", json={"records": [wrong]})
    assert r.status_code == 422 and "mean_radius" in str(_error(r)["message"])
    r = _post(url, "/v1/deployments/cancer-prod/predict", json={"instances": [[1, 2]]})
    assert r.status_code == 422 and "records" in str(_error(r)["message"])
    r = _post(url, "/v1/deployments/net/predict", json={"instances": [[1, 2, 3]]})
    assert r.status_code == 422 and "[-1, 4]" in str(_error(r)["message"])


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b'{"records": [', {"Content-Type": "application/json"}, 400),
        (b"records=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b"[1, 2]", {"Content-Type": "text/plain"}, 415),
        (b"[1, 2]", {"Content-Type": "application/json"}, 422),
        (b'{"records": []}', {"Content-Type": "application/json"}, 422),
        (b"x" * (33 * 1024 * 1024), {"Content-Type": "application/json"}, 413),
    ],
    ids=["malformed-json", "form", "text", "not-an-object", "empty", "huge"],
)
def test_bad_bodies_get_a_json_4xx(
    served: tuple[Workspace, str], content: bytes, headers: dict[str, str], status: int
) -> None:
    _, url = served
    r = _post(url, "/v1/deployments/cancer-prod/predict", content=content, headers=headers)
    assert r.status_code == status
    assert _error(r)["code"] == "invalid_input"


def test_unknown_deployment_is_404(served: tuple[Workspace, str]) -> None:
    _, url = served
    r = _post(url, "/v1/deployments/nowhere/predict", json={"records": [{}]})
    assert r.status_code == 404 and _error(r)["details"]["deployment"] == "nowhere"  # type: ignore[index]
    assert httpx.get(url + "/v2/models/nowhere/ready").status_code == 404


def test_a_model_that_raises_gets_500_and_the_server_keeps_serving(
    served: tuple[Workspace, str],
) -> None:
    _, url = served
    bad = _post(url, "/v1/deployments/net/predict", json={"instances": [[SENTINEL, 0, 0, 0]]})
    assert bad.status_code == 500 and _error(bad)["code"] == "model_error"
    assert "sentinel" in str(_error(bad)["message"])
    good = _post(url, "/v1/deployments/net/predict", json={"instances": [[0.5, 0, 0, 1]]})
    assert good.status_code == 200 and good.json()["predictions"] in ([0], [1])
    # failed predictions are counted per deployment, model version and variant
    status = httpx.get(url + "/api/v1/deployments/net/status").json()
    (counted,) = [v for v in status["versions"] if v["model"] == "net:1"]
    assert counted["variant"] == "primary" and counted["errors"] >= 1
    assert counted["requests"] >= counted["errors"] + 1
    assert status["models"]["primary"]["errors"] == counted["errors"]
    metrics = httpx.get(url + "/metrics").text
    labels = '{deployment="net",model="net:1",variant="primary"}'
    assert f"pomona_deployment_errors_total{labels} {float(counted['errors'])}" in metrics
    assert f"pomona_deployment_requests_total{labels} " in metrics


def test_logged_image_properties_are_validations_measurements(
    served: tuple[Workspace, str],
) -> None:
    import time

    from pomona.datasets.checks import validate_images
    from pomona.serving.logs import load_prediction_logs

    ws, url = served
    photos = [apple_png(11), apple_png(12), apple_png(13)]
    rids = []
    for photo in photos:  # separate requests, measured together by the log writer
        r = _post(url, "/v1/deployments/apples-prod/predict", files={"file": ("a.png", photo)})
        rids.append(r.json()["request_id"])
    for _ in range(100):
        logs = load_prediction_logs(ws.metadata_store, ws.artifact_store, "apples-prod")
        found = {rid: i for i, rid in enumerate(logs.column("request_id").to_pylist())}
        if all(rid in found for rid in rids):
            break
        time.sleep(0.1)
    measured = validate_images([(str(i), p) for i, p in enumerate(photos)]).properties
    for i, rid in enumerate(rids):
        row = {k: v[found[rid]] for k, v in logs.to_pydict().items()}
        expected = measured[str(i)]
        assert row["in__brightness"] == pytest.approx(expected.brightness, abs=1e-5)
        assert row["in__blur"] == pytest.approx(expected.blur, rel=1e-4)
        assert row["in__mean_g"] == pytest.approx(expected.mean_rgb[1], abs=1e-3)
        assert (row["in__width"], row["in__height"]) == (expected.width, expected.height)


def test_image_upload_and_bad_images(served: tuple[Workspace, str]) -> None:
    _, url = served
    path = "/v1/deployments/apples-prod/predict"
    r = _post(url, path, files={"file": ("apple.png", apple_png(1), "image/png")})
    assert r.status_code == 200
    body = r.json()
    assert body["predictions"][0] in ("good", "ok", "bad")
    assert set(body["probabilities"][0]) == {"good", "ok", "bad"}
    b64 = base64.b64encode(apple_png(2)).decode()
    assert _post(url, path, json={"images": [b64]}).status_code == 200

    r = _post(url, path, files={"file": ("apple.png", b"\x89PNG not really", "image/png")})
    assert r.status_code == 422 and "cannot be decoded" in str(_error(r)["message"])
    big = _noise_png(400)
    r = _post(url, path, files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413 and _error(r)["details"] == {"field": "image"}
    r = _post(url, path, json={"images": ["%%% not base64"]})
    assert r.status_code == 422
    r = _post(url, "/v1/deployments/cancer-prod/predict",
              files={"file": ("apple.png", apple_png(1), "image/png")})  # fmt: skip
    assert r.status_code == 422 and _error(r)["details"] == {"field": "file"}


def _noise_png(side: int) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 255, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def test_tritonclient_http_speaks_oip_v2(served: tuple[Workspace, str]) -> None:
    import tritonclient.http as triton
    from tritonclient.utils import InferenceServerException

    _, url = served
    client = triton.InferenceServerClient(url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("cancer-prod")
    meta = client.get_model_metadata("cancer-prod")
    assert meta["versions"] == ["1"] and len(meta["inputs"]) == 30

    X, _ = cancer_frame()
    values = X.iloc[:3].to_numpy(dtype=np.float64)
    for binary in (False, True):
        tensor = triton.InferInput("input", list(values.shape), "FP64")
        tensor.set_data_from_numpy(values, binary_data=binary)
        outputs = [triton.InferRequestedOutput(n, binary_data=binary)
                   for n in ("predictions", "probabilities")]  # fmt: skip
        result = client.infer("cancer-prod", [tensor], outputs=outputs)
        assert result.as_numpy("predictions").shape == (3,)
        assert np.allclose(result.as_numpy("probabilities").sum(axis=1), 1.0)

    image = triton.InferInput("image", [1], "BYTES")
    image.set_data_from_numpy(np.array([apple_png(3)], dtype=object))
    answer = client.infer("apples-prod", [image])
    assert answer.as_numpy("predictions")[0].decode() in ("good", "ok", "bad")
    alone = triton.InferInput("mean_radius", [1], "FP64")
    alone.set_data_from_numpy(np.array([14.0]))
    with pytest.raises(InferenceServerException, match="Input 'mean_texture' is missing"):
        client.infer("cancer-prod", [alone])
    client.close()


def test_schemathesis_finds_no_server_error(served: tuple[Workspace, str]) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    _, url = served
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    prefixes = ("/v1/deployments", "/v2", "/api/v1/deployments", "/api/v1/feedback",
                "/api/v1/prediction-logs")  # fmt: skip
    operations = [op.ok() for op in schema.get_all_operations()]
    chosen = [op for op in operations if op.path.startswith(prefixes)]
    assert len(chosen) >= 15
    failures: list[str] = []
    for operation in chosen:

        @settings(max_examples=12, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=url, timeout=30)
            if response.status_code >= 500 and not _expected_5xx(case, response):
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        check()
    assert failures == []


def _expected_5xx(case: object, response: object) -> bool:
    """The model raising on generated numbers is a model error, not the server's."""
    try:
        return bool(response.json()["error"]["code"] == "model_error")  # type: ignore[attr-defined]
    except (ValueError, KeyError, TypeError):
        return False


def test_management_api_and_cli(served: tuple[Workspace, str], tmp_path: Path) -> None:
    ws, url = served
    listed = httpx.get(url + "/api/v1/deployments").json()["items"]
    assert {d["name"] for d in listed} >= {"cancer-prod", "net", "apples-prod"}
    status = httpx.get(url + "/api/v1/deployments/cancer-prod/status").json()
    assert status["ready"] is True and status["models"]["primary"]["model"] == "cancer:1"

    home = str(ws.settings.home)
    result = _cli("deploy", "list", "-w", url, "--json")
    assert result.returncode == 0, result.stderr
    assert {d["name"] for d in json.loads(result.stdout)} >= {"cancer-prod", "apples-prod"}
    result = _cli("deploy", "create", "cancer-eu", "-m", "cancer:1", "--region", "eu-west",
                  "-o", "logging=off", "-w", home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = _cli("deploy", "show", "cancer-eu", "-w", url, "--json")
    assert json.loads(result.stdout)["region"] == "eu-west"
    result = _cli("deploy", "rollout", "cancer-eu", "-m", "cancer:9", "-w", home)
    assert result.returncode == 3 and "no version 9" in result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    result = _cli("deploy", "promote", "cancer-eu", "-w", url)
    assert result.returncode == 4 and "no rollout" in result.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POMONA_")}
    return subprocess.run([sys.executable, "-m", "pomona.cli.main", *args], env=env | {
        "COLUMNS": "200"}, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
