"""Monitoring: drift of live data against a reference."""

from __future__ import annotations

from pomona.monitoring.drift import (
    DriftDetector,
    DriftReport,
    DriftThresholds,
    FeatureDrift,
    holm,
)

__all__ = ["DriftDetector", "DriftReport", "DriftThresholds", "FeatureDrift", "holm"]
