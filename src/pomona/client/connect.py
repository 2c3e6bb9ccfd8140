"""Open a workspace: embedded on the local stores, or remote on a Pomona server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pomona.client._stores import (
    build_artifact_store,
    build_metadata_store,
    write_workspace_file,
)
from pomona.client.workspace import Workspace
from pomona.config import Settings, find_workspace_root, load_settings
from pomona.errors import ConfigError
from pomona.tracking.service import TrackingService

__all__ = ["GcResult", "UpgradeResult", "connect", "gc", "init_workspace", "upgrade_database"]


def _is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def connect(target: str | Path | None = None, **overrides: Any) -> Workspace:
    """Open a workspace.

    Args:
        target: a server URL (``http://host:8000``) for remote mode, or a workspace folder.
            When omitted: ``POMONA_URI`` if set, else the nearest folder holding
            ``pomona.toml``, else a new workspace in the current folder.
        overrides: settings by dotted key, e.g. ``{"tracking.flush_interval_s": 1}``.
    Raises:
        ConfigError: the workspace's database is missing or not a Pomona database.
        SchemaOutdatedError: the database needs ``pomona db upgrade``.
    """
    if target is not None and _is_url(str(target)):
        overrides = {**overrides, "uri": str(target)}
        target = None
    home = Path(target) if target is not None else None
    settings = load_settings(home, **overrides)
    if settings.uri:
        return _connect_remote(settings)
    if home is None and find_workspace_root() is None:
        init_workspace(settings.home)
    elif not (settings.home / "pomona.toml").is_file():
        init_workspace(settings.home, **overrides)
    return _connect_embedded(settings)


def _connect_embedded(settings: Settings) -> Workspace:
    metadata = build_metadata_store(settings)
    if metadata.name == "sqlite" and not metadata.exists():
        raise ConfigError(
            f"The workspace at {settings.home} has no database at {metadata.safe_url}.",
            hint="Restore it from .pomona/backups, or run 'pomona init' to start an empty one.",
        )
    metadata.check_schema()
    artifacts = build_artifact_store(settings)
    service = TrackingService(metadata, artifacts)
    service.mark_dead_runs(settings.tracking.heartbeat_timeout_s)

    def close() -> None:
        artifacts.close()
        metadata.close()

    return Workspace(
        service,
        settings,
        remote=False,
        closer=close,
        metadata_store=metadata,
        artifact_store=artifacts,
    )


def _connect_remote(settings: Settings) -> Workspace:
    from pomona.client._remote import RemoteTracking

    token = settings.token.get_secret_value() if settings.token else None
    remote = RemoteTracking(str(settings.uri), token=token)
    return Workspace(remote, settings, remote=True, closer=remote.close)


def init_workspace(home: Path | str = ".", **overrides: Any) -> tuple[Path, bool]:
    """Create ``pomona.toml``, ``.pomona/`` and the database's schema.

    Returns:
        The workspace folder and whether a new database was initialised.
    Raises:
        SchemaOutdatedError: an existing database needs ``pomona db upgrade``.
    """
    root = Path(home).resolve()
    write_workspace_file(root)
    settings = load_settings(root, **overrides)
    settings.workspace_dir.mkdir(parents=True, exist_ok=True)
    (settings.workspace_dir / ".gitignore").write_text("*\n")
    with build_metadata_store(settings) as metadata:
        if metadata.revision() is None:
            metadata.initialize()
            return root, True
        metadata.check_schema()
    return root, False


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None
    after: str | None
    backup: str


def upgrade_database(home: Path | str | None = None, **overrides: Any) -> UpgradeResult:
    """Back the database up, then migrate it to this Pomona's schema.

    Raises:
        ConfigError: there is no database (a missing one is never replaced by an empty one).
    """
    settings = load_settings(home, **overrides)
    with build_metadata_store(settings) as metadata:
        if not metadata.exists() or metadata.revision() is None:
            raise ConfigError(
                f"No Pomona database at {metadata.safe_url}: nothing to upgrade.",
                hint="Check metadata.url ('pomona config show'); 'pomona init' creates a new one.",
            )
        backup = metadata.backup(settings.workspace_dir / "backups")
        before = metadata.upgrade()
        return UpgradeResult(before=before, after=metadata.revision(), backup=backup)


@dataclass(frozen=True)
class GcResult:
    runs_purged: int
    blobs_freed: int


def gc(ws: Workspace) -> GcResult:
    """Purge deleted runs and free artifact storage no record refers to any more."""
    if ws.remote or not isinstance(ws.runs, TrackingService):
        raise ConfigError("'gc' runs on the workspace's own stores, not through a server.")
    purged, freed = ws.runs.purge_deleted_runs()
    return GcResult(runs_purged=purged, blobs_freed=len(freed))
