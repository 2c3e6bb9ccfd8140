"""The Open Inference Protocol over gRPC (``serving.grpc_port``), spoken by the real
``tritonclient.grpc`` client: health, metadata, FP32 and BYTES (image) inference through
the same runtime as REST (answers equal, predictions logged), and its error codes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.server.app import create_app
from pomona.serving import load_prediction_logs
from pomona.testing._servers import free_port
from pomona.testing.live import serve_in_thread
from pomona.testing.serving import apple_png, register_apple_model, register_table_net


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str, Any]]:
    import tritonclient.grpc as triton

    port = free_port()
    settings = {
        "serving.grpc_port": port,
        "serving.poll_s": 0.2,
        "serving.log_flush_interval_s": 0.2,
    }
    ws = pomona.connect(tmp_path_factory.mktemp("grpc") / "ws", **settings)
    register_table_net(ws, "net")
    register_apple_model(ws, epochs=0)
    ws.deployments.create("net", model="net:1")
    ws.deployments.create("apples-prod", model="apples:1")
    with serve_in_thread(create_app(ws)) as url:
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        yield ws, url, client
        client.close()
    ws.close()


def test_health_and_metadata(served: tuple[Workspace, str, Any]) -> None:
    _, _, client = served
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata().name == "pomona"
    assert client.is_model_ready("net") and not client.is_model_ready("nowhere")
    meta = client.get_model_metadata("net")
    assert list(meta.versions) == ["1"]
    (tensor,) = meta.inputs
    assert (tensor.name, tensor.datatype, list(tensor.shape)) == ("input", "FP32", [-1, 4])
    assert [o.name for o in meta.outputs] == ["predictions", "probabilities"]
    image = client.get_model_metadata("apples-prod").inputs[0]
    assert (image.name, image.datatype) == ("image", "BYTES")


def _logged(ws: Workspace, deployment: str, request_id: str) -> list[str]:
    """The request ids of ``deployment``'s log rows that start with ``request_id``."""
    assert ws.metadata_store is not None and ws.artifact_store is not None
    for _ in range(100):
        table = load_prediction_logs(ws.metadata_store, ws.artifact_store, deployment)
        ids = [i for i in table.column("request_id").to_pylist() if i.startswith(request_id)]
        if ids:
            return sorted(ids)
        time.sleep(0.1)
    return []


def test_fp32_inference_equals_rest_and_is_logged(served: tuple[Workspace, str, Any]) -> None:
    import tritonclient.grpc as triton

    ws, url, client = served
    x = np.array([[0.1, 0.7, 0.3, 0.9], [0.5, 0.0, 0.0, 1.0], [3.0, -2.0, 1.0, 0.0]], "float32")
    tensor = triton.InferInput("input", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    wanted = [triton.InferRequestedOutput(n) for n in ("predictions", "probabilities")]
    result = client.infer("net", [tensor], outputs=wanted, request_id="grpc-fp32")
    assert result.get_response().id == "grpc-fp32"
    assert result.get_response().model_version == "1"
    rest = httpx.post(url + "/v1/deployments/net/predict", json={"instances": x.tolist()})
    assert result.as_numpy("predictions").tolist() == rest.json()["predictions"]
    proba = result.as_numpy("probabilities")
    assert proba.shape == (3, 2) and np.allclose(proba.sum(axis=1), 1.0)
    expected = [[p[c] for c in ("0", "1")] for p in rest.json()["probabilities"]]
    assert np.allclose(proba, expected)
    # the same logging as REST: one row per predicted row, under the request's id
    assert _logged(ws, "net", "grpc-fp32") == ["grpc-fp32-0", "grpc-fp32-1", "grpc-fp32-2"]


def test_bytes_images_are_decoded_like_uploads(served: tuple[Workspace, str, Any]) -> None:
    import tritonclient.grpc as triton

    _, url, client = served
    photos = [apple_png(1), apple_png(2)]
    tensor = triton.InferInput("image", [2], "BYTES")
    tensor.set_data_from_numpy(np.array(photos, dtype=object))
    result = client.infer("apples-prod", [tensor])
    grades = [g.decode() for g in result.as_numpy("predictions")]
    files = [("file", (f"{i}.png", p, "image/png")) for i, p in enumerate(photos)]
    rest = httpx.post(url + "/v1/deployments/apples-prod/predict", files=files, timeout=30)
    assert grades == rest.json()["predictions"]
    assert np.allclose(result.as_numpy("probabilities").sum(axis=1), 1.0)


def test_errors_have_grpc_codes_and_name_the_input(served: tuple[Workspace, str, Any]) -> None:
    import tritonclient.grpc as triton
    from tritonclient.utils import InferenceServerException

    _, _, client = served
    x = np.zeros((1, 3), dtype=np.float32)
    tensor = triton.InferInput("input", [1, 3], "FP32")
    tensor.set_data_from_numpy(x)
    with pytest.raises(InferenceServerException) as unknown:
        client.infer("nowhere", [tensor])
    assert unknown.value.status() == "StatusCode.NOT_FOUND"
    assert "nowhere" in unknown.value.message()
    with pytest.raises(InferenceServerException) as shape:
        client.infer("net", [tensor])
    assert shape.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "'input' has shape [1, 3]" in shape.value.message()
    assert "[-1, 4]" in shape.value.message()
    good = triton.InferInput("input", [1, 4], "FP32")
    good.set_data_from_numpy(np.ones((1, 4), dtype=np.float32))
    with pytest.raises(InferenceServerException) as version:
        client.infer("net", [good], model_version="7")
    assert version.value.status() == "StatusCode.NOT_FOUND"
    assert client.infer("net", [good], model_version="1").get_response().model_version == "1"
    with pytest.raises(InferenceServerException) as metadata:
        client.get_model_metadata("nowhere")
    assert metadata.value.status() == "StatusCode.NOT_FOUND"
    assert client.infer("net", [good]).as_numpy("predictions").shape == (1,)  # still serving


def test_with_a_token_every_call_but_the_probes_needs_it(tmp_path: Path) -> None:
    import tritonclient.grpc as triton
    from tritonclient.utils import InferenceServerException

    token = "grpc-token-" + "0123456789abcdef" * 2
    port = free_port()
    ws = pomona.connect(tmp_path / "ws", **{"serving.grpc_port": port, "token": token})
    register_table_net(ws, "net")
    ws.deployments.create("net", model="net:1")
    tensor = triton.InferInput("input", [1, 4], "FP32")
    tensor.set_data_from_numpy(np.ones((1, 4), dtype=np.float32))
    good = {"authorization": f"Bearer {token}"}
    with serve_in_thread(create_app(ws, token=token)):
        client = triton.InferenceServerClient(f"127.0.0.1:{port}")
        assert client.is_server_live() and client.is_server_ready()  # probes stay open
        for read in (client.is_model_ready, client.get_model_metadata):
            with pytest.raises(InferenceServerException) as closed:
                read("net")
            assert closed.value.status() == "StatusCode.UNAUTHENTICATED"
        with pytest.raises(InferenceServerException) as refused:
            client.infer("net", [tensor])
        assert refused.value.status() == "StatusCode.UNAUTHENTICATED"
        with pytest.raises(InferenceServerException) as wrong:
            client.infer("net", [tensor], headers={"authorization": "Bearer nope"})
        assert wrong.value.status() == "StatusCode.UNAUTHENTICATED"
        assert client.is_model_ready("net", headers=good)
        answer = client.infer("net", [tensor], headers=good)
        assert answer.as_numpy("predictions").shape == (1,)
        client.close()
    ws.close()
