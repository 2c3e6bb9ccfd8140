"""Serving: deployments, the inference runtime, prediction logs and rollouts.

ws = pomona.connect()
ws.deployments.create("apples-prod", model="apples@champion", region="eu-west")
ws.deployments.predict("apples-prod", [{"size": 7.1, "red": 0.8}])
ws.deployments.rollout("apples-prod", model="apples:4", strategy=Canary(steps=(5, 25, 50, 100)))
"""

from __future__ import annotations

from pomona.serving._enrich import FeatureHook, FeatureLookup
from pomona.serving.analysis import CanaryMetrics, VariantWindow, Verdict, judge
from pomona.serving.base import DeploymentsAPI
from pomona.serving.errors import DeploymentNotFoundError, OverloadedError
from pomona.serving.host import ModelError, Prediction, ServingHost
from pomona.serving.logger import PredictionLogger
from pomona.serving.logs import load_prediction_logs, read_prediction_logs
from pomona.serving.records import (
    Decision,
    Deployment,
    DeploymentOptions,
    Feedback,
    PredictionLogFile,
    Rollout,
)
from pomona.serving.rollouts import analyse_rollout
from pomona.serving.runtime import ModelRuntime, Preparation, TransformHook
from pomona.serving.service import DeploymentService
from pomona.serving.strategies import ABTest, Canary, Criteria, Shadow, Strategy

__all__ = [
    "ABTest",
    "Canary",
    "CanaryMetrics",
    "Criteria",
    "Decision",
    "Deployment",
    "DeploymentNotFoundError",
    "DeploymentOptions",
    "DeploymentService",
    "DeploymentsAPI",
    "FeatureHook",
    "FeatureLookup",
    "Feedback",
    "ModelError",
    "ModelRuntime",
    "OverloadedError",
    "Prediction",
    "PredictionLogFile",
    "PredictionLogger",
    "Preparation",
    "Rollout",
    "ServingHost",
    "Shadow",
    "Strategy",
    "TransformHook",
    "VariantWindow",
    "Verdict",
    "analyse_rollout",
    "judge",
    "load_prediction_logs",
    "read_prediction_logs",
]
