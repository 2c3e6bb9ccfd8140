"""Tables of the metadata database, one module per domain, all in one ``MetaData``.

Migrations in ``migrations/`` must build exactly these (a test compares them). A domain
adds its tables in a module of its own here and imports it below.
"""

from __future__ import annotations

from pomona.metadata.schema._meta import blob_ref_columns, metadata
from pomona.metadata.schema.datasets import (
    dataset_blobs,
    dataset_garbage,
    dataset_splits,
    dataset_versions,
    datasets,
)
from pomona.metadata.schema.features import (
    feature_materializations,
    feature_object_versions,
    feature_objects,
    feature_segments,
    feature_training_sets,
)
from pomona.metadata.schema.monitoring import (
    monitor_alerts,
    monitor_points,
    monitor_retrain_locks,
    monitor_retrains,
    monitor_silences,
    monitor_windows,
    monitors,
)
from pomona.metadata.schema.pipelines import (
    pipeline_artifacts,
    pipeline_events,
    pipeline_outbox,
    pipeline_runs,
    pipeline_schedules,
    pipeline_steps,
    pipeline_ticks,
)
from pomona.metadata.schema.registry import (
    model_alias_history,
    model_aliases,
    model_exports,
    model_gate_reports,
    model_version_files,
    model_versions,
    registered_models,
)
from pomona.metadata.schema.serving import (
    deployment_decisions,
    deployments,
    feedback,
    prediction_log_files,
)
from pomona.metadata.schema.tracking import (
    idempotency_keys,
    latest_metrics,
    metrics,
    params,
    run_artifacts,
    runs,
    tags,
)
from pomona.metadata.schema.training import study_journal

__all__ = [
    "blob_ref_columns",
    "dataset_blobs",
    "dataset_garbage",
    "dataset_splits",
    "dataset_versions",
    "datasets",
    "deployment_decisions",
    "deployments",
    "feature_materializations",
    "feature_object_versions",
    "feature_objects",
    "feature_segments",
    "feature_training_sets",
    "feedback",
    "idempotency_keys",
    "latest_metrics",
    "metadata",
    "metrics",
    "model_alias_history",
    "model_aliases",
    "model_exports",
    "model_gate_reports",
    "model_version_files",
    "model_versions",
    "monitor_alerts",
    "monitor_points",
    "monitor_retrain_locks",
    "monitor_retrains",
    "monitor_silences",
    "monitor_windows",
    "monitors",
    "params",
    "pipeline_artifacts",
    "pipeline_events",
    "pipeline_outbox",
    "pipeline_runs",
    "pipeline_schedules",
    "pipeline_steps",
    "pipeline_ticks",
    "prediction_log_files",
    "registered_models",
    "run_artifacts",
    "runs",
    "study_journal",
    "tags",
]
