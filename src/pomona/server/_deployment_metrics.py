"""Prometheus metrics of the serving host, read when ``/metrics`` is scraped: requests and
failed requests per deployment, model version and variant (``primary``, ``canary``,
``shadow``, ``a``, ``b``; kept after a route swap); batches, batch size and queue depth
per loaded model (variant ``primary`` or ``challenger``); the prediction logger's queue and
counters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["DeploymentCollector"]

_LABELS = ["deployment", "model", "variant"]


class DeploymentCollector(Collector):
    """Reads ``app.state.serving`` (the serving host) at each scrape; nothing when absent."""

    def __init__(self, state: Any) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        host = getattr(self._state, "serving", None)
        if host is None:
            return
        requests = CounterMetricFamily(
            "pomona_deployment_requests",
            "Requests answered per deployment, model version and variant.",
            labels=_LABELS,
        )
        errors = CounterMetricFamily(
            "pomona_deployment_errors",
            "Requests the model failed on, per deployment, model version and variant.",
            labels=_LABELS,
        )
        batches = CounterMetricFamily(
            "pomona_deployment_batches", "Model calls (micro-batches).", labels=_LABELS
        )
        batch_size = GaugeMetricFamily(
            "pomona_deployment_batch_size_mean", "Requests per model call.", labels=_LABELS
        )
        queued = GaugeMetricFamily(
            "pomona_deployment_queue_depth", "Requests waiting for the model.", labels=_LABELS
        )
        ready = GaugeMetricFamily(
            "pomona_deployment_ready", "1 when the deployment is loaded.", labels=["deployment"]
        )
        for (name, model, variant), (n, failed) in sorted(host.counts.snapshot().items()):
            requests.add_metric([name, model, variant], float(n))
            errors.add_metric([name, model, variant], float(failed))
        for name, status in host.status().items():
            ready.add_metric([name], 1.0 if status.get("ready") else 0.0)
            for variant, m in (status.get("models") or {}).items():
                labels = [name, str(m.get("model")), variant]
                n, calls = float(m.get("requests", 0)), float(m.get("batches", 0))
                batches.add_metric(labels, calls)
                batch_size.add_metric(labels, n / calls if calls else 0.0)
                queued.add_metric(labels, float(m.get("queued", 0)))
        yield from (requests, errors, batches, batch_size, queued, ready)
        yield from _logger(host)


def _logger(host: Any) -> Iterator[Metric]:
    stats = getattr(getattr(host, "logger", None), "stats", None)
    if stats is None:
        return
    yield GaugeMetricFamily(
        "pomona_prediction_log_queue_rows",
        "Prediction-log rows waiting to be written.",
        value=float(stats.pending_rows),
    )
    for field, help_text in (
        ("rows_written", "Prediction-log rows written."),
        ("rows_dropped", "Prediction-log rows dropped (queue full or store down)."),
        ("write_errors", "Failed prediction-log writes."),
    ):
        yield CounterMetricFamily(
            f"pomona_prediction_log_{field}", help_text, value=float(getattr(stats, field))
        )
