"""The monitoring interfaces: what the client wires in, and what the SDK offers.

``ReferenceProvider`` finds the reference data of a deployment's model (the client looks
the model's training dataset up through the registry's lineage), and ``EventSink``
records an event for pipeline triggers (the client passes the pipelines service). The
embedded services and the remote client both implement ``MonitorsAPI`` / ``AlertsAPI``.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from pomona.monitoring.drift import DriftThresholds
from pomona.monitoring.notify import Channel
from pomona.monitoring.records import Alert, Monitor, RunResult, SeriesPoint, Silence, Window
from pomona.monitoring.rules import AlertRule
from pomona.types import Page

__all__ = [
    "AlertsAPI",
    "EventSink",
    "MonitorsAPI",
    "Reference",
    "ReferenceProvider",
]


@dataclass(frozen=True)
class Reference:
    """Reference data drift is judged against.

    ``columns`` are features by their input names (``brightness``, not ``in__brightness``),
    ``labels`` the true labels (for prediction drift), ``embeddings`` an ``(n, d)`` array.
    ``key`` names the data: a detector fitted on it is reused while the key stays.
    """

    key: str
    source: str
    columns: Mapping[str, NDArray[Any]]
    labels: NDArray[Any] | None = None
    embeddings: NDArray[np.float64] | None = None
    categorical: tuple[str, ...] = field(default=())


@runtime_checkable
class ReferenceProvider(Protocol):
    def reference(self, deployment: str, model: str) -> Reference | None:
        """The training data of ``model`` (``name:version``), or ``None`` if unknown."""
        ...


@runtime_checkable
class EventSink(Protocol):
    def emit_event(self, type: str, payload: Mapping[str, Any] | None = None) -> Any:
        """Record an event; the returned object has an ``event_id``."""
        ...


class MonitorsAPI(Protocol):
    """``ws.monitors``: monitors of deployments and their results."""

    def create(
        self,
        deployment: str,
        *,
        name: str | None = None,
        window: str | float = "1h",
        every: str | float | None = None,
        lag: str | float = "5s",
        drift: bool = True,
        quality: bool = True,
        performance: bool = True,
        reference: str = "training",
        categorical: Sequence[str] = (),
        slices: Sequence[str] = (),
        thresholds: DriftThresholds | None = None,
        min_accuracy: float | None = None,
        max_error_rate: float | None = 0.05,
        latency_p99_ms: float | None = None,
        rules: Sequence[AlertRule] | None = None,
        notify: Sequence[Channel] = (),
        retrain: bool = True,
        cooldown: str | float = "1h",
        labels_within: str | float = "7d",
        on_alert: str | None = None,
        replace: bool = False,
    ) -> Monitor:
        """Declare a monitor (``AlreadyExistsError`` if the name is taken, unless
        ``replace``). ``on_alert``: a pipeline (``file.py:name``) that alerts asking for a
        retraining start, through an ``alert.fired`` trigger."""
        ...

    def get(self, name: str) -> Monitor: ...

    def list(
        self, *, deployment: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[Monitor]: ...

    def delete(self, name: str) -> None: ...

    def run(
        self, name: str | None = None, *, now: datetime | None = None
    ) -> builtins.list[RunResult]:
        """Compute every closed window not computed yet, late labels, and alerts, now."""
        ...

    def windows(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Window]: ...

    def results(
        self,
        name: str,
        *,
        metric: str | None = None,
        feature: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 10_000,
    ) -> builtins.list[SeriesPoint]: ...

    def retrains(self, model: str | None = None, limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Retraining decisions, taken and refused, newest first."""
        ...

    def report(
        self,
        name: str,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        path: str | Path | None = None,
    ) -> str:
        """A self-contained HTML report built from the stored profiles."""
        ...


class AlertsAPI(Protocol):
    """``ws.alerts``: alerts of every monitor, acknowledgements and silences."""

    def list(
        self,
        *,
        state: str | None = None,
        monitor: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Alert]: ...

    def get(self, alert_id: str) -> Alert: ...

    def ack(self, alert_id: str, *, by: str | None = None, comment: str = "") -> Alert: ...

    def silence(
        self,
        *,
        monitor: str | None = None,
        deployment: str | None = None,
        rule: str | None = None,
        duration: str | float = "1h",
        by: str | None = None,
        comment: str = "",
    ) -> Silence: ...

    def silences(self, *, active: bool = True) -> builtins.list[Silence]: ...

    def expire_silence(self, silence_id: str) -> None: ...
