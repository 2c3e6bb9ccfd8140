"""Wiring monitoring: the reference data through the registry's lineage, the pipelines as
the event sink, ``on_alert`` triggers, and the monitors declared in ``pomona.toml``."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pomona.client._serving import dropped_columns
from pomona.errors import ConfigError, PomonaError

if TYPE_CHECKING:
    from pomona.artifacts import ArtifactStore
    from pomona.client.workspace import Workspace
    from pomona.config import MonitorSettings, Settings
    from pomona.metadata import MetadataStore
    from pomona.monitoring import AlertService, Email, Monitor, MonitoringService, Reference
    from pomona.monitoring._destinations import NotifyPolicy

__all__ = [
    "TrainingDataReferences",
    "declare_monitors",
    "embedded_monitoring",
    "monitor_arguments",
    "notify_policy",
]

log = logging.getLogger("pomona.monitoring")

IMAGE_PROPERTIES = (
    "brightness",
    "contrast",
    "blur",
    "width",
    "height",
    "mean_r",
    "mean_g",
    "mean_b",
)
MAX_REFERENCE_ROWS = 100_000


class TrainingDataReferences:
    """``ReferenceProvider``: the dataset version a model was trained on (its lineage),
    before any ``prepare`` (the logs hold inputs as clients send them)."""

    def __init__(self, ws: Workspace, *, max_rows: int = MAX_REFERENCE_ROWS) -> None:
        self.ws = ws
        self.max_rows = max_rows

    def reference(self, deployment: str, model: str) -> Reference | None:
        from pomona.monitoring import Reference

        version = self.ws.models.get_version(model)
        datasets = getattr(self.ws, "datasets", None)
        if not version.lineage.dataset_versions or datasets is None:
            return None
        ref = self._raw(version.lineage.dataset_versions[0])
        data = datasets.get_version(ref)
        first = str(datasets.get_version(version.lineage.dataset_versions[0]).ref)
        # a prepared model's requests carry the raw columns the transform keeps
        inputs = set() if ref != first else {s.name for s in version.signature.inputs}
        dropped = dropped_columns(datasets.load_transform(first)) if ref != first else set()
        if data.kind == "table":
            columns, labels = self._table(ref, data.schema, inputs, dropped)
        else:
            columns, labels = self._images(ref)
        if not columns:
            return None
        source = f"dataset {ref} (training data of {model})"
        return Reference(f"dataset:{ref}", source, columns, labels)

    def _raw(self, ref: str) -> str:
        """Walk up from a prepared version to the version it was prepared from."""
        datasets = self.ws.datasets
        for _ in range(20):
            version = datasets.get_version(ref)
            if version.lineage.operation != "prepare" or version.lineage.parent is None:
                return str(version.ref)
            ref = str(version.lineage.parent)
        return ref

    def _table(
        self, ref: str, schema: Any, inputs: set[str], dropped: set[str]
    ) -> tuple[dict[str, Any], Any]:
        frame = self.ws.datasets.load_table(ref)
        if len(frame) > self.max_rows:
            frame = frame.sample(self.max_rows, random_state=0)
        label = schema.get("label") if isinstance(schema, dict) else None
        names = [
            c
            for c in frame.columns
            if c != label and c not in dropped and (not inputs or c in inputs)
        ]
        columns = {c: _as_logged(frame[c].to_numpy()) for c in names}
        labels = None if label not in frame.columns else frame[label].astype(str).to_numpy()
        return columns, labels

    def _images(self, ref: str) -> tuple[dict[str, Any], Any]:
        values: dict[str, list[float]] = {p: [] for p in IMAGE_PROPERTIES}
        labels: list[str | None] = []
        token: str | None = None
        while len(labels) < self.max_rows:
            page = self.ws.datasets.list_records(ref, limit=1000, page_token=token)
            for record in page:
                for prop in IMAGE_PROPERTIES:
                    value = record.attributes.get(prop)
                    values[prop].append(np.nan if value is None else float(value))
                labels.append(record.label)
            token = page.next_page_token
            if token is None:
                break
        columns = {k: np.asarray(v) for k, v in values.items() if v}
        known = [lab for lab in labels if lab is not None]
        return columns, np.asarray(known, dtype=object) if known else None


def _as_logged(values: Any) -> Any:
    """Booleans as the prediction logs hold them (0.0 / 1.0)."""
    return values.astype(np.float64) if values.dtype == bool else values


def embedded_monitoring(
    ws: Workspace, settings: Settings, metadata: MetadataStore, artifacts: ArtifactStore
) -> tuple[MonitoringService, AlertService]:
    """``ws.monitors`` and ``ws.alerts`` on the workspace's stores."""
    from pomona.monitoring import AlertService, MonitoringService

    m = settings.monitoring
    service = MonitoringService(
        metadata,
        artifacts,
        references=TrainingDataReferences(ws),
        events=_Events(ws),
        cache_dir=m.cache_dir or settings.workspace_dir / "cache" / "monitoring",
        notify_policy=notify_policy(settings),
        dashboard_url=m.dashboard_url,
        memory_limit_mb=m.memory_limit_mb,
        on_alert=lambda monitor, target: retrain_trigger(ws, monitor, target),
    )
    return service, AlertService(metadata, default_actor=_user())


