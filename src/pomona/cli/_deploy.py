"""``pomona deploy``: deployments, rollouts and exports; ``pomona predict-batch``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.cli._render import cell, fmt_time, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import ConfigError, InvalidInputError

if TYPE_CHECKING:
    from pomona.serving.records import Deployment
    from pomona.serving.strategies import Strategy

__all__ = ["deploy_app", "predict_batch"]

deploy_app = typer.Typer(
    help="Deployments across environments and regions: create, roll out, promote, export.",
    no_args_is_help=True,
)
Name = Annotated[str, typer.Argument(help="The deployment's name.", show_default=False)]
Actor = Annotated[str | None, typer.Option("--actor", help="Who acts (default: the OS user).")]
Reason = Annotated[str, typer.Option("--reason", help="Why; kept with the decision.")]


def _row(dep: Deployment) -> list[Any]:
    rollout = dep.rollout
    what = "-"
    if rollout is not None:
        served = dep.served.get("challenger", rollout.challenger)
        what = f"{rollout.strategy.name} {served} {rollout.weight}% ({rollout.state})"
    return [dep.name, dep.environment, dep.region, dep.model, dep.served.get("model", "?"), what]


@deploy_app.command("create")
def create(
    name: Name,
    model: Annotated[str, typer.Option("--model", "-m", help="apples@champion or apples:3.")],
    environment: Annotated[str, typer.Option("--env", help="Environment.")] = "production",
    region: Annotated[str, typer.Option("--region", help="Region.")] = "default",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="KEY=VALUE, e.g. logging=sync, max_batch_size=32, feature_service=grader.",
        ),
    ] = None,
    actor: Actor = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Serve a model as a new deployment (every server of the workspace picks it up)."""
    with open_workspace(workspace) as ws:
        dep = ws.deployments.create(
            name,
            model=model,
            environment=environment,
            region=region,
            options=_options(option),
            actor=actor,
        )
    _show(dep, as_json)


@deploy_app.command("update")
def update_deployment(
    name: Name,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Serve this model instead (no rollout).")
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-o", help="KEY=VALUE to change; feature_service= (empty) turns it off."
        ),
    ] = None,
    actor: Actor = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a deployment's options or model (recorded as a decision)."""
    with open_workspace(workspace) as ws:
        dep = ws.deployments.update(name, model=model, options=_options(option), actor=actor)
    _show(dep, as_json)


def _options(pairs: list[str] | None) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep:
            raise InvalidInputError(f"'{pair}' is not KEY=VALUE.", details={"field": "option"})
        options[key] = int(value) if value.isdigit() else value
    return options


