"""Open a workspace: embedded on the local stores, or remote on a Pomona server."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.client._pipelines import embedded_pipelines, remote_pipelines
from pomona.client._stores import (
    build_artifact_store,
    build_metadata_store,
    write_workspace_file,
)
from pomona.client.workspace import Workspace
from pomona.config import Settings, find_workspace_root, load_settings
from pomona.errors import ConfigError
from pomona.tracking.service import TrackingService

if TYPE_CHECKING:
    from pomona.artifacts import ArtifactStore
    from pomona.datasets.service import DatasetService
    from pomona.metadata import MetadataStore
    from pomona.registry.service import RegistryService

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
    models = _registry_service(settings, metadata, artifacts)
    service.mark_dead_runs(settings.tracking.heartbeat_timeout_s)

    def close() -> None:
        features = ws.__dict__.get("features")  # built only if it was used
        if features is not None:
            features.close()
        artifacts.close()
        metadata.close()

    ws = Workspace(
        service,
        settings,
        remote=False,
        closer=close,
        metadata_store=metadata,
        artifact_store=artifacts,
        models=models,
        lazy=_lazy_services(lambda: ws, settings, metadata, artifacts),
    )
    ws.pipelines = embedded_pipelines(settings, metadata, artifacts, ws)
    if settings.monitors:
        from pomona.client._monitoring import declare_monitors

        declare_monitors(ws)
    ws.pipelines.mark_dead_runs()
    return ws


def _lazy_services(
    get_ws: Callable[[], Workspace],
    settings: Settings,
    metadata: MetadataStore,
    artifacts: ArtifactStore,
) -> dict[str, Callable[[], Any]]:
    """Services built on first use: importing and building them all slowed every connect."""

    def features() -> Any:
        from pomona.client._features import embedded_features

        return embedded_features(settings, metadata, artifacts, get_ws().datasets)

    def deployments() -> Any:
        from pomona.client._serving import embedded_deployments

        return embedded_deployments(get_ws(), metadata, artifacts, _os_user())

    def _wired(datasets: DatasetService) -> DatasetService:
        from pomona.client._datasets import wire_datasets

        wire_datasets(get_ws(), datasets, metadata)
        return datasets

    @functools.cache
    def monitoring() -> Any:
        from pomona.client._monitoring import embedded_monitoring

        return embedded_monitoring(get_ws(), settings, metadata, artifacts)

    return {
        "datasets": lambda: _wired(_datasets_service(settings, metadata, artifacts)),
        "features": features,
        "deployments": deployments,
        "monitors": lambda: monitoring()[0],
        "alerts": lambda: monitoring()[1],
    }


def _datasets_service(
    settings: Settings, metadata: MetadataStore, artifacts: ArtifactStore
) -> DatasetService:
    from pomona.datasets.service import DatasetService

    d = settings.datasets
    return DatasetService(
        metadata,
        artifacts,
        allowed_roots=d.allowed_roots,
        sql_sources=d.sql_sources,
        source_timeout_s=d.source_timeout_s,
        batch_size=d.batch_size,
    )


def _registry_service(
    settings: Settings, metadata: MetadataStore, artifacts: ArtifactStore
) -> RegistryService:
    from pomona.registry.service import RegistryService

    return RegistryService(
        metadata,
        artifacts,
        default_actor=_os_user(),
        trusted_modules=settings.registry.trusted_modules,
    )


def _os_user() -> str:
    """Who acts in the registry by default: the OS user."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _connect_remote(settings: Settings) -> Workspace:
    from pomona.client._remote import RemoteTracking
    from pomona.client._remote_datasets import RemoteDatasets
    from pomona.client._remote_registry import RemoteRegistry

    token = settings.token.get_secret_value() if settings.token else None
    remote = RemoteTracking(str(settings.uri), token=token)
    ws = Workspace(
        remote,
        settings,
        remote=True,
        closer=remote.close,
        datasets=RemoteDatasets(remote),
        models=RemoteRegistry(remote, default_actor=_os_user()),
    )
    ws.pipelines = remote_pipelines(settings, remote, ws)
    from pomona.client._remote_features import RemoteFeatures

    ws.features = RemoteFeatures(remote)
    from pomona.client._remote_serving import RemoteDeployments

    ws.deployments = RemoteDeployments(remote, default_actor=_os_user())
    from pomona.client._remote_monitoring import RemoteAlerts, RemoteMonitors

    ws.monitors, ws.alerts = RemoteMonitors(remote), RemoteAlerts(remote)
    return ws


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
    """Every blob freed: deleted runs' and versions' files, and unreferenced ones."""
    unreferenced_freed: int = 0
    """Of those, blobs no record referred to (left by a killed ingest or upload)."""
    grace_s: float = 0.0
    """Unreferenced blobs younger than this were kept (a write may be in flight)."""


def gc(ws: Workspace, *, grace_s: float | None = None) -> GcResult:
    """Purge deleted runs and free artifact storage no record refers to any more.

    Args:
        grace_s: keep unreferenced blobs stored less than this long ago (an ingest in
            flight stores its blobs before its records); ``artifacts.gc_grace_hours``
            when omitted.
    """
    from pomona.client._gc import sweep_unreferenced

    if ws.remote or not isinstance(ws.runs, TrackingService):
        raise ConfigError("'gc' runs on the workspace's own stores, not through a server.")
    if grace_s is None:
        grace_s = ws.settings.artifacts.gc_grace_hours * 3600
    purged, freed = ws.runs.purge_deleted_runs()
    datasets = getattr(ws, "datasets", None)
    if datasets is not None and hasattr(datasets, "collect_garbage"):
        freed += datasets.collect_garbage()
    assert ws.metadata_store is not None and ws.artifact_store is not None
    sweep = sweep_unreferenced(ws.metadata_store, ws.artifact_store, grace_s=grace_s)
    return GcResult(
        runs_purged=purged,
        blobs_freed=len(freed) + len(sweep.freed),
        unreferenced_freed=len(sweep.freed),
        grace_s=grace_s,
    )