class _Events:
    """The pipelines service as monitoring's ``EventSink`` (looked up when an event fires)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def emit_event(self, type: str, payload: Any = None) -> Any:
        return self.ws.pipelines.emit_event(type, payload)


def retrain_trigger(ws: Workspace, monitor: Monitor, target: str) -> None:
    """A pipeline trigger on ``alert.fired`` of this monitor, running ``target``."""
    from pomona.monitoring._alerting import RETRAIN_EVENT

    name = f"retrain-{monitor.name}"[:250]
    pipelines = ws.pipelines
    try:
        current = pipelines.get_schedule(name)
    except PomonaError:
        current = None
    if current is not None:
        from pomona.pipelines import load_pipeline

        if current.target == load_pipeline(target).ref and current.event_type == RETRAIN_EVENT:
            return
        pipelines.delete_schedule(name)
    pipelines.create_schedule(
        name, target, on_event=RETRAIN_EVENT, event_filter={"monitor": monitor.name}
    )


def notify_policy(settings: Settings) -> NotifyPolicy:
    """Where notifications may go: ``monitoring.webhook_urls``, ``email_domains`` and
    ``smtp_*``, and what the ``[[monitors]]`` entries of pomona.toml name (the owner's)."""
    from pomona.monitoring._destinations import NotifyPolicy
    from pomona.monitoring.notify import SmtpServer

    m = settings.monitoring
    password = m.smtp_password.get_secret_value() if m.smtp_password else None
    smtp = SmtpServer(
        m.smtp_host, m.smtp_port, m.smtp_sender, m.smtp_starttls, m.smtp_username, password
    )
    declared = [_declared_email(spec) for spec in settings.monitors if spec.email_to]
    return NotifyPolicy(
        smtp,
        webhook_urls=tuple(m.webhook_urls),
        email_domains=tuple(m.email_domains),
        declared_webhooks=frozenset(url for spec in settings.monitors for url in spec.webhooks),
        declared_recipients=frozenset(a for spec in settings.monitors for a in spec.email_to),
        declared_smtp=tuple(replace(smtp.through(e), password=password) for e in declared),
    )


def _declared_email(spec: MonitorSettings) -> Email:
    from pomona.monitoring import Email

    return Email(
        tuple(spec.email_to),
        host=spec.smtp_host,
        port=spec.smtp_port,
        sender=spec.smtp_sender,
        starttls=spec.smtp_starttls,
        username=spec.smtp_username,
    )


def monitor_arguments(spec: MonitorSettings) -> dict[str, Any]:
    """``ws.monitors.create`` arguments from a ``[[monitors]]`` entry of pomona.toml."""
    from pomona.monitoring import Log, Webhook

    notify: list[Any] = [Webhook(url) for url in spec.webhooks]
    if spec.email_to:
        notify.append(_declared_email(spec))
    if spec.log:
        notify.append(Log())
    out = spec.model_dump(
        exclude={
            "webhooks",
            "email_to",
            "smtp_host",
            "smtp_port",
            "smtp_sender",
            "smtp_starttls",
            "smtp_username",
            "log",
        }
    )
    out["notify"] = notify
    return out


def declare_monitors(ws: Workspace) -> list[Monitor]:
    """Create or update the monitors declared in ``pomona.toml`` (``[[monitors]]``)."""
    declared = []
    for spec in ws.settings.monitors:
        args = monitor_arguments(spec)
        deployment = args.pop("deployment")
        try:
            declared.append(ws.monitors.create(deployment, replace=True, **args))
        except PomonaError as exc:
            raise ConfigError(
                f"The monitor of '{deployment}' in pomona.toml is invalid: {exc.message}",
                hint="Fix its [[monitors]] entry.",
                details={"field": "monitors"},
            ) from exc
    return declared


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
