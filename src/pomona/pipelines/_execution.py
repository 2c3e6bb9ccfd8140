"""The mutable state of one run while its steps execute: what is ready, cached, in flight,
waiting to be retried, failed or skipped."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, wait
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pomona.errors import PomonaError
from pomona.executors.base import Task
from pomona.pipelines._graph import Node
from pomona.pipelines._hashing import cache_key
from pomona.pipelines.base import StepBatchStore
from pomona.pipelines.records import ArtifactLink, RunState, StepRun, StepState
from pomona.types import Digest

if TYPE_CHECKING:
    from pomona.pipelines._runner import Runner, RunRequest

__all__ = ["ENTRY", "Execution"]

ENTRY = "pomona.pipelines._worker:execute"


def _now() -> datetime:
    return datetime.now(UTC)


class Execution:
    """The mutable state of one run while its steps execute."""

    def __init__(self, runner: Runner, req: RunRequest, base: dict[str, StepRun]) -> None:
        self.r = runner
        self.req = req
        self.base = base
        self.state = {name: StepState.PENDING for name in base}
        self.outputs: dict[str, dict[str, ArtifactLink]] = {}
        self.attempts: dict[str, int] = defaultdict(int)
        self.flight: dict[Future[Any], tuple[Node, StepRun]] = {}
        self.waiting: dict[str, tuple[float, Node, StepRun]] = {}
        self.failures: list[StepRun] = []
        self.unwritten: list[StepRun] = []

    def loop(self) -> tuple[RunState, str | None]:
        while True:
            self._start_ready()
            if not self.flight and not self.waiting:
                break
            now = time.monotonic()
            timeout = (
                max(0.0, min(w[0] for w in self.waiting.values()) - now) if self.waiting else None
            )
            self._flush()
            done, _ = wait(list(self.flight), timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                self._finish(future)
        self._flush()
        if all(s is StepState.SUCCEEDED for s in self.state.values()):
            return RunState.SUCCEEDED, None
        first = self.failures[0] if self.failures else None
        what = f"Step '{first.name}' failed: {first.error}" if first else "Steps did not finish."
        more = len(self.failures) - 1
        return RunState.FAILED, what + (f" ({more} more step(s) failed.)" if more > 0 else "")

    def cancel(self) -> None:
        for future in self.flight:
            future.cancel()
        with contextlib.suppress(PomonaError):
            self._flush()

    def _record(self, rec: StepRun) -> None:
        """Queue a step record; ``_flush`` writes the queue in one transaction (a step's end
        and the next step's start, or a chain of cache hits, cost one write)."""
        self.unwritten.append(rec)

    def _flush(self) -> None:
        records, self.unwritten = self.unwritten, []
        store = self.r.store
        if isinstance(store, StepBatchStore):
            store.record_steps(records)
            return
        for rec in records:
            store.record_step(rec)

    def _start_ready(self) -> None:
        now = time.monotonic()
        for name, (at, node, rec) in list(self.waiting.items()):
            if at <= now:
                del self.waiting[name]
                self._submit(node, rec)
        progressed = True
        while progressed:
            progressed = False
            for node in self.req.dag.nodes:
                if self.state[node.name] is StepState.PENDING and all(
                    self.state[u] is StepState.SUCCEEDED for u in node.upstream
                ):
                    self._start(node)
                    progressed = True

    def _inputs(self, node: Node) -> tuple[ArtifactLink, ...]:
        return tuple(
            dataclasses.replace(self.outputs[out.node][out.output], name=param)
            for param, out in node.inputs.items()
        )

    def _start(self, node: Node) -> None:
        inputs = self._inputs(node)
        opts = node.step.options
        key = cache_key(
            node.step.code_hash,
            node.params,
            {link.name: link.digest for link in inputs},
            opts.outputs,
            opts.pickle,
        )
        rec = dataclasses.replace(self.base[node.name], cache_key=key, inputs=inputs)
        use_cache = (
            opts.cache and not self.req.no_cache and node.name not in self.req.no_cache_steps
        )
        hit = self.r.store.find_cached(key) if use_cache else None
        if hit is not None and self._usable(hit, opts.outputs, opts.pickle):
            now = _now()
            done = dataclasses.replace(
                rec,
                state=StepState.SUCCEEDED,
                cache_hit=True,
                started_at=now,
                ended_at=now,
                outputs=hit.outputs,
                logs_digest=hit.logs_digest,
            )
            self._record(done)
            self._succeeded(node.name, done)
            return
        self._submit(node, rec)

    def _usable(self, hit: StepRun, outputs: tuple[str, ...], pickle: bool) -> bool:
        if not pickle and any(o.materializer == "pickle" for o in hit.outputs):
            return False  # this step never writes pickles: a record that does is not its own
        names = {o.name for o in hit.outputs}
        return names == set(outputs) and all(self.r.artifacts.exists(o.digest) for o in hit.outputs)

    def _submit(self, node: Node, rec: StepRun) -> None:
        self.attempts[node.name] += 1
        attempt = self.attempts[node.name]
        rec = dataclasses.replace(rec, state=StepState.RUNNING, attempt=attempt, started_at=_now())
        self._record(rec)
        self._flush()  # recorded as running before it runs (a crash marks it dead)
        self.state[node.name] = StepState.RUNNING
        opts = node.step.options
        task = Task(
            task_id=f"{self.req.run_id[:8]}-{node.name}-{attempt}",
            entry=ENTRY,
            payload=self._payload(node, rec, attempt),
            resources=opts.resources,
            timeout_s=opts.timeout_s,
        )
        try:
            future = self.r.executor.submit(task)
        except PomonaError as exc:
            future = Future()
            future.set_exception(exc)
        self.flight[future] = (node, rec)

    def _payload(self, node: Node, rec: StepRun, attempt: int) -> dict[str, Any]:
        return {
            "run_id": self.req.run_id,
            "pipeline": self.req.pipeline,
            "name": node.name,
            "attempt": attempt,
            "step": node.step.ref,
            "params": node.params,
            "inputs": {
                link.name: {
                    "digest": link.digest,
                    "materializer": link.materializer,
                    "size": link.size,
                }
                for link in rec.inputs
            },
            "outputs": list(node.step.outputs),
            "pickle": node.step.options.pickle,
            "store": self.r._worker_store,
            "workspace": self.r._workspace,
            "sys_path": [] if self.r.executor.in_process else list(sys.path),
        }

    def _finish(self, future: Future[Any]) -> None:
        node, rec = self.flight.pop(future)
        result = _result_of(future)
        logs = result.get("logs")
        if result.get("ok"):
            outputs = tuple(_link(o) for o in result["outputs"])
            done = dataclasses.replace(
                rec,
                state=StepState.SUCCEEDED,
                ended_at=_now(),
                outputs=outputs,
                logs_digest=Digest(logs) if logs else None,
                error=None,
                traceback=None,
            )
            self._record(done)
            self._succeeded(node.name, done)
            return
        opts = node.step.options
        failed = dataclasses.replace(
            rec,
            error=str(result.get("error")),
            traceback=result.get("traceback") or None,
            logs_digest=Digest(logs) if logs else None,
        )
        attempt = self.attempts[node.name]
        if attempt <= opts.retries:
            delay = opts.retry_delay_s * opts.retry_backoff ** (attempt - 1)
            self._record(failed)
            self.waiting[node.name] = (time.monotonic() + delay, node, failed)
            return
        failed = dataclasses.replace(failed, state=StepState.FAILED, ended_at=_now())
        self._record(failed)
        self.state[node.name] = StepState.FAILED
        self.failures.append(failed)
        self._skip_dependants(node.name)

    def _succeeded(self, name: str, rec: StepRun) -> None:
        self.state[name] = StepState.SUCCEEDED
        self.outputs[name] = {o.name: o for o in rec.outputs}

    def _skip_dependants(self, name: str) -> None:
        for dep in self.req.dag.dependants(name):
            if self.state[dep] is StepState.PENDING:
                self.state[dep] = StepState.SKIPPED
                skipped = dataclasses.replace(
                    self.base[dep], state=StepState.SKIPPED, error=f"Skipped: step '{name}' failed."
                )
                self._record(skipped)


def _result_of(future: Future[Any]) -> Mapping[str, Any]:
    try:
        result = future.result()
    except PomonaError as exc:
        trace = exc.details.get("traceback") if isinstance(exc.details, dict) else None
        return {"ok": False, "error": exc.message, "traceback": trace or ""}
    except Exception as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": ""}
    if not isinstance(result, Mapping):
        return {"ok": False, "error": f"The worker answered {result!r}.", "traceback": ""}
    return result


def _link(data: Mapping[str, Any]) -> ArtifactLink:
    return ArtifactLink(
        name=data["name"],
        digest=Digest(data["digest"]),
        materializer=data["materializer"],
        type_name=data["type_name"],
        size=int(data["size"]),
    )
