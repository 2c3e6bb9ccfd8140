"""S3ArtifactStore turns connection failures into Pomona errors (no server needed)."""

from __future__ import annotations

import pytest

from pomona.artifacts import open_artifact_store
from pomona.errors import BackendUnavailableError
from pomona.testing._servers import free_port
from pomona.types import Digest

DIGEST = Digest("sha256:" + "a" * 64)


def test_unreachable_endpoint_raises_backend_unavailable() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with (
        open_artifact_store("s3://bucket", endpoint_url=endpoint, key="k", secret="s") as store,
        pytest.raises(BackendUnavailableError, match="is unreachable") as info,
    ):
        store.exists(DIGEST)
    assert info.value.__cause__ is not None
