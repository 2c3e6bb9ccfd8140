"""The typed settings tree and where each value comes from.

Order: explicit arguments > ``POMONA_*`` environment > the workspace's ``pomona.toml``
> the user's config file > defaults. Only the composition and interface layers read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pomona.errors import ConfigError

__all__ = [
    "WORKSPACE_DIR",
    "WORKSPACE_FILE",
    "ArtifactSettings",
    "Budgets",
    "DatasetSettings",
    "Direction",
    "FeatureSettings",
    "MetadataSettings",
    "MonitorSettings",
    "MonitoringSettings",
    "PipelineSettings",
    "ProjectSettings",
    "RegistrySettings",
    "ServerSettings",
    "ServingSettings",
    "SettingValue",
    "Settings",
    "TargetMetric",
    "TrackingSettings",
    "explain_settings",
    "find_workspace_root",
    "load_settings",
]

WORKSPACE_FILE = "pomona.toml"
WORKSPACE_DIR = ".pomona"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetadataSettings(_Section):
    url: str = Field("", description="SQLAlchemy URL; empty means .pomona/pomona.db (SQLite).")
    busy_timeout_s: float = Field(30.0, gt=0, description="SQLite: wait this long for a lock.")


class ArtifactSettings(_Section):
    url: str = Field("", description="file:// or s3:// URL; empty means .pomona/artifacts.")
    endpoint_url: str | None = Field(None, description="S3: endpoint of a compatible server.")
    key: str | None = Field(None, description="S3: access key id.")
    secret: SecretStr | None = Field(None, description="S3: secret access key.")
    region: str | None = Field(None, description="S3: region name.")
    gc_grace_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 3650,
        description="'pomona gc' frees a blob no record refers to only once it is this old "
        "(an ingest or upload in flight stores its blobs before its records).",
    )


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Address the server binds.")
    port: int = Field(8000, ge=0, le=65535, description="Port the server binds.")
    workers: int = Field(1, ge=1, description="Worker processes.")
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "localhost", "::1"],
        description="Host header names the server answers (DNS-rebinding guard); '*' is any.",
    )
    metrics_public: bool = Field(
        False, description="With a credential set, serve /metrics without one (scrapers)."
    )
    max_body_mb: float = Field(
        64.0, gt=0, le=65_536, description="Largest request body of any route, in MiB."
    )
    max_upload_mb: float = Field(
        5120.0,
        gt=0,
        le=1_048_576,
        description="Largest upload streamed to disk (run artifacts, model files, pipeline "
        "blobs, dataset upload batches), in MiB.",
    )
    max_request_images: int = Field(
        64, ge=1, le=100_000, description="Most images one request may carry."
    )
    max_request_pixels: int = Field(
        64_000_000,
        ge=1,
        description="Most pixels (width x height, summed) one request's images may decode to.",
    )
    session_hours: float = Field(
        12.0, gt=0, le=24 * 90, description="How long a dashboard login lasts."
    )


class ServingSettings(_Section):
    max_batch_size: int = Field(
        64, ge=1, le=4096, description="New deployments: most rows one model call takes."
    )
    max_wait_ms: int = Field(
        2, ge=0, le=1000, description="New deployments: longest wait for a batch to fill."
    )
    max_queue: int = Field(
        1024, ge=1, le=1_000_000, description="New deployments: queue bound before 503."
    )
    logging: str = Field(
        "async", pattern="^(async|sync|off)$", description="New deployments: async|sync|off."
    )
    log_flush_interval_s: float = Field(
        1.0, gt=0, description="Server: async prediction-log write period."
    )
    poll_s: float = Field(1.0, gt=0, description="Server: how often deployments are re-read.")
    analysis: bool = Field(True, description="Server: run the rollout analysis loop.")
    analysis_poll_s: float = Field(5.0, gt=0, description="Server: rollout analysis period.")
    grpc_port: int | None = Field(
        None, ge=1, le=65535, description="Server: Open Inference Protocol over gRPC port."
    )


class TrackingSettings(_Section):
    flush_interval_s: float = Field(0.5, gt=0, description="Background logger flush period.")
    batch_size: int = Field(5000, ge=1, description="Metric values written per batch.")
    heartbeat_interval_s: float = Field(10.0, gt=0, description="How often a run says alive.")
    heartbeat_timeout_s: float = Field(
        90.0, gt=0, description="A running run silent this long is marked dead."
    )
    retry_max_s: float = Field(
        300.0, ge=0, description="Remote mode: keep retrying a write this long."
    )


class DatasetSettings(_Section):
    allowed_roots: list[Path] = Field(
        default_factory=list,
        description="Local folders a server reads dataset sources from (none when empty); "
        "embedded use reads any folder unless roots are set.",
    )
    allowed_protocols: list[str] = Field(
        default_factory=list,
        description="Remote source protocols (e.g. s3) a server reads for API clients; none "
        "when empty.",
    )
    sql_sources: dict[str, str] = Field(
        default_factory=dict,
        description="Named SQLAlchemy URLs API clients may query by name (opened read-only).",
    )
    client_storage_options: bool = Field(
        False,
        description="Let API clients choose storage options (endpoints, credentials) of a "
        "remote source.",
    )
    source_timeout_s: float = Field(
        30.0, gt=0, le=3600, description="Connect and statement timeout of remote sources."
    )
    batch_size: int = Field(
        512, ge=1, description="Image files per ingest batch (tables: 128 times as many rows)."
    )


class RegistrySettings(_Section):
    trusted_modules: list[str] = Field(
        default_factory=list,
        description="Modules (besides Pomona's own) whose model classes may be imported when "
        "a model is registered or loaded.",
    )


class Direction(StrEnum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"


class TargetMetric(_Section):
    name: str = Field(description="Metric name, e.g. 'accuracy'.")
    direction: Direction = Field(Direction.MAXIMIZE, description="Which way is better.")
    priority: int = Field(1, ge=1, description="1 is the primary metric.")
    threshold: float | None = Field(None, description="The value a model must reach.")


class Budgets(_Section):
    latency_p99_ms: float | None = Field(None, gt=0, description="Serving p99 latency budget.")
    model_size_mb: float | None = Field(None, gt=0, description="Largest model artifact.")


class FeatureSettings(_Section):
    online_url: str = Field(
        "sqlite",
        description="Online store: 'sqlite' (.pomona/online.db), sqlite:////path or redis://…",
    )
    memory_limit_mb: int = Field(1024, ge=64, description="DuckDB memory per offline query.")
    batch_rows: int = Field(65_536, ge=1, description="Rows per ingest/materialise batch.")
    trusted_modules: list[str] = Field(
        default_factory=list,
        description="Modules whose @feature_transformation functions feature views sent to a "
        "server may name (the server imports them at ingest); none when empty.",
    )


class PipelineSettings(_Section):
    executor: str = Field(
        "local", description="Where steps run: local, process, ray, or ray://host:10001."
    )
    ray_address: str | None = Field(
        None, description="ray: the cluster's head (host:port, 'auto'); unset starts a local Ray."
    )
    process_workers: int | None = Field(
        None, ge=1, description="process: worker processes at once (default: CPU count)."
    )
    heartbeat_interval_s: float = Field(5.0, gt=0, description="How often a run says alive.")
    heartbeat_timeout_s: float = Field(
        60.0, gt=0, description="A running pipeline run silent this long is marked dead."
    )
    scheduler_in_server: bool = Field(
        False, description="'pomona server' also runs the pipeline scheduler."
    )
    trusted_modules: list[str] = Field(
        default_factory=list,
        description="Modules (besides .py files in the workspace folder and Pomona's own) "
        "whose pipelines a server or scheduler may import for schedules and on_alert.",
    )
    scheduler_poll_s: float = Field(5.0, gt=0, description="How often the scheduler looks.")


class MonitoringSettings(_Section):
    runner_in_server: bool = Field(
        True, description="'pomona server' also runs the due monitors in the background."
    )
    poll_s: float = Field(10.0, gt=0, description="How often the monitor runner looks.")
    cache_dir: Path | None = Field(
        None, description="Local copies of log files; empty means .pomona/cache/monitoring."
    )
    memory_limit_mb: int = Field(1024, ge=64, description="DuckDB memory per window query.")
    dashboard_url: str | None = Field(None, description="Linked from notifications.")
    webhook_urls: list[str] = Field(
        default_factory=list,
        description="URL prefixes (https://hooks.slack.com/services/) of the webhooks API "
        "clients may name, matched on scheme, host, port and path; none when empty. A server "
        "also delivers only to these (and to [[monitors]] webhooks) when an alert fires.",
    )
    email_domains: list[str] = Field(
        default_factory=list,
        description="Recipient domains (example.org) email channels of API clients may send "
        "to; none when empty. A server also delivers only to these (and to [[monitors]] "
        "email_to) when an alert fires.",
    )
    smtp_host: str = Field("127.0.0.1", description="SMTP server of email notifications.")
    smtp_port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    smtp_sender: str = Field("pomona@localhost", description="From address of alert emails.")
    smtp_starttls: bool = Field(False, description="Use STARTTLS with the SMTP server.")
    smtp_username: str | None = Field(None, description="SMTP login; none: no login.")
    smtp_password: SecretStr | None = Field(
        None,
        description="Password of the SMTP login; sent only through an SMTP configuration the "
        "settings name (monitoring.smtp_* or a [[monitors]] entry's).",
    )


class MonitorSettings(_Section):
    """One ``[[monitors]]`` entry of pomona.toml (see docs/monitoring.md)."""

    deployment: str = Field(description="The deployment watched.")
    name: str | None = Field(None, description="Monitor name; default: the deployment's.")
    window: str = Field("1h", description="Window length, e.g. '15m', '1h', '1d'.")
    every: str | None = Field(None, description="How often it runs; default: each window.")
    lag: str = Field("5s", description="Wait this long after a window ends.")
    drift: bool = Field(True, description="Judge drift against the reference.")
    quality: bool = Field(True, description="Missing, out-of-range, out-of-schema inputs.")
    performance: bool = Field(True, description="Estimated, and actual once labels arrive.")
    reference: str = Field("training", description="'training' or 'window:<start_ms>'.")
    categorical: list[str] = Field(default_factory=list, description="Categorical features.")
    slices: list[str] = Field(default_factory=list, description="Features to slice by.")
    min_accuracy: float | None = Field(None, description="Alert below this accuracy.")
    max_error_rate: float | None = Field(0.05, description="Alert above this error rate.")
    latency_p99_ms: float | None = Field(None, description="Alert above this p99 latency.")
    retrain: bool = Field(True, description="Drift and accuracy alerts ask for a retraining.")
    cooldown: str = Field("1h", description="At most one retraining per model this often.")
    labels_within: str = Field("7d", description="Late labels update windows this recent.")
    on_alert: str | None = Field(None, description="Pipeline (file.py:name) to retrain.")
    webhooks: list[str] = Field(default_factory=list, description="Slack-compatible URLs.")
    email_to: list[str] = Field(default_factory=list, description="Email recipients.")
    smtp_host: str | None = Field(None, description="SMTP server; default: monitoring's.")
    smtp_port: int | None = Field(None, ge=1, le=65535, description="Default: monitoring's.")
    smtp_sender: str | None = Field(None, description="From address; default: monitoring's.")
    smtp_starttls: bool | None = Field(None, description="STARTTLS; default: monitoring's.")
    smtp_username: str | None = Field(
        None, description="SMTP login (password: monitoring's); default: monitoring's."
    )
    log: bool = Field(True, description="Also write notifications to the log.")


class ProjectSettings(_Section):
    name: str = Field("pomona", description="Project name.")
    targets: list[TargetMetric] = Field(default_factory=list, description="Target metrics.")
    budgets: Budgets = Field(default_factory=Budgets, description="Budgets gates check.")


class Settings(BaseSettings):
    """Every setting of a workspace."""

    model_config = SettingsConfigDict(
        env_prefix="POMONA_", env_nested_delimiter="_", env_nested_max_split=1, extra="forbid"
    )

    home: Path = Field(Path("."), description="Workspace root (holds pomona.toml).")
    uri: str | None = Field(None, description="Remote server URL; unset means embedded.")
    token: SecretStr | None = Field(
        None, description="Bearer token: a server requires it on every route; a client sends it."
    )
    metadata: MetadataSettings = Field(default_factory=MetadataSettings)
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    datasets: DatasetSettings = Field(default_factory=DatasetSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    pipelines: PipelineSettings = Field(default_factory=PipelineSettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    monitors: list[MonitorSettings] = Field(
        default_factory=list, description="Monitors declared as [[monitors]] in pomona.toml."
    )
    project: ProjectSettings = Field(default_factory=ProjectSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # layers are merged by load_settings

    @property
    def workspace_dir(self) -> Path:
        return self.home / WORKSPACE_DIR

    @property
    def metadata_url(self) -> str:
        return self.metadata.url or f"sqlite:///{self.workspace_dir / 'pomona.db'}"

    @property
    def artifacts_url(self) -> str:
        return self.artifacts.url or (self.workspace_dir / "artifacts").as_uri()


@dataclass(frozen=True)
class SettingValue:
    """One effective setting and the layer it came from."""

    key: str
    value: Any
    source: str


def find_workspace_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` holding ``pomona.toml``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / WORKSPACE_FILE).is_file():
            return folder
    return None


def _user_config_file() -> Path:
    base = os.environ.get("POMONA_CONFIG_DIR") or os.environ.get("XDG_CONFIG_HOME")
    return (Path(base) if base else Path.home() / ".config") / "pomona" / "config.toml"


def _toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return dict(TomlConfigSettingsSource(Settings, toml_file=path)())
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.", hint="Fix the file.") from exc


def _layers(home: Path, overrides: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    env = {k: v for k, v in EnvSettingsSource(Settings)().items() if v is not None}
    env.pop("config", None)  # POMONA_CONFIG_DIR names the user config folder, not a setting
    return [
        ("argument", _nest(overrides)),
        ("env", env),
        (WORKSPACE_FILE, _toml(home / WORKSPACE_FILE)),
        ("user config", _toml(_user_config_file())),
    ]


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None:
            continue
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _leaves(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _leaves(value, dotted + ".")
        else:
            yield dotted, value


def _merge(home: Path, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, layer in reversed(_layers(home, overrides)):
        for dotted, value in _leaves(layer):
            node = merged
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
            origin[dotted] = source
    merged.setdefault("home", str(home))
    return merged, origin


def load_settings(home: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the effective settings.

    Args:
        home: the workspace root; found upwards from the current folder when omitted.
        overrides: explicit values by dotted key, e.g. ``{"server.port": 9000}``.
    Raises:
        ConfigError: a value is invalid; the message names the key and its source.
    """
    return _load(home, overrides)[0]


def _load(home: Path | str | None, overrides: Mapping[str, Any]) -> tuple[Settings, dict[str, str]]:
    """The settings and, per dotted key, the layer that set it (layers read once)."""
    root = Path(home) if home is not None else (find_workspace_root() or Path.cwd())
    merged, origin = _merge(root.resolve(), overrides)
    try:
        return Settings(**merged), origin
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        where = origin.get(key, "default")
        raise ConfigError(
            f"Setting '{key}' (from {where}) is invalid: {first['msg']}.",
            hint="Fix it in pomona.toml, the POMONA_* environment, or the arguments.",
            details={"field": key, "source": where},
        ) from exc


def explain_settings(home: Path | str | None = None, **overrides: Any) -> list[SettingValue]:
    """Every effective value with the layer it came from ('default' when none set it)."""
    settings, origin = _load(home, overrides)
    dumped = settings.model_dump(mode="json")
    rows = []
    for dotted, value in _leaves(dumped):
        if dotted.endswith("secret") or dotted == "token":
            value = "***" if value else value
        source = origin.get(dotted, "default")
        if dotted == "home" and source == "default":
            source = "workspace"
        rows.append(SettingValue(dotted, value, source))
    return rows
