"""Experiment tracking: runs with params, metrics, tags and artifacts."""

from __future__ import annotations

from pomona.tracking.base import TrackingAPI
from pomona.tracking.service import TrackingService

__all__ = ["TrackingAPI", "TrackingService"]
