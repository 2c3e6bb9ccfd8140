"""Training: model specs, baselines, evaluation, feature selection, tuning, promotion gates.

Use it through the workspace: ``ws.train``, ``ws.tune``, ``ws.evaluate``,
``ws.select_features`` and ``ws.models.promote``.
"""

from __future__ import annotations

from pomona.training._data import Split, TrainingData, prepare_data
from pomona.training.base import Tracker
from pomona.training.evaluation import EvaluationReport, evaluate
from pomona.training.gates import GatePolicy, GateReport, PromotionRefusedError, Target, promote
from pomona.training.importance import (
    FeatureImportance,
    SelectionResult,
    feature_importance,
    select_features,
)
from pomona.training.journal import StudyJournal, StudyJournalAPI
from pomona.training.specs import ModelSpec, lightgbm, sklearn, torch
from pomona.training.train import TrainResult, train
from pomona.training.tuning import StudyResult, tune

__all__ = [
    "EvaluationReport",
    "FeatureImportance",
    "GatePolicy",
    "GateReport",
    "ModelSpec",
    "PromotionRefusedError",
    "SelectionResult",
    "Split",
    "StudyJournal",
    "StudyJournalAPI",
    "StudyResult",
    "Target",
    "Tracker",
    "TrainResult",
    "TrainingData",
    "evaluate",
    "feature_importance",
    "lightgbm",
    "prepare_data",
    "promote",
    "select_features",
    "sklearn",
    "torch",
    "train",
    "tune",
]
