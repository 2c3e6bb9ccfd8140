"""Monitoring: drift, data quality and performance of deployments over windows of their
prediction logs; alerts with notifications; and the retraining loop.

ws = pomona.connect()
ws.monitors.create("apples-prod", window="1h", min_accuracy=0.8,
                   notify=[Webhook("https://hooks.example/…")], on_alert="pipelines.py:retrain")
ws.monitors.run()                   # compute the windows closed since the last run
ws.alerts.list(state="firing")
"""

from __future__ import annotations

from pomona.monitoring.base import (
    AlertsAPI,
    EventSink,
    MonitorsAPI,
    Reference,
    ReferenceProvider,
)
from pomona.monitoring.drift import (
    DriftDetector,
    DriftReport,
    DriftThresholds,
    FeatureDrift,
    holm,
)
from pomona.monitoring.embeddings import MmdResult, mmd_test
from pomona.monitoring.errors import (
    AlertNotFoundError,
    MonitorNotFoundError,
    SilenceNotFoundError,
)
from pomona.monitoring.notify import Email, Log, Notification, Webhook
from pomona.monitoring.records import Alert, Monitor, RunResult, SeriesPoint, Silence, Window
from pomona.monitoring.report import build_report
from pomona.monitoring.rules import AlertRule, default_rules, parse_duration
from pomona.monitoring.runner import MonitorRunner
from pomona.monitoring.service import AlertService, MonitoringService

__all__ = [
    "Alert",
    "AlertNotFoundError",
    "AlertRule",
    "AlertService",
    "AlertsAPI",
    "DriftDetector",
    "DriftReport",
    "DriftThresholds",
    "Email",
    "EventSink",
    "FeatureDrift",
    "Log",
    "MmdResult",
    "Monitor",
    "MonitorNotFoundError",
    "MonitorRunner",
    "MonitoringService",
    "MonitorsAPI",
    "Notification",
    "Reference",
    "ReferenceProvider",
    "RunResult",
    "SeriesPoint",
    "Silence",
    "SilenceNotFoundError",
    "Webhook",
    "Window",
    "build_report",
    "default_rules",
    "holm",
    "mmd_test",
    "parse_duration",
]
