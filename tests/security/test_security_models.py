"""Code execution through a model: a stored class path must never become a call.

Replays issue 13 §1 against a real ``pomona server``: a torch model whose ``torch.json``
names ``pomona._utils.git:subprocess.run`` with ``init_kwargs`` holding a command that
creates a marker file. Registering it over HTTP is refused (422 naming the field) and
stores nothing; a version planted straight into the store (a row written before the fix,
or by someone with database access) is refused again when a deployment loads it, when the
server restarts, and when it is exported to ONNX. The marker file never appears.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import pytest
import torch
from _server import peak_rss
from safetensors.torch import save as save_safetensors

import pomona
from pomona.registry.signature import Signature

if TYPE_CHECKING:
    from _server import ServerProcess, StartServer

SIGNATURE = {
    "input_kind": "tensor",
    "inputs": [{"name": "input", "dtype": "float32", "shape": [-1, 4]}],
    "outputs": [{"name": "predictions", "dtype": "float32", "shape": [-1, 2]}],
}
ZERO_WEIGHTS = bytes(16)
TRUSTED_MODULE = "pomona_trusted_nets"
TRUSTED_SOURCE = """
import torch
from sklearn.linear_model import LogisticRegression


class TinyNet(torch.nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(width, 2)

    def forward(self, x):
        return self.layer(x)


class OwnLogistic(LogisticRegression):
    pass
"""


def _command(marker: Path) -> list[str]:
    return [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]


def _attacks(marker: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """Class paths that must never load, with the kwargs that would run the command."""
    run = {"args": _command(marker)}
    return {
        "function-through-an-imported-module": ("pomona._utils.git:subprocess.run", run),
        "class-through-an-imported-module": ("pomona._utils.git:subprocess.Popen", run),
        "module-not-on-the-allow-list": ("subprocess:Popen", run),
        "attribute-of-an-attribute": ("pomona.registry.flavors.torch:np.ndarray", {}),
        "function-in-an-allowed-module": ("pomona.testing.serving:register_table_net", {}),
        "class-that-is-not-a-module": ("pomona.testing.serving:LoadResult", {}),
        "torch-class-that-is-not-a-module": ("torch.nn.modules.lazy:LazyModuleMixin", {}),
    }


ATTACKS = list(_attacks(Path("x")))


def _torch_json(target: str, init_kwargs: dict[str, Any]) -> bytes:
    import json

    return json.dumps({"class": target, "init_kwargs": init_kwargs}).encode()


def _upload(http: httpx.Client, data: bytes) -> str:
    answer = http.post("/api/v1/model-blobs", content=data)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["digest"])


def _register(
    http: httpx.Client, name: str, files: dict[str, bytes], flavor: str = "torch"
) -> httpx.Response:
    """Register a version as the remote SDK does: upload each file, then record them."""
    digests = {path: _upload(http, data) for path, data in files.items()}
    body = {"flavor": flavor, "files": digests, "signature": SIGNATURE}
    return http.post(f"/api/v1/models/{name}/versions", json=body)


def _assert_refused(answer: httpx.Response, field: str) -> None:
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["field"] == field, error


def _plant(home: Path, name: str, target: str, init_kwargs: dict[str, Any]) -> None:
    """Write a version straight into the store, past the server's registration check."""
    with pomona.connect(home) as ws:
        files = {}
        for path, data in {
            "model.safetensors": ZERO_WEIGHTS,
            "torch.json": _torch_json(target, init_kwargs),
        }.items():
            files[path] = ws.models.upload_blob(io.BytesIO(data))[0]  # type: ignore[attr-defined]
        ws.models.create_version(
            name, flavor="torch", files=files, signature=Signature.from_dict(SIGNATURE)
        )


def _predict(
    server: ServerProcess, deployment: str, instances: list[list[float]], timeout_s: float = 60
) -> httpx.Response:
    """The first answer once the server's serving host has tried to load the deployment."""
    deadline = time.monotonic() + timeout_s
    with server.client() as http:
        while time.monotonic() < deadline:
            answer = http.post(
                f"/v1/deployments/{deployment}/predict", json={"instances": instances}
            )
            if answer.status_code != 404:  # 404: the host has not seen the deployment yet
                return answer
            time.sleep(0.2)
    raise AssertionError(f"the server never tried to load {deployment}:\n{server.log()[-3000:]}")


def _load_error(server: ServerProcess, deployment: str) -> str:
    """The error the server's serving host met loading the deployment's model."""
    answer = _predict(server, deployment, [[0.0] * 4])
    assert answer.status_code == 503, answer.text
    return str(answer.json()["error"]["message"])


def _write_trusted_module(folder: Path) -> dict[str, str]:
    """A module outside Pomona with an ``nn.Module`` and a scikit-learn subclass; returns
    the environment that makes it importable by the server (and this process)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{TRUSTED_MODULE}.py").write_text(TRUSTED_SOURCE)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    import os

    path = os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {"PYTHONPATH": path}


@pytest.mark.parametrize("attack", ATTACKS)
def test_registering_a_model_whose_class_is_not_allowed_is_refused_and_stores_nothing(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path, attack: str
) -> None:
    marker = tmp_path / "pwned"
    target, init_kwargs = _attacks(marker)[attack]
    server = start_server(workspace_dir)
    with server.client() as http:
        files = {"model.safetensors": ZERO_WEIGHTS, "torch.json": _torch_json(target, init_kwargs)}
        _assert_refused(_register(http, "evil", files), "torch.json class")
        assert http.get("/api/v1/models/evil").status_code == 404  # no model, no version row
        assert http.get("/api/v1/models").json()["items"] == []
    assert not marker.exists()
    assert server.alive()


def test_a_planted_model_is_refused_at_deployment_restart_and_export(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "pwned"
    _plant(workspace_dir, "evil", "pomona._utils.git:subprocess.run", {"args": _command(marker)})
    fast = {"serving.poll_s": 0.2}
    server = start_server(workspace_dir, settings=fast)
    with server.client() as http:
        made = http.post("/api/v1/deployments", json={"name": "evil-prod", "model": "evil:1"})
        assert made.status_code == 201, made.text
    error = _load_error(server, "evil-prod")
    assert not marker.exists(), "the model's class path ran a command on the server"
    assert "pomona._utils.git:subprocess.run" in error

    server.proc.terminate()
    server.proc.wait(30)
    restarted = start_server(workspace_dir, settings=fast)  # loads its deployments at start
    error = _load_error(restarted, "evil-prod")
    assert not marker.exists(), "the model's class path ran a command at start-up"
    assert "pomona._utils.git:subprocess.run" in error
    with restarted.client() as http:
        export = http.post("/api/v1/models/evil/versions/1/exports/onnx", json={})
        _assert_refused(export, "torch.json class")
        assert http.get("/api/v1/models/evil/versions/1/exports/onnx").json()["export"] is None
    assert not marker.exists()
    assert restarted.alive()


def test_a_module_path_flavor_is_refused_at_registration(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    server = start_server(workspace_dir)
    with server.client() as http:
        files = {"model.safetensors": ZERO_WEIGHTS}
        answer = _register(http, "evil", files, flavor="pomona._utils.git:subprocess.run")
        _assert_refused(answer, "flavor")
        assert http.get("/api/v1/models/evil").status_code == 404


def test_a_module_the_owner_trusts_registers_deploys_and_predicts(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    env = _write_trusted_module(tmp_path / "site")
    module = __import__(TRUSTED_MODULE)
    torch.manual_seed(0)
    net = module.TinyNet().eval()
    files = {
        "model.safetensors": save_safetensors(net.state_dict()),
        "torch.json": _torch_json(f"{TRUSTED_MODULE}:TinyNet", {"width": 4}),
    }
    plain = start_server(workspace_dir, env=env)
    with plain.client() as http:  # not trusted yet: refused, though importable
        _assert_refused(_register(http, "tiny", files), "torch.json class")
    plain.proc.terminate()
    plain.proc.wait(30)

    settings = {"registry.trusted_modules": [TRUSTED_MODULE], "serving.poll_s": 0.2}
    server = start_server(workspace_dir, env=env, settings=settings)
    x = np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4)
    with server.client() as http:
        assert _register(http, "tiny", files).status_code == 201
        made = http.post("/api/v1/deployments", json={"name": "tiny-prod", "model": "tiny:1"})
        assert made.status_code == 201, made.text
    answer = _predict(server, "tiny-prod", x.tolist())
    assert answer.status_code == 200, answer.text
    with torch.inference_mode():
        expected = net(torch.from_numpy(x)).numpy()
    assert answer.json()["predictions"] == expected.argmax(axis=1).tolist()
    softmax = np.exp(expected) / np.exp(expected).sum(axis=1, keepdims=True)
    got = [[row[str(k)] for k in range(2)] for row in answer.json()["probabilities"]]
    np.testing.assert_allclose(got, softmax, rtol=1e-4)


def test_a_skops_file_naming_an_untrusted_type_is_refused_at_registration(
    start_server: StartServer, workspace_dir: Path, tmp_path: Path
) -> None:
    import skops.io as sio

    env = _write_trusted_module(tmp_path / "site")
    module = __import__(TRUSTED_MODULE)
    X = np.random.default_rng(0).normal(size=(40, 4))
    model = module.OwnLogistic().fit(X, (X[:, 0] > 0).astype(int))
    files = {"model.skops": sio.dumps(model)}
    server = start_server(workspace_dir, env=env)
    with server.client() as http:
        _assert_refused(_register(http, "own", files, flavor="sklearn"), "model.skops types")
        assert http.get("/api/v1/models/own").status_code == 404
    server.proc.terminate()
    server.proc.wait(30)
    trusted = start_server(
        workspace_dir, env=env, settings={"registry.trusted_modules": [TRUSTED_MODULE]}
    )
    with trusted.client() as http:
        assert _register(http, "own", files, flavor="sklearn").status_code == 201


def test_init_kwargs_cannot_make_the_server_allocate_beyond_the_stored_weights(
    start_server: StartServer, workspace_dir: Path
) -> None:
    """A real AppleCNN's small weights under a torch.json asking for ``width=3000``: built
    as it says, the network holds 2.6 GB of parameters before the weights are checked."""
    from pomona.registry.flavors._apple_cnn import AppleCNN

    small = save_safetensors(AppleCNN(width=4).state_dict())
    with pomona.connect(workspace_dir) as ws:
        files = {
            path: ws.models.upload_blob(io.BytesIO(data))[0]  # type: ignore[attr-defined]
            for path, data in {
                "model.safetensors": small,
                "torch.json": _torch_json(
                    "pomona.registry.flavors._apple_cnn:AppleCNN", {"width": 3000}
                ),
            }.items()
        }
        ws.models.create_version(
            "wide", flavor="torch", files=files, signature=Signature.from_dict(SIGNATURE)
        )
    server = start_server(workspace_dir, settings={"serving.poll_s": 0.2})
    before = peak_rss(server.proc.pid)
    with server.client() as http:
        made = http.post("/api/v1/deployments", json={"name": "wide-prod", "model": "wide:1"})
        assert made.status_code == 201, made.text
    error = _load_error(server, "wide-prod")
    assert peak_rss(server.proc.pid) - before < 300 * 2**20
    assert "does not match model.safetensors" in error, error
    assert server.alive()
