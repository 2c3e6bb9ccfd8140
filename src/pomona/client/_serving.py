"""Wiring serving: the deployments service on the registry, with datasets' preparation hook
and the feature store's online features."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pomona.artifacts import ArtifactStore
    from pomona.client.workspace import Workspace
    from pomona.metadata import MetadataStore
    from pomona.registry.records import ModelVersion
    from pomona.serving._enrich import FeatureLookup
    from pomona.serving.runtime import Preparation
    from pomona.serving.service import DeploymentService

__all__ = ["dropped_columns", "embedded_deployments", "feature_hook", "preparation_hook"]


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
                transform = datasets.load_transform(ref)
                columns = _raw_columns(datasets, dataset, dropped_columns(transform))
                return transform if columns is None else _TableStep(transform, columns)
        return None

    return find


_SERVING_DTYPES = {
    "double": "float64",
    "float": "float64",
    "int64": "int64",
    "int32": "int64",
    "bool": "bool",
}
"""Arrow types of a table dataset's columns, as serving checks request fields; anything
else arrives as a string."""


def dropped_columns(transform: Any) -> set[str]:
    """Columns a transform drops (``DropColumns``, also inside a ``Chain``): requests need
    not carry them."""
    steps = getattr(transform, "steps", None)
    if isinstance(steps, list):
        return set().union(*(dropped_columns(step) for step in steps))
    if getattr(transform, "name", "") == "DropColumns":
        return set(getattr(transform, "columns", None) or ())
    return set()


def _raw_columns(
    datasets: Any, prepared: Any, dropped: set[str]
) -> tuple[tuple[str, str], ...] | None:
    """The columns (less the label and what the transform drops) of the table a prepared
    version was made from."""
    parent = getattr(prepared.lineage, "parent", None)
    if prepared.kind != "table" or parent is None:
        return None
    schema = datasets.get_version(parent).schema
    columns = schema.get("columns") if isinstance(schema, dict) else None
    if not isinstance(columns, dict):
        return None
    label = schema.get("label")
    return tuple(
        (name, _SERVING_DTYPES.get(str(kind), "string"))
        for name, kind in columns.items()
        if name != label and name not in dropped
    )


class _TableStep:
    """A table preparation with the columns it takes: what requests must carry."""

    def __init__(self, transform: Preparation, columns: tuple[tuple[str, str], ...]) -> None:
        self._transform = transform
        self.input_columns = columns
        self.name = getattr(transform, "name", type(transform).__name__)

    def transform(self, data: Any) -> Any:
        return self._transform.transform(data)


def feature_hook(ws: Workspace) -> Any:
    """A ``FeatureHook``: a feature service of ``ws.features`` as serving reads it."""

    def lookup(service: str) -> FeatureLookup:
        info = ws.features.get_feature_service(service)  # NotFoundError when unknown
        return _ServiceFeatures(ws.features, service, info.features)

    return lookup


_KEY_DTYPES = {"int64": "int64", "float64": "float64", "bool": "bool"}
"""Feature-store value types as serving checks request fields (others: strings)."""


class _ServiceFeatures:
    """A ``FeatureLookup``: a feature service's join keys, feature names and online reads."""

    def __init__(self, features: Any, service: str, refs: list[str]) -> None:
        self._features = features
        self.service = service
        self.feature_names = [ref.partition(":")[2] for ref in refs]
        self.join_keys = _join_keys(features, refs)

    def online(self, rows: Any) -> dict[str, list[Any]]:
        return dict(self._features.get_online_features(rows, self.service))


def _join_keys(features: Any, refs: list[str]) -> tuple[tuple[str, str], ...]:
    """The join keys of the entities of the views ``refs`` read, in order of first use."""
    keys: dict[str, str] = {}
    views = dict.fromkeys(ref.partition(":")[0] for ref in refs)
    entities = dict.fromkeys(e for v in views for e in features.get_feature_view(v).view.entities)
    for name in entities:
        for key in features.get_entity(name).entity.keys:
            keys.setdefault(key.name, _KEY_DTYPES.get(str(key.dtype.value), "string"))
    return tuple(keys.items())


def embedded_deployments(
    ws: Workspace, metadata: MetadataStore, artifacts: ArtifactStore, actor: str
) -> DeploymentService:
    from pomona.serving.service import DeploymentService

    serving = ws.settings.serving
    defaults = {
        "max_batch_size": serving.max_batch_size,
        "max_wait_ms": serving.max_wait_ms,
        "max_queue": serving.max_queue,
        "logging": serving.logging,
    }
    return DeploymentService(
        metadata,
        artifacts,
        ws.models,
        default_actor=actor,
        transforms=preparation_hook(ws),
        default_options=defaults,
        features=feature_hook(ws),
    )
