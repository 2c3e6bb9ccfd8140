"""Running pipelines on memory stores: caching, retries, failures, outputs, context."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import pomona as pm
from pomona.artifacts import MemoryArtifactStore
from pomona.errors import InvalidInputError, NotFoundError
from pomona.metadata import open_metadata_store
from pomona.pipelines import (
    PipelineService,
    RunState,
    SqlPipelineStore,
    StepState,
    load_pipeline,
)

CALLS: list[str] = []


@pytest.fixture
def service() -> Iterator[PipelineService]:
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    svc = PipelineService(SqlPipelineStore(metadata), MemoryArtifactStore())
    CALLS.clear()
    yield svc
    svc.close()
    metadata.close()


@pm.step
def source(n: int) -> list[int]:
    CALLS.append("source")
    print(f"making {n} numbers")
    return list(range(n))


@pm.step
def doubled(xs: list[int]) -> list[int]:
    CALLS.append("doubled")
    return [2 * x for x in xs]


@pm.step
def summed(xs: list[int]) -> int:
    CALLS.append("summed")
    return sum(xs)


@pm.step
def other(n: int) -> int:
    CALLS.append("other")
    return n * 10


@pm.pipeline
def arithmetic(n: int = 4) -> None:
    summed(doubled(source(n)))
    other(n)


def test_a_run_records_every_step_and_its_outputs(service: PipelineService) -> None:
    run = service.run(arithmetic, {"n": 4})
    assert run.state is RunState.SUCCEEDED
    assert [s.name for s in run.steps] == ["source", "doubled", "summed", "other"]
    assert all(s.state is StepState.SUCCEEDED and s.attempt == 1 for s in run.steps)
    assert service.load_output(run.run_id, "summed") == 12
    assert service.load_output(run.run_id, "other") == 40
    summed_step = run.step("summed")
    assert summed_step.inputs[0].digest == run.step("doubled").output().digest
    assert summed_step.upstream == ("doubled",)
    assert run.ended_at is not None and run.ended_at >= run.started_at
    assert "making 4 numbers" in service.read_logs(run.run_id, "source")


def test_a_second_run_reuses_every_step(service: PipelineService) -> None:
    first = service.run(arithmetic, {"n": 4})
    CALLS.clear()
    second = service.run(arithmetic, {"n": 4})
    assert CALLS == []
    assert all(s.cache_hit for s in second.steps)
    assert [s.output().digest for s in second.steps] == [s.output().digest for s in first.steps]


def test_a_changed_parameter_reruns_only_the_steps_it_reaches(service: PipelineService) -> None:
    service.run(arithmetic, {"n": 4})
    CALLS.clear()
    service.run(arithmetic, {"n": 5})
    assert sorted(CALLS) == ["doubled", "other", "source", "summed"]
    CALLS.clear()
    service.run(arithmetic, {"n": 5})
    assert CALLS == []


def test_no_cache_per_run_and_per_step(service: PipelineService) -> None:
    service.run(arithmetic)
    CALLS.clear()
    service.run(arithmetic, no_cache=True)
    assert sorted(CALLS) == ["doubled", "other", "source", "summed"]
    CALLS.clear()
    run = service.run(arithmetic, no_cache_steps=["doubled"])
    assert CALLS == ["doubled"]
    assert [s.cache_hit for s in run.steps] == [True, False, True, True]
    with pytest.raises(InvalidInputError, match="has no step 'nope'"):
        service.run(arithmetic, no_cache_steps=["nope"])


def _pipeline_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "flow.py"
    path.write_text(
        "from __future__ import annotations\nimport pomona as pm\n\n"
        "@pm.step\ndef a(n: int) -> int:\n    return n + 1\n\n"
        f"@pm.step\ndef b(x: int) -> int:\n    return {body}\n\n"
        "@pm.step\ndef c(x: int) -> int:\n    return x * 3\n\n"
        "@pm.step\ndef d(n: int) -> int:\n    return n - 1\n\n"
        "@pm.pipeline\ndef flow(n: int = 1) -> None:\n    c(b(a(n)))\n    d(n)\n"
    )
    return path


def test_changing_one_steps_code_reruns_it_and_its_dependants_only(
    service: PipelineService, tmp_path: Path
) -> None:
    first = service.run(load_pipeline(f"{_pipeline_file(tmp_path, 'x * 2')}:flow"))
    assert not any(s.cache_hit for s in first.steps)
    second = service.run(load_pipeline(f"{_pipeline_file(tmp_path, 'x * 5')}:flow"))
    hits = {s.name: s.cache_hit for s in second.steps}
    assert hits == {"a": True, "b": False, "c": False, "d": True}
    assert service.load_output(second.run_id, "c") == (1 + 1) * 5 * 3
    # the same output from edited code: its dependants are reused (inputs are content digests)
    third = service.run(load_pipeline(f"{_pipeline_file(tmp_path, 'x * 4 + x')}:flow"))
    hits = {s.name: s.cache_hit for s in third.steps}
    assert hits == {"a": True, "b": False, "c": True, "d": True}


ATTEMPTS: dict[str, int] = {}


@pm.step(retries=2, retry_delay_s=0.01, retry_backoff=2.0)
def flaky(n: int) -> int:
    ctx = pm.step_context()
    ATTEMPTS[ctx.run_id] = ctx.attempt
    if ctx.attempt < 3:
        raise ConnectionError(f"try {ctx.attempt} failed")
    return n


@pm.step(retries=1, retry_delay_s=0.01)
def broken(n: int) -> int:
    raise ValueError(f"bad value {n}")


@pm.pipeline
def with_retries() -> None:
    summed(doubled(source(flaky(3))))


@pm.pipeline
def with_failure() -> None:
    summed(doubled(source(broken(3))))
    other(2)


def test_a_step_is_retried_with_backoff_until_it_succeeds(service: PipelineService) -> None:
    run = service.run(with_retries)
    assert run.state is RunState.SUCCEEDED
    assert run.step("flaky").attempt == 3
    assert ATTEMPTS[run.run_id] == 3
    assert run.step("flaky").error is None


def test_a_failed_step_skips_its_dependants_and_keeps_its_traceback(
    service: PipelineService,
) -> None:
    run = service.run(with_failure)
    assert run.state is RunState.FAILED
    states = {s.name: s.state for s in run.steps}
    assert states == {
        "broken": StepState.FAILED,
        "source": StepState.SKIPPED,
        "doubled": StepState.SKIPPED,
        "summed": StepState.SKIPPED,
        "other": StepState.SUCCEEDED,
    }
    failed = run.step("broken")
    assert failed.attempt == 2
    assert failed.error == "ValueError: bad value 3"
    assert failed.traceback is not None and 'raise ValueError(f"bad value {n}")' in failed.traceback
    assert run.error is not None and run.error.startswith("Step 'broken' failed: ValueError")
    assert run.step("summed").error == "Skipped: step 'broken' failed."


@pm.step(timeout_s=0.2)
def sleepy() -> int:
    time.sleep(1.5)
    return 1


@pm.pipeline
def too_slow() -> None:
    sleepy()


def test_a_step_past_its_timeout_fails(service: PipelineService) -> None:
    run = service.run(too_slow)
    assert run.state is RunState.FAILED
    assert "did not finish within its timeout of 0.2 s" in (run.step("sleepy").error or "")


@pm.step
def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n), "b": [f"x{i}" for i in range(n)]})


@pm.step
def array(df: pd.DataFrame) -> np.ndarray:
    return df["a"].to_numpy() * 1.5


@pm.step
def stats(arr: np.ndarray) -> dict[str, Any]:
    return {"mean": float(arr.mean()), "n": int(arr.size)}


@pm.step
def blob(s: dict[str, Any]) -> bytes:
    return repr(sorted(s.items())).encode()


@pm.pipeline
def typed(n: int = 4) -> None:
    blob(stats(array(frame(n))))


def test_values_are_stored_in_safe_formats_by_type(service: PipelineService) -> None:
    run = service.run(typed)
    kinds = {s.name: s.output().materializer for s in run.steps}
    assert kinds == {"frame": "parquet", "array": "npy", "stats": "json", "blob": "bytes"}
    df = service.load_output(run.run_id, "frame")
    assert list(df["b"]) == ["x0", "x1", "x2", "x3"]
    assert service.load_output(run.run_id, "array").tolist() == [0.0, 1.5, 3.0, 4.5]
    assert service.load_output(run.run_id, "stats") == {"mean": 2.25, "n": 4}
    assert service.load_output(run.run_id, "blob") == b"[('mean', 2.25), ('n', 4)]"


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


@pm.step
def opaque() -> Opaque:
    return Opaque(7)


@pm.step(pickle=True)
def pickled() -> Opaque:
    return Opaque(8)


@pm.step
def unwrap(o: Opaque) -> int:
    return o.value


@pm.pipeline
def no_format() -> None:
    opaque()


@pm.pipeline
def opted_in() -> None:
    unwrap(pickled())


def test_pickle_only_with_an_explicit_opt_in(service: PipelineService) -> None:
    refused = service.run(no_format)
    assert refused.state is RunState.FAILED
    assert "no materializer stores" in (refused.step("opaque").error or "")
    allowed = service.run(opted_in)
    assert allowed.state is RunState.SUCCEEDED
    assert allowed.step("pickled").output().materializer == "pickle"
    assert service.load_output(allowed.run_id, "unwrap") == 8


@pm.step(outputs=("train", "test"))
def split_it(xs: list[int]) -> tuple[list[int], list[int]]:
    return xs[:3], xs[3:]


@pm.pipeline
def splitting() -> None:
    train, test = split_it(source(5))
    summed(train)
    summed(test)


def test_several_outputs_are_stored_separately(service: PipelineService) -> None:
    run = service.run(splitting)
    assert sorted(o.name for o in run.step("split_it").outputs) == ["test", "train"]
    assert service.load_output(run.run_id, "summed") == 3
    assert service.load_output(run.run_id, "summed_2") == 7
    assert service.load_output(run.run_id, "split_it", "test") == [3, 4]
    with pytest.raises(NotFoundError, match="has no output 'output'"):
        run.step("split_it").output()


@pm.step
def introspect(n: int) -> dict[str, Any]:
    ctx = pm.step_context()
    return {"step": ctx.step, "pipeline": ctx.pipeline, "params": ctx.params}


@pm.pipeline
def contextual() -> None:
    introspect(3)


def test_a_step_sees_its_context_and_nothing_outside_one(service: PipelineService) -> None:
    run = service.run(contextual)
    assert service.load_output(run.run_id, "introspect") == {
        "step": "introspect",
        "pipeline": "contextual",
        "params": {"n": 3},
    }
    with pytest.raises(InvalidInputError, match="outside a pipeline step"):
        pm.step_context()


def test_out_of_process_executors_need_a_shareable_store(service: PipelineService) -> None:
    with pytest.raises(InvalidInputError, match="'process' executor runs steps in other"):
        service.run(arithmetic, executor="process")


def test_bad_parameters_fail_before_a_run_is_recorded(service: PipelineService) -> None:
    with pytest.raises(InvalidInputError, match="no parameter 'm'"):
        service.run(arithmetic, {"m": 1})
    assert service.list_runs().total == 0
