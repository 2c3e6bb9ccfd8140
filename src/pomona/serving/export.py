"""Exports of a deployment: a Docker build context, Kubernetes manifests, an edge bundle.

The container runs ``pomona server`` as a stateless inference server: it reads the
registry and writes prediction logs through the stores named by ``POMONA_METADATA_URL``
and ``POMONA_ARTIFACTS_URL`` (PostgreSQL and S3 in production), so any number of replicas
serve one deployment behind a load balancer. The edge bundle is the registry's: an ONNX
model with a ``predict.py`` needing only onnxruntime and numpy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from pomona.errors import ConflictError, InvalidInputError
from pomona.registry.base import ModelRegistry
from pomona.serving.records import Deployment

__all__ = ["TARGETS", "export_deployment", "kubernetes_manifests"]

TARGETS = ("docker", "k8s", "edge")
PORT = 8000
GRPC_PORT = 8081
"""The Open Inference Protocol over gRPC (KServe's port for it)."""
EXTRAS = "server,grpc,postgres,s3,sklearn"

_DOCKERFILE = """\
# Pomona inference server for deployment '{name}' ({model}), made by pomona {version}.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \\
    POMONA_SERVER_HOST=0.0.0.0 POMONA_SERVER_PORT={port} \\
    POMONA_SERVING_GRPC_PORT={grpc_port}
WORKDIR /srv
COPY pomona-src/ /opt/pomona-src/
RUN pip install --no-cache-dir "/opt/pomona-src[{extras}]" onnxruntime \\
    && useradd --create-home --uid 10001 pomona
COPY pomona.toml deployment.json /srv/
USER pomona
EXPOSE {port} {grpc_port}
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \\
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{port}/v2/health/ready')"
# Point the server at the shared stores and give it a write token:
#   docker run -e POMONA_METADATA_URL=postgresql://... -e POMONA_ARTIFACTS_URL=s3://... \\
#              -e POMONA_TOKEN=... -p {port}:{port} -p {grpc_port}:{grpc_port} IMAGE
CMD ["pomona", "server", "--workspace", "/srv"]
"""

_IMAGE_TOML = """\
[project]
name = "pomona"

# The container binds 0.0.0.0 behind a Service or load balancer that names it in many
# ways; POMONA_TOKEN guards every route. List the names to answer instead of '*' with
# -e POMONA_SERVER_ALLOWED_HOSTS='["ml.example.com"]'.
[server]
allowed_hosts = ["*"]
"""

_README = """\
# Docker build context for deployment '{name}'

    docker build -t pomona-{name}:{revision} .
    docker run -p {port}:{port} -p {grpc_port}:{grpc_port} -e POMONA_METADATA_URL=postgresql://… \\
        -e POMONA_ARTIFACTS_URL=s3://… -e POMONA_TOKEN=… pomona-{name}:{revision}

The image installs Pomona from `pomona-src/` and serves every deployment of the
workspace the stores hold; `deployment.json` records what '{name}' served at export time.
Ready when `GET /v2/health/ready` answers 200. REST (JSON and the Open Inference Protocol)
is on port {port}, the Open Inference Protocol over gRPC on port {grpc_port}.
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pomona")
    except PackageNotFoundError:
        return "unknown"


def _package_root() -> Path | None:
    """The source tree holding ``pyproject.toml`` (a development install), if any."""
    here = Path(__file__).resolve()
    for folder in here.parents:
        if (folder / "pyproject.toml").is_file() and (folder / "src" / "pomona").is_dir():
            return folder
    return None


def _empty(dest: Path) -> Path:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConflictError(
            f"{dest} already exists and is not an empty folder.",
            hint="Choose a new folder for the export.",
            details={"field": "dest"},
        )
    dest.mkdir(parents=True, exist_ok=True)
    return dest


def _docker(dep: Deployment, dest: Path) -> Path:
    root = _package_root()
    if root is None:
        raise InvalidInputError(
            "The Docker export copies Pomona's source tree, and this installation has none.",
            hint="Export from a source checkout (pip install -e .), or build from the wheel.",
        )
    src = dest / "pomona-src"
    shutil.copytree(root / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copyfile(root / name, src / name)
    fields = {
        "name": dep.name,
        "model": dep.model,
        "version": _version(),
        "port": PORT,
        "grpc_port": GRPC_PORT,
        "extras": EXTRAS,
        "revision": dep.revision,
    }
    (dest / "Dockerfile").write_text(_DOCKERFILE.format(**fields))
    (dest / "README.md").write_text(_README.format(**fields))
    (dest / "pomona.toml").write_text(_IMAGE_TOML)
    (dest / "deployment.json").write_text(json.dumps(dep.to_json(), indent=2))
    (dest / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    return dest


def kubernetes_manifests(
    dep: Deployment, *, image: str, replicas: int = 2, max_replicas: int = 10
) -> list[dict[str, Any]]:
    """A Deployment (with readiness and liveness probes), a Service and an autoscaler."""
    labels = {"app.kubernetes.io/name": "pomona", "pomona.dev/deployment": dep.name}
    name = f"pomona-{dep.name}".lower().replace("_", "-").replace(".", "-")[:63]
    probe = {
        "httpGet": {"path": "/v2/health/ready", "port": PORT},
        "periodSeconds": 5,
        "timeoutSeconds": 2,
        "failureThreshold": 3,
    }
    container = {
        "name": "server",
        "image": image,
        "ports": [
            {"name": "http", "containerPort": PORT},
            {"name": "grpc", "containerPort": GRPC_PORT},
        ],
        "env": [{"name": "POMONA_SERVING_GRPC_PORT", "value": str(GRPC_PORT)}],
        "envFrom": [{"secretRef": {"name": f"{name}-stores"}}],
        "readinessProbe": probe,
        "livenessProbe": {
            **probe,
            "httpGet": {"path": "/v2/health/live", "port": PORT},
            "initialDelaySeconds": 10,
        },
        "resources": {
            "requests": {"cpu": "500m", "memory": "512Mi"},
            "limits": {"cpu": "2", "memory": "2Gi"},
        },
    }
    meta = {"name": name, "labels": labels, "annotations": {"pomona.dev/model": dep.model}}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [container], "terminationGracePeriodSeconds": 40},
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http"},
                    {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc"},
                ],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": replicas,
                "maxReplicas": max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
    ]


def _k8s(dep: Deployment, dest: Path, image: str) -> Path:
    docs = kubernetes_manifests(dep, image=image)
    names = ("deployment.json", "service.json", "hpa.json")
    for doc, file in zip(docs, names, strict=True):
        (dest / file).write_text(json.dumps(doc, indent=2) + "\n")
    # kubectl reads JSON as YAML: one multi-document file for `kubectl apply -f`.
    body = "\n---\n".join(json.dumps(d, indent=2) for d in docs)
    (dest / "manifests.yaml").write_text(body + "\n")
    return dest


def export_deployment(
    dep: Deployment,
    registry: ModelRegistry,
    target: str,
    dest: Path,
    *,
    image: str | None = None,
) -> Path:
    """Write the export ``target`` (docker, k8s or edge) of ``dep`` into the new folder ``dest``."""
    if target not in TARGETS:
        raise InvalidInputError(
            f"Unknown export target {target!r}.",
            hint=f"Use one of: {', '.join(TARGETS)}.",
            details={"field": "target"},
        )
    dest = Path(dest)
    if target == "edge":
        return registry.build_edge_bundle(dep.model, dest)
    _empty(dest)
    if target == "docker":
        return _docker(dep, dest)
    return _k8s(dep, dest, image or f"pomona-{dep.name}:{dep.revision}")
