"""The feature store: definitions, an offline store with point-in-time joins, an online store.

    from pomona.features import Entity, FeatureView, FileSource
    apple = Entity("apple", join_keys={"apple_id": "int64"})
    sizes = FeatureView("apple_size", source=FileSource("sizes.parquet"), entities=["apple"],
                        features={"weight_g": "float64"}, ttl="30d")
    ws.features.apply([apple, sizes])
    train = ws.features.get_historical_features(entity_df, ["apple_size:weight_g"])

``ws.features`` is a ``FeatureStore`` (embedded) or its remote twin; both implement
``FeaturesAPI``.
"""

from __future__ import annotations

from pomona.features._codec import FeatureValue
from pomona.features._image_features import (
    image_feature_schema,
    image_features,
    image_vector,
)
from pomona.features._ingest import TransformContext
from pomona.features._loader import load_definitions
from pomona.features.base import (
    AppliedObject,
    EntityInfo,
    FeaturesAPI,
    FeatureServiceInfo,
    FeatureStats,
    FeatureViewInfo,
    MaterializeResult,
    PushResult,
    SnapshotInfo,
    TrainingDataset,
    ViewMaterialization,
)
from pomona.features.definitions import (
    Definition,
    Entity,
    Feature,
    FeatureService,
    FeatureView,
    Transformation,
    ValueType,
    definition_from_spec,
    feature_transformation,
    parse_ttl,
)
from pomona.features.service import FeatureStore
from pomona.features.serving import FeatureEnricher
from pomona.features.sources import (
    ArtifactSource,
    DatasetSink,
    DatasetSource,
    FileSource,
    ResolvedDataset,
    SourceResolver,
    SqlSource,
    source_from_spec,
)

__all__ = [
    "AppliedObject",
    "ArtifactSource",
    "DatasetSink",
    "DatasetSource",
    "Definition",
    "Entity",
    "EntityInfo",
    "Feature",
    "FeatureEnricher",
    "FeatureService",
    "FeatureServiceInfo",
    "FeatureStats",
    "FeatureStore",
    "FeatureValue",
    "FeatureView",
    "FeatureViewInfo",
    "FeaturesAPI",
    "FileSource",
    "MaterializeResult",
    "PushResult",
    "ResolvedDataset",
    "SnapshotInfo",
    "SourceResolver",
    "SqlSource",
    "TrainingDataset",
    "TransformContext",
    "Transformation",
    "ValueType",
    "ViewMaterialization",
    "definition_from_spec",
    "feature_transformation",
    "image_feature_schema",
    "image_features",
    "image_vector",
    "load_definitions",
    "parse_ttl",
    "source_from_spec",
]
