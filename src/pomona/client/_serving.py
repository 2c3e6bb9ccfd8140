"""Wiring serving: the deployments service on the registry, with datasets' preparation hook."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pomona.artifacts import ArtifactStore
    from pomona.client.workspace import Workspace
    from pomona.metadata import MetadataStore
    from pomona.registry.records import ModelVersion
    from pomona.serving.runtime import Preparation
    from pomona.serving.service import DeploymentService

__all__ = ["embedded_deployments", "preparation_hook"]


def preparation_hook(ws: Workspace) -> Any:
    """A ``TransformHook``: the fitted transform that prepared a version's training data.

    It looks at the dataset versions in the model's lineage and returns the transform of
    the first one that ``prepare`` made (``datasets.load_transform``), else ``None``.
    """

    def find(version: ModelVersion) -> Preparation | None:
        datasets = getattr(ws, "datasets", None)
        if datasets is None:
            return None
        for ref in version.lineage.dataset_versions:
            try:
                dataset = datasets.get_version(ref)
            except Exception:  # a dataset deleted since training: serve without it
                continue
            if getattr(dataset.lineage, "transform_digest", None):
                found: Preparation = datasets.load_transform(ref)
                return found
        return None

    return find


def embedded_deployments(
    ws: Workspace, metadata: MetadataStore, artifacts: ArtifactStore, actor: str
) -> DeploymentService:
    from pomona.serving.service import DeploymentService

    return DeploymentService(
        metadata, artifacts, ws.models, default_actor=actor, transforms=preparation_hook(ws)
    )
