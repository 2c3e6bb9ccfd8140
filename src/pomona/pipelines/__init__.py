"""Pipelines: typed steps, a graph built from calls, cached and crash-safe runs on local,
process or Ray executors, lineage both ways, schedules and event triggers.

    import pomona as pm

    @pm.step
    def load(n: int) -> list[int]:
        return list(range(n))

    @pm.step
    def total(xs: list[int]) -> int:
        return sum(xs)

    @pm.pipeline
    def numbers(n: int = 10) -> None:
        total(load(n))

    run = pm.connect().pipelines.run(numbers, {"n": 5})
"""

from __future__ import annotations

from pomona.pipelines._loader import load_pipeline
from pomona.pipelines._params import load_params_file, parse_param_pairs
from pomona.pipelines._sql_store import SqlPipelineStore
from pomona.pipelines.base import PipelineStore
from pomona.pipelines.context import StepContext, step_context
from pomona.pipelines.decorators import Pipeline, Step, StepOptions, code_ref, pipeline, step
from pomona.pipelines.materializers import (
    BytesMaterializer,
    JsonMaterializer,
    Materializer,
    NumpyMaterializer,
    ParquetMaterializer,
    PickleMaterializer,
    get_materializer,
    materializer_for,
    register_materializer,
    type_name,
)
from pomona.pipelines.records import (
    ArtifactLink,
    Event,
    LineageEdge,
    LineageGraph,
    LineageNode,
    PipelineRun,
    PipelineRunNotFoundError,
    PipelineSummary,
    RunState,
    Schedule,
    ScheduleNotFoundError,
    StepRun,
    StepState,
)
from pomona.pipelines.scheduler import Scheduler
from pomona.pipelines.service import PipelineService

__all__ = [
    "ArtifactLink",
    "BytesMaterializer",
    "Event",
    "JsonMaterializer",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "Materializer",
    "NumpyMaterializer",
    "ParquetMaterializer",
    "PickleMaterializer",
    "Pipeline",
    "PipelineRun",
    "PipelineRunNotFoundError",
    "PipelineService",
    "PipelineStore",
    "PipelineSummary",
    "RunState",
    "Schedule",
    "ScheduleNotFoundError",
    "Scheduler",
    "SqlPipelineStore",
    "Step",
    "StepContext",
    "StepOptions",
    "StepRun",
    "StepState",
    "code_ref",
    "get_materializer",
    "load_params_file",
    "load_pipeline",
    "materializer_for",
    "parse_param_pairs",
    "pipeline",
    "register_materializer",
    "step",
    "step_context",
    "type_name",
]
