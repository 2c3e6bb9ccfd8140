"""``pomona run``, ``pomona pipelines …`` and ``pomona scheduler``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pomona.cli._pipelines_schedules import register as _register_schedules
from pomona.cli._render import cell, err_console, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, WorkspaceOption, open_workspace
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.text import Text

    from pomona.pipelines import PipelineRun, PipelineService, StepRun

__all__ = ["find_pipeline_run", "pipelines_app", "run", "scheduler"]

pipelines_app = typer.Typer(
    help="Pipelines: their runs, steps, lineage, schedules and events.", no_args_is_help=True
)
_register_schedules(pipelines_app)

_STATE_STYLE = {
    "running": "cyan",
    "succeeded": "green",
    "failed": "red",
    "dead": "magenta",
    "skipped": "yellow",
    "pending": "dim",
}
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", metavar="KEY=VALUE", help="A pipeline parameter; repeat."),
]


def _state(value: str, cached: bool = False) -> Text:
    return cell("cached" if cached else value, _STATE_STYLE.get(value, ""))


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.1f}s"


def find_pipeline_run(service: PipelineService, text: str) -> PipelineRun:
    """The run with this id, or the only recent one whose id starts with ``text``."""
    from pomona.pipelines import PipelineRunNotFoundError

    key = text.strip().lower()
    if len(key) == 32:
        return service.get_run(key)
    token = None
    found: list[str] = []
    for _ in range(20):
        page = service.list_runs(limit=500, page_token=token)
        found += [r.run_id for r in page.items if r.run_id.startswith(key)]
        token = page.next_page_token
        if token is None or len(found) > 1:
            break
    if not key or not found:
        raise PipelineRunNotFoundError(text)
    if len(found) > 1:
        raise InvalidInputError(
            f"More than one pipeline run id starts with '{text}'.",
            hint="Give more characters of the id ('pomona pipelines runs' shows them).",
            details={"field": "run_id"},
        )
    return service.get_run(found[0])


def print_run(run: PipelineRun, *, logs: dict[str, str] | None = None) -> None:
    """The run's header, its steps, and each failed step's error with its traceback."""
    console = out()
    console.print(
        f"Pipeline run {run.run_id} of '{run.pipeline}': ", _state(run.state.value), sep=""
    )
    console.print(
        f"{run.trigger} · executor {run.executor} · {_seconds(run.duration_s)}",
        style="dim",
        markup=False,
    )
    t = table("Step", "State", "Try>", "Duration>", "Outputs")
    for s in run.steps:
        outputs = ", ".join(f"{o.name}={o.digest[7:19]}" for o in s.outputs)
        t.add_row(
            cell(s.name),
            _state(s.state.value, s.cache_hit),
            cell(s.attempt or "—"),
            cell(_seconds(s.duration_s)),
            cell(outputs or "—"),
        )
    console.print(t)
    for s in run.steps:
        if s.state.value in ("failed", "dead") and s.error:
            _print_failure(s)
        if logs and logs.get(s.name):
            console.print(f"--- logs of {s.name} ---", style="bold", markup=False)
            console.print(logs[s.name].rstrip(), markup=False, highlight=False)


def _print_failure(step: StepRun) -> None:
    console = err_console()
    console.print(f"Step '{step.name}' failed: {step.error}", style="red", markup=False)
    if step.traceback:
        console.print(step.traceback.rstrip(), markup=False, highlight=False)


def run(
    target: Annotated[
        str, typer.Argument(help="FILE.py:NAME or package.module:NAME of a @pipeline.")
    ],
    param: ParamOption = None,
    params_file: Annotated[
        Path | None, typer.Option("--params-file", help="A YAML file of parameters.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every step, reusing nothing.")
    ] = False,
    no_cache_step: Annotated[
        list[str] | None,
        typer.Option("--no-cache-step", metavar="STEP", help="Run this step even if cached."),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            "--executor", "-e", help="local, process, ray or ray://host:port (default: config)."
        ),
    ] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a pipeline; steps whose code, parameters and inputs are unchanged are reused.

    Exits 1 if a step failed, after printing the failure with its traceback.
    """
    from pomona.pipelines import _json, parse_param_pairs

    params = parse_param_pairs(param or [])
    with open_workspace(workspace) as ws:
        result = ws.pipelines.run(
            target,
            params,
            params_file=params_file,
            executor=executor,
            no_cache=no_cache,
            no_cache_steps=no_cache_step or (),
        )
    if as_json:
        print_json(_json.run_to_json(result))
    else:
        print_run(result)
    if result.state.value != "succeeded":
        raise typer.Exit(1)


@pipelines_app.command("list")
def list_pipelines(workspace: RemoteWorkspaceOption = None, as_json: JsonOption = False) -> None:
    """Pipelines that have runs, with their latest run."""
    from pomona.pipelines import _json

    with open_workspace(workspace) as ws:
        items = ws.pipelines.list_pipelines()
    if as_json:
        print_json([_json.summary_to_json(s) for s in items])
        return
    if not items:
        out().print("No pipeline has run yet. Try: pomona run FILE.py:NAME", markup=False)
        return
    t = table("Pipeline", "Runs>", "Last run", "State", "Started")
    for s in items:
        t.add_row(
            cell(s.name),
            cell(s.runs),
            cell(s.last_run_id[:8], "cyan"),
            _state(s.last_state.value),
            cell(s.last_started_at.astimezone().strftime("%m-%d %H:%M")),
        )
    out().print(t)


