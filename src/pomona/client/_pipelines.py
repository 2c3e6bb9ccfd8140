"""Wire the pipeline service: embedded on the workspace's stores, or remote over HTTP."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pomona.config import PipelineSettings, Settings

if TYPE_CHECKING:
    from pomona.artifacts import ArtifactStore
    from pomona.client._remote import RemoteTracking
    from pomona.client.workspace import Workspace
    from pomona.executors import Executor
    from pomona.metadata import MetadataStore
    from pomona.pipelines import PipelineService
    from pomona.pipelines._loader import PipelineSources

__all__ = ["build_executor", "embedded_pipelines", "pipeline_sources", "remote_pipelines"]

_PRELOAD = ("__main__", "pomona.pipelines._worker", "pomona.client._pipelines")


def build_executor(settings: PipelineSettings, name: str) -> Executor:
    """An executor by name, with the workspace's settings for it."""
    from pomona.executors import open_executor

    if name == "ray":
        return open_executor("ray", address=settings.ray_address)
    if name == "process":
        return open_executor("process", max_workers=settings.process_workers, preload=_PRELOAD)
    return open_executor(name)


def pipeline_sources(settings: Settings) -> PipelineSources:
    """Where the workspace's server and scheduler load pipelines from for targets that API
    clients sent: .py files in the workspace folder, Pomona's and the trusted modules."""
    from pomona.pipelines._loader import PipelineSources

    p = settings.pipelines
    return PipelineSources(
        root=settings.home, trusted_modules=tuple(p.trusted_modules), executors=(p.executor,)
    )


def _open_artifacts(settings: Settings) -> ArtifactStore:
    from pomona.client._stores import build_artifact_store

    return build_artifact_store(settings)


def _open_workspace(settings: Settings) -> Workspace:
    from pomona.client.connect import _connect_embedded, _connect_remote

    return _connect_remote(settings) if settings.uri else _connect_embedded(settings)


def _open_blobs(url: str, token: str | None) -> ArtifactStore:
    from pomona.client._remote_pipelines import RemoteBlobStore

    return RemoteBlobStore(url, token)


def embedded_pipelines(
    settings: Settings, metadata: MetadataStore, artifacts: ArtifactStore, ws: Workspace
) -> PipelineService:
    from pomona.pipelines import PipelineService, SqlPipelineStore

    p = settings.pipelines
    shared = not artifacts.url.startswith("memory:")
    return PipelineService(
        SqlPipelineStore(metadata),
        artifacts,
        default_executor=p.executor,
        executor_factory=partial(build_executor, p),
        artifacts_opener=partial(_open_artifacts, settings) if shared else None,
        workspace=ws,
        workspace_opener=partial(_open_workspace, settings),
        heartbeat_interval_s=p.heartbeat_interval_s,
        heartbeat_timeout_s=p.heartbeat_timeout_s,
    )


def remote_pipelines(settings: Settings, remote: RemoteTracking, ws: Workspace) -> PipelineService:
    from pomona.client._remote_pipelines import RemoteBlobStore, RemotePipelineStore
    from pomona.pipelines import PipelineService

    p = settings.pipelines
    token = settings.token.get_secret_value() if settings.token else None
    return PipelineService(
        RemotePipelineStore(remote),
        RemoteBlobStore(remote.base_url, token),
        default_executor=p.executor,
        executor_factory=partial(build_executor, p),
        artifacts_opener=partial(_open_blobs, remote.base_url, token),
        owns_artifacts=True,
        workspace=ws,
        workspace_opener=partial(_open_workspace, settings),
        heartbeat_interval_s=p.heartbeat_interval_s,
        heartbeat_timeout_s=p.heartbeat_timeout_s,
    )
