"""The apple farm's features: photos on disk, indexed in Parquet, and their feature views.

>>> from pomona.examples.apples.features import write_photo_index, apple_feature_views
>>> index = write_photo_index("photos/", 60, seed=0)          # doctest: +SKIP
>>> ws.features.apply(apple_feature_views(index))             # doctest: +SKIP
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from pomona.examples.apples._generator import generate_apples
from pomona.features.definitions import (
    Definition,
    Entity,
    FeatureService,
    FeatureView,
    Transformation,
)
from pomona.features.sources import FileSource

__all__ = ["PHOTO_EPOCH", "apple_feature_views", "write_photo_index"]

PHOTO_EPOCH = datetime(2026, 9, 1, tzinfo=UTC)
"""When the first photo is taken; photo ``i`` is taken ``i`` minutes later."""


def write_photo_index(folder: str | Path, n: int, *, seed: int = 0) -> Path:
    """Write ``n`` apple photos as PNG files and ``photos.parquet`` indexing them.

    The index has ``apple_id``, ``event_timestamp``, ``path`` and the ``grade`` label.
    """
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]
    from PIL import Image

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    images, metas = generate_apples(n, seed=seed)
    paths = []
    for i, image in enumerate(images):
        path = root / f"apple-{i:05d}.png"
        buffer = io.BytesIO()
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
        path.write_bytes(buffer.getvalue())
        paths.append(str(path.resolve()))
    index = root / "photos.parquet"
    table = pa.table(
        {
            "apple_id": pa.array(range(n), pa.int64()),
            "event_timestamp": pa.array(
                [PHOTO_EPOCH + timedelta(minutes=i) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "path": paths,
            "grade": [m.grade for m in metas],
        }
    )
    pq.write_table(table, index)
    return index


def apple_feature_views(index: str | Path, *, bins: int = 8) -> list[Definition]:
    """The ``apple`` entity, the ``apple_images`` view (colour histograms, texture and
    blemish statistics of each photo) and the ``apple_grader`` feature service."""
    from pomona.features._image_features import image_feature_schema

    apple = Entity("apple", join_keys={"apple_id": "int64"}, description="One photographed apple.")
    images = FeatureView(
        "apple_images",
        source=FileSource(str(index)),
        entities=["apple"],
        features=image_feature_schema(bins),
        transformation=Transformation(
            "pomona.features:image_features", {"column": "path", "kind": "path", "bins": bins}
        ),
        description="Colour histograms, texture and blemish statistics of apple photos.",
    )
    grader = FeatureService("apple_grader", ["apple_images:*"], description="The grader's inputs.")
    return [apple, images, grader]
