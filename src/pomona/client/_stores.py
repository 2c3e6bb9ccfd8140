"""Build the stores a workspace's settings name."""

from __future__ import annotations

from pathlib import Path

from pomona.artifacts import ArtifactStore, open_artifact_store
from pomona.config import WORKSPACE_FILE, Settings
from pomona.errors import ConfigError
from pomona.metadata import MetadataStore, open_metadata_store

__all__ = ["build_artifact_store", "build_metadata_store", "write_workspace_file"]

_TEMPLATE = """# Pomona workspace. Every setting: 'pomona config show'.
[project]
name = "{name}"

# Target metrics: direction and priority (1 = primary); gates and monitors read them.
# [[project.targets]]
# name = "accuracy"
# direction = "maximize"
# priority = 1
# threshold = 0.9

[project.budgets]
# latency_p99_ms = 50

# [metadata]
# url = "postgresql://user@host:5432/pomona"   # default: .pomona/pomona.db (SQLite)
# [artifacts]
# url = "s3://bucket/prefix"                    # default: .pomona/artifacts
"""


def build_metadata_store(settings: Settings) -> MetadataStore:
    return open_metadata_store(
        settings.metadata_url, busy_timeout_s=settings.metadata.busy_timeout_s
    )


def build_artifact_store(settings: Settings) -> ArtifactStore:
    url = settings.artifacts_url
    options: dict[str, object] = {}
    if url.startswith("s3://"):
        a = settings.artifacts
        options = {
            "endpoint_url": a.endpoint_url,
            "key": a.key,
            "secret": a.secret.get_secret_value() if a.secret else None,
            "region": a.region,
        }
        options = {k: v for k, v in options.items() if v is not None}
    return open_artifact_store(url, **options)


def write_workspace_file(root: Path) -> bool:
    """Create ``pomona.toml`` unless present; returns whether it was created."""
    path = root / WORKSPACE_FILE
    if path.exists():
        return False
    try:
        root.mkdir(parents=True, exist_ok=True)
        path.write_text(_TEMPLATE.format(name=root.resolve().name or "pomona"))
    except OSError as exc:
        raise ConfigError(f"Cannot create {path}: {exc}.") from exc
    return True