@pipelines_app.command("runs")
def list_runs(
    pipeline: Annotated[str | None, typer.Argument(help="Only runs of this pipeline.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Only runs in this state.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 30,
    page_token: Annotated[str | None, typer.Option("--page-token")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pipeline runs, newest first."""
    from pomona.pipelines import _json

    with open_workspace(workspace) as ws:
        page = ws.pipelines.list_runs(pipeline, state=state, limit=limit, page_token=page_token)
    if as_json:
        print_json({"items": [_json.run_to_json(r) for r in page.items], "total": page.total,
                    "next_page_token": page.next_page_token})  # fmt: skip
        return
    t = table("ID", "Pipeline", "State", "Trigger", "Started", "Duration>")
    for r in page.items:
        t.add_row(
            cell(r.run_id[:8], "cyan"),
            cell(r.pipeline),
            _state(r.state.value),
            cell(r.trigger),
            cell(r.started_at.astimezone().strftime("%m-%d %H:%M:%S")),
            cell(_seconds(r.duration_s)),
        )
    out().print(t)
    out().print(f"{len(page.items)} of {page.total} runs", style="dim", markup=False)
    if page.next_page_token:
        out().print(f"More: --page-token {page.next_page_token}", style="dim", markup=False)


@pipelines_app.command("show")
def show(
    run_id: Annotated[str, typer.Argument(help="Pipeline run id, or its first characters.")],
    logs: Annotated[bool, typer.Option("--logs", help="Print what each step printed.")] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """A run's steps: state, tries, duration, cache hits, outputs; errors with tracebacks."""
    from pomona.pipelines import _json

    with open_workspace(workspace) as ws:
        found = find_pipeline_run(ws.pipelines, run_id)
        texts = (
            {s.name: ws.pipelines.read_logs(found.run_id, s.name) for s in found.steps}
            if (logs)
            else None
        )
    if as_json:
        data = _json.run_to_json(found)
        if texts is not None:
            data["logs"] = texts
        print_json(data)
        return
    print_run(found, logs=texts)


@pipelines_app.command("retry")
def retry(
    run_id: Annotated[str, typer.Argument(help="Pipeline run id, or its first characters.")],
    executor: Annotated[str | None, typer.Option("--executor", "-e")] = None,
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Run a failed (or dead) run again: steps that succeeded are reused from the cache."""
    with open_workspace(workspace) as ws:
        old = find_pipeline_run(ws.pipelines, run_id)
        result = ws.pipelines.retry(old.run_id, executor=executor)
    print_run(result)
    if result.state.value != "succeeded":
        raise typer.Exit(1)


@pipelines_app.command("lineage")
def lineage(
    digest: Annotated[str, typer.Argument(help="An artifact digest (sha256:…).")],
    down: Annotated[
        bool, typer.Option("--down", help="What was made from it (default: what made it).")
    ] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """What data, code and parameters produced an artifact, or what was made from it."""
    from pomona.pipelines import _json

    with open_workspace(workspace) as ws:
        graph = ws.pipelines.downstream(digest) if down else ws.pipelines.upstream(digest)
    if as_json:
        print_json(_json.lineage_to_json(graph))
        return
    t = table("Step run", "Code", "Params", "Inputs", "Outputs")
    for node in graph.steps():
        ins = [e.source[9:28] for e in graph.edges if e.target == node.id]
        outs = [e.target[9:28] for e in graph.edges if e.source == node.id]
        a = node.attrs
        t.add_row(
            cell(f"{a['run_id'][:8]}/{a['name']}"),
            cell(f"{a['step'].split('@')[0]} {str(a['code_hash'])[7:15]}"),
            cell(a["params"] or "—"),
            cell(", ".join(ins) or "—"),
            cell(", ".join(outs) or "—"),
        )
    what = "made from" if down else "that produced"
    out().print(f"Step runs {what} {graph.root}:", markup=False)
    out().print(t)


def scheduler(
    poll: Annotated[
        float | None, typer.Option("--poll", help="Seconds between looks (default: config).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Run scheduled and event-triggered pipelines until Ctrl-C.

    Several schedulers may share a workspace: each tick and event runs once.
    """
    from pomona.cli._shared import local_workspace
    from pomona.client._pipelines import pipeline_sources
    from pomona.pipelines import Scheduler

    root = local_workspace(workspace, command="scheduler")
    with open_workspace(str(root)) as ws:
        poll_s = poll or ws.settings.pipelines.scheduler_poll_s
        s = Scheduler(ws.pipelines, poll_s=poll_s, sources=pipeline_sources(ws.settings))
        out().print(f"Scheduler {s.owner} on {root}; Ctrl-C stops it.", markup=False)
        out().file.flush()
        try:
            s.serve_forever()
        except KeyboardInterrupt:
            out().print("Stopped.", markup=False)
