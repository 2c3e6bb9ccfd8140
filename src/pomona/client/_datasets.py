"""Wiring datasets: the pipelines as the event sink (``dataset.version_created`` starts
``on_event`` triggers) and the registry's lineage as what refers to a version."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pomona.client.workspace import Workspace
    from pomona.datasets.service import DatasetService
    from pomona.metadata import MetadataStore

__all__ = ["ModelLineageReferrers", "wire_datasets"]


class _Events:
    """The pipelines service as the datasets' ``EventSink`` (looked up when one fires)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def emit_event(self, type: str, payload: Any = None) -> Any:
        return self.ws.pipelines.emit_event(type, payload)


class ModelLineageReferrers:
    """``Referrers``: the model versions whose lineage names a dataset version."""

    def __init__(self, metadata: MetadataStore) -> None:
        self.metadata = metadata

    def __call__(self, name: str, version: int | None) -> list[str]:
        from sqlalchemy import select

        from pomona.metadata.schema import model_versions, registered_models

        mv = model_versions.c
        stmt = (
            select(registered_models.c.name, mv.version, mv.dataset_versions)
            .join(registered_models, registered_models.c.pk == mv.model_pk)
            .where(mv.dataset_versions.contains(name, autoescape=True))
            .order_by(registered_models.c.name, mv.version)
        )
        with self.metadata.read() as conn:
            rows = conn.execute(stmt).all()
        found = []
        for model, number, refs in rows:
            if any(_names(str(ref), name, version) for ref in json.loads(refs)):
                found.append(f"model '{model}' version {number}")
        return found


def _names(ref: str, name: str, version: int | None) -> bool:
    """Whether a lineage entry (``apples:3``, ``apples``) names ``name``/``version``."""
    ref_name, _, ref_version = ref.partition(":")
    return ref_name == name and (version is None or ref_version == str(version))


def wire_datasets(ws: Workspace, service: DatasetService, metadata: MetadataStore) -> None:
    """Connect an embedded datasets service to the workspace's pipelines and registry."""
    service.events = _Events(ws)
    service.referrers = ModelLineageReferrers(metadata)