@deploy_app.command("list")
def list_(
    environment: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Only this region.")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every deployment with the versions it serves, across environments and regions."""
    with open_workspace(workspace) as ws:
        items: list[Deployment] = []
        token: str | None = None
        while True:
            page = ws.deployments.list(environment=environment, region=region, page_token=token)
            items.extend(page.items)
            token = page.next_page_token
            if token is None:
                break
    if as_json:
        print_json([d.to_json() for d in items])
        return
    grid = table("name", "env", "region", "model", "serves", "rollout", title="Deployments")
    for dep in items:
        grid.add_row(*[cell(v) for v in _row(dep)])
    out().print(grid)


def _show(dep: Deployment, as_json: bool) -> None:
    if as_json:
        print_json(dep.to_json())
        return
    console = out()
    console.print(f"[bold]{dep.name}[/bold]  {dep.environment} / {dep.region}  rev {dep.revision}")
    console.print(f"model: {dep.model} -> {dep.served.get('model', '?')}", markup=False)
    if dep.rollout is not None:
        r = dep.rollout
        console.print(
            f"rollout: {r.strategy.name} of {r.challenger} -> {dep.served.get('challenger', '?')}"
            f", {r.weight}% ({r.state}, step {r.step + 1})",
            markup=False,
        )
    console.print(f"options: {json.dumps(dep.options.to_json())}", markup=False)


@deploy_app.command("show")
def show(
    name: Name,
    decisions: Annotated[int, typer.Option("--decisions", help="Show this many.")] = 10,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """A deployment, what it serves, and its latest rollout decisions."""
    with open_workspace(workspace) as ws:
        dep = ws.deployments.get(name)
        found = list(ws.deployments.decisions(name, limit=max(1, decisions)))
    if as_json:
        print_json({**dep.to_json(), "decisions": [d.to_json() for d in found]})
        return
    _show(dep, False)
    grid = table("when", "action", "weight", "actor", "reason", title="Decisions")
    for d in found:
        weights = f"{d.from_weight}->{d.to_weight}" if d.from_weight is not None else "-"
        grid.add_row(
            cell(fmt_time(d.created_at)),
            cell(d.action),
            cell(weights),
            cell(d.actor),
            cell(d.reason),
        )
    out().print(grid)


def _strategy(kind: str, steps: str, interval_s: float, split: int, percent: int) -> Strategy:
    from pomona.serving.strategies import ABTest, Canary, Shadow

    if kind == "canary":
        try:
            numbers = tuple(int(s) for s in steps.split(","))
        except ValueError as exc:
            raise InvalidInputError(
                f"--steps '{steps}' is not like 5,25,50,100.", details={"field": "steps"}
            ) from exc
        return Canary(steps=numbers, interval_s=interval_s)
    if kind == "shadow":
        return Shadow(percent=percent, interval_s=interval_s)
    if kind == "ab":
        return ABTest(split=split, interval_s=interval_s)
    raise InvalidInputError(
        f"Unknown strategy '{kind}'.",
        hint="Use canary, shadow or ab.",
        details={"field": "strategy"},
    )


@deploy_app.command("rollout")
def rollout(
    name: Name,
    model: Annotated[str, typer.Option("--model", "-m", help="The challenger: apples:4.")],
    strategy: Annotated[str, typer.Option("--strategy", help="canary, shadow or ab.")] = "canary",
    steps: Annotated[str, typer.Option("--steps", help="Canary percentages.")] = "5,25,50,100",
    interval_s: Annotated[float, typer.Option("--interval", help="Seconds per step.")] = 60.0,
    split: Annotated[int, typer.Option("--split", help="A/B: percent to B.")] = 50,
    percent: Annotated[int, typer.Option("--percent", help="Shadow: percent mirrored.")] = 100,
    actor: Actor = None,
    reason: Reason = "",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start rolling a challenger out (the analysis advances, holds or rolls it back)."""
    chosen = _strategy(strategy, steps, interval_s, split, percent)
    with open_workspace(workspace) as ws:
        dep = ws.deployments.rollout(name, model=model, strategy=chosen, actor=actor, reason=reason)
    _show(dep, as_json)


def _act(
    action: str, name: str, actor: str | None, reason: str, workspace: str | None, as_json: bool
) -> None:
    with open_workspace(workspace) as ws:
        dep = getattr(ws.deployments, action)(name, actor=actor, reason=reason)
    _show(dep, as_json)


@deploy_app.command("promote")
def promote(
    name: Name,
    actor: Actor = None,
    reason: Reason = "",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make the challenger the deployment's model (moves the alias it serves)."""
    _act("promote", name, actor, reason, workspace, as_json)


@deploy_app.command("rollback")
def rollback(
    name: Name,
    actor: Actor = None,
    reason: Reason = "",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """End the rollout: all traffic back to the deployment's model."""
    _act("rollback", name, actor, reason, workspace, as_json)


@deploy_app.command("pause")
def pause(
    name: Name,
    actor: Actor = None,
    reason: Reason = "",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hold the rollout where it is."""
    _act("pause", name, actor, reason, workspace, as_json)


@deploy_app.command("resume")
def resume(
    name: Name,
    actor: Actor = None,
    reason: Reason = "",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Let the analysis move a paused rollout again."""
    _act("resume", name, actor, reason, workspace, as_json)


@deploy_app.command("export")
def export(
    name: Name,
    target: Annotated[str, typer.Option("--target", "-t", help="docker, k8s or edge.")],
    dest: Annotated[Path, typer.Option("--out", "-o", help="A new folder.")],
    image: Annotated[str | None, typer.Option("--image", help="k8s: the image.")] = None,
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Write a Docker build context, Kubernetes manifests, or the edge bundle."""
    from pomona.serving.export import export_deployment

    with open_workspace(workspace) as ws:
        dep = ws.deployments.get(name)
        path = export_deployment(dep, ws.models, target, dest, image=image)
    out().print(f"Wrote {target} export of '{name}' to {path}", markup=False)


def predict_batch(
    source: Annotated[str, typer.Argument(help="A Parquet file, or a dataset version: name:3.")],
    dest: Annotated[Path, typer.Option("--out", "-o", help="Output folder (resumable).")],
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="apples:3 or apples@x.")
    ] = None,
    deployment: Annotated[
        str | None, typer.Option("--deployment", "-d", help="Use the model it serves.")
    ] = None,
    chunk_rows: Annotated[int, typer.Option("--chunk-rows", min=1, help="Rows per part.")] = 10_000,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Predict a whole table into Parquet parts; run it again to resume after a stop."""
    from pomona.serving.batch import iter_parquet
    from pomona.serving.batch import predict_batch as run

    if (model is None) == (deployment is None):
        raise InvalidInputError(
            "Give exactly one of --model or --deployment.", details={"field": "model"}
        )
    with open_workspace(workspace) as ws:
        ref = model or ws.deployments.get(str(deployment)).model
        path = Path(source)
        if path.suffix == ".parquet" or path.is_file():
            if not path.is_file():
                raise ConfigError(f"{path} does not exist.")
            chunks = iter_parquet(path, chunk_rows)
        else:
            frame = ws.datasets.load_table(source)
            chunks = (frame.iloc[i : i + chunk_rows] for i in range(0, len(frame), chunk_rows))
        hook = getattr(ws.deployments, "transforms", None)
        result = run(
            ws.models, ref, chunks, dest, source=source, chunk_rows=chunk_rows, transforms=hook
        )
    if as_json:
        print_json(
            {
                "dest": str(result.dest),
                "model": result.model,
                "parts": result.parts,
                "rows": result.rows,
                "skipped_parts": result.skipped_parts,
            }
        )
        return
    out().print(
        f"{result.model}: {result.parts} parts ({result.skipped_parts} already there), "
        f"{result.rows} rows predicted -> {result.dest}",
        markup=False,
    )
