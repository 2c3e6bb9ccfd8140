"""Exports (Docker context, Kubernetes manifests checked against the Kubernetes models, the
edge bundle) and resumable batch prediction, through the CLI's functions and the SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import pomona
from pomona.client.workspace import Workspace
from pomona.config import load_settings
from pomona.errors import ConflictError
from pomona.serving.batch import iter_parquet, predict_batch
from pomona.serving.export import export_deployment, kubernetes_manifests
from pomona.testing.serving import cancer_frame, register_cancer_model


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    workspace = pomona.connect(tmp_path / "ws")
    register_cancer_model(workspace)
    workspace.deployments.create("cancer-prod", model="cancer:1", region="eu-west")
    yield workspace
    workspace.close()


def _k8s_model(doc: dict[str, Any]) -> Any:
    """Parse a manifest into the Kubernetes client's model of its kind; fields it does not
    know are dropped, so a round trip that changes the document means an unknown field."""
    from kubernetes import client

    kinds = {
        "Deployment": "V1Deployment",
        "Service": "V1Service",
        "HorizontalPodAutoscaler": "V2HorizontalPodAutoscaler",
    }
    api = client.ApiClient()

    class _Response:
        data = json.dumps(doc)

    model = api.deserialize(_Response(), kinds[doc["kind"]])
    assert api.sanitize_for_serialization(model) == doc
    return model


def _dockerfile_env(dockerfile: str) -> dict[str, str]:
    """The ``ENV`` instruction's variables (its continuation lines joined)."""
    text = dockerfile.replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.startswith("ENV "))
    return dict(pair.split("=", 1) for pair in line.split()[1:])


def test_kubernetes_manifests_parse_against_the_schemas(ws: Workspace, tmp_path: Path) -> None:
    dep = ws.deployments.get("cancer-prod")
    docs = kubernetes_manifests(dep, image="registry.example/pomona:1")
    deployment, service, hpa = (_k8s_model(d) for d in docs)
    container = deployment.spec.template.spec.containers[0]
    assert container.readiness_probe.http_get.path == "/v2/health/ready"
    assert container.liveness_probe.http_get.path == "/v2/health/live"
    assert service.spec.ports[0].target_port == "http"
    assert [(p.name, p.container_port) for p in container.ports] == [("http", 8000), ("grpc", 8081)]
    assert {e.name: e.value for e in container.env} == {"POMONA_SERVING_GRPC_PORT": "8081"}
    assert [(p.name, p.target_port) for p in service.spec.ports] == [
        ("http", "http"),
        ("grpc", "grpc"),
    ]
    assert hpa.spec.scale_target_ref.name == deployment.metadata.name
    assert hpa.spec.metrics[0].resource.target.average_utilization == 70

    folder = export_deployment(dep, ws.models, "k8s", tmp_path / "k8s", image="x:1")
    assert sorted(p.name for p in folder.iterdir()) == [
        "deployment.json",
        "hpa.json",
        "manifests.yaml",
        "service.json",
    ]
    assert json.loads((folder / "hpa.json").read_text())["kind"] == "HorizontalPodAutoscaler"


def test_docker_context_holds_what_the_image_needs(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = ws.deployments.get("cancer-prod")
    folder = export_deployment(dep, ws.models, "docker", tmp_path / "docker")
    dockerfile = (folder / "Dockerfile").read_text()
    instructions = [
        line.split()[0]
        for line in dockerfile.splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    assert instructions[0] == "FROM"
    assert set(instructions) <= {
        "FROM",
        "ENV",
        "WORKDIR",
        "COPY",
        "RUN",
        "USER",
        "EXPOSE",
        "HEALTHCHECK",
        "CMD",
    }
    assert "EXPOSE 8000 8081" in dockerfile
    for name, value in _dockerfile_env(dockerfile).items():  # what the image's server reads
        monkeypatch.setenv(name, value)
    settings = load_settings(tmp_path / "image-home")
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 8000)
    assert settings.serving.grpc_port == 8081
    image = load_settings(folder)  # /srv holds the export's pomona.toml
    assert (image.server.host, image.server.allowed_hosts) == ("0.0.0.0", ["*"])
    assert (folder / "pomona-src" / "pyproject.toml").is_file()
    assert (folder / "pomona-src" / "src" / "pomona" / "serving" / "host.py").is_file()
    assert json.loads((folder / "deployment.json").read_text())["name"] == "cancer-prod"
    with pytest.raises(ConflictError, match="not an empty folder"):
        export_deployment(dep, ws.models, "docker", folder)


def test_edge_bundle_predicts_with_onnxruntime_only(ws: Workspace, tmp_path: Path) -> None:
    dep = ws.deployments.get("cancer-prod")
    folder = export_deployment(dep, ws.models, "edge", tmp_path / "edge")
    assert (folder / "model.onnx").is_file() and (folder / "predict.py").is_file()
    done = subprocess.run(
        [sys.executable, "predict.py", "input_example.json"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert len(json.loads(done.stdout)["predictions"]) == 5


def test_predict_batch_is_resumable(ws: Workspace, tmp_path: Path) -> None:
    X, _ = cancer_frame()
    source = tmp_path / "rows.parquet"
    X.to_parquet(source)
    dest = tmp_path / "out"
    first = predict_batch(
        ws.models, "cancer:1", iter_parquet(source, 100), dest, source=str(source), chunk_rows=100
    )
    assert (first.parts, first.rows, first.skipped_parts) == (6, len(X), 0)
    (dest / "part-00002.parquet").unlink()  # as if the run had stopped there
    (dest / "_SUCCESS").unlink()
    again = predict_batch(
        ws.models, "cancer:1", iter_parquet(source, 100), dest, source=str(source), chunk_rows=100
    )
    assert (again.parts, again.rows, again.skipped_parts) == (6, 100, 5)
    out = pd.read_parquet(sorted(dest.glob("part-*.parquet")))
    assert list(out["row"]) == list(range(len(X)))
    direct = ws.deployments.predict("cancer-prod", X.iloc[:100])["predictions"]
    assert list(out["prediction"][:100]) == [str(p) for p in direct]
    with pytest.raises(ConflictError, match="would mix"):
        predict_batch(
            ws.models, "cancer:1", iter_parquet(source, 50), dest, source=str(source), chunk_rows=50
        )


def test_cli_export_and_predict_batch(ws: Workspace, tmp_path: Path) -> None:
    X, _ = cancer_frame()
    X.iloc[:30].to_parquet(tmp_path / "rows.parquet")
    home = str(ws.settings.home)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pomona.cli.main", *args],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    done = cli(
        "predict-batch",
        str(tmp_path / "rows.parquet"),
        "-o",
        str(tmp_path / "pred"),
        "-d",
        "cancer-prod",
        "--chunk-rows",
        "10",
        "-w",
        home,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["parts"] == 3
    done = cli(
        "deploy", "export", "cancer-prod", "-t", "k8s", "-o", str(tmp_path / "m"), "-w", home
    )
    assert done.returncode == 0, done.stderr and (tmp_path / "m" / "manifests.yaml").is_file()
    done = cli(
        "deploy", "export", "cancer-prod", "-t", "helm", "-o", str(tmp_path / "h"), "-w", home
    )
    assert done.returncode == 2 and "Unknown export target" in done.stderr
