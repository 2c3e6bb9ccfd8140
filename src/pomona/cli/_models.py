"""``pomona models``: list, show, alias and export registered models.

``promote`` (the gates) is added to ``models_app`` by the training commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.cli._render import cell, fmt_size, fmt_time, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.table import Table

    from pomona.registry import ModelVersion, RegisteredModel

__all__ = ["models_app"]

models_app = typer.Typer(
    help="Registered models: list, show, move aliases, export to ONNX.", no_args_is_help=True
)


@models_app.command("list")
def list_models(
    name: Annotated[
        str | None,
        typer.Argument(help="A model's name: list its versions instead.", show_default=False),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    page_token: Annotated[str | None, typer.Option("--page-token")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """List registered models, or the versions of one (newest first)."""
    with open_workspace(workspace) as ws:
        if name is None:
            models = ws.models.list_models(limit=limit, page_token=page_token)
            items: list[Any] = list(models)
            token = models.next_page_token
        else:
            versions = ws.models.list_versions(name, limit=limit, page_token=page_token)
            items, token = list(versions), versions.next_page_token
    if as_json:
        print_json({"items": [i.to_json() for i in items], "next_page_token": token})
        return
    console = out()
    if not items:
        console.print("No models registered yet." if name is None else "No versions yet.")
        console.print(
            "Register one with ws.models.register(name, model, input_example=X).",
            style="dim",
            markup=False,
        )
        return
    console.print(_models_table(items) if name is None else _versions_table(items))
    if token:
        console.print(f"More: add --page-token {token}.", style="dim", markup=False)


def _models_table(models: list[RegisteredModel]) -> Table:
    t = table("Name", "Latest>", "Aliases", "Updated")
    for m in models:
        aliases = ", ".join(f"{a}→{v}" for a, v in m.aliases.items())
        t.add_row(
            cell(m.name, "cyan"),
            cell(m.latest_version),
            cell(aliases or "—"),
            cell(fmt_time(m.updated_at, short=True)),
        )
    return t


def _versions_table(versions: list[ModelVersion]) -> Table:
    keys = sorted({k for v in versions for k in v.metrics})[:4]
    t = table("Version>", "Flavor", "Aliases", "Registered", "By", *(f"{k}>" for k in keys))
    for v in versions:
        t.add_row(
            cell(v.version, "cyan"),
            cell(v.flavor),
            cell(", ".join(v.aliases) or "—"),
            cell(fmt_time(v.created_at, short=True)),
            cell(v.created_by),
            *(cell(v.metrics.get(k)) for k in keys),
        )
    return t


@models_app.command("show")
def show(
    ref: Annotated[
        str, typer.Argument(help="NAME, NAME:VERSION or NAME@ALIAS.", show_default=False)
    ],
    card: Annotated[bool, typer.Option("--card", help="Print the model card (Markdown).")] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a version: flavor, files, signature, metrics, lineage, aliases and their history."""
    with open_workspace(workspace) as ws:
        version = ws.models.get_version(ref)
        history = list(ws.models.list_alias_history(version.name, limit=10))
        reports = ws.models.list_gate_reports(version.name, version=version.version)
        export = ws.models.find_export(version.ref)
    if as_json:
        print_json(
            {
                **version.to_json(),
                "alias_history": [m.to_json() for m in history],
                "gate_reports": [g.to_json() for g in reports],
                "onnx_export": None if export is None else export.to_json(),
            }
        )
        return
    console = out()
    if card:
        console.print(version.card, markup=False, highlight=False)
        return
    _print_version(version)
    if export is not None:
        console.print(
            f"\nONNX export: {fmt_size(export.size)}, opset {export.opset}, "
            f"parity max |diff| {export.parity_max_abs_diff:.3g}",
            markup=False,
        )
    _print_history(history)
    for g in reports:
        verdict = "passed" if g.passed else "failed"
        when = fmt_time(g.created_at, short=True)
        console.print(
            f"Gate report for @{g.target}: {verdict} ({g.actor}, {when}) {g.digest[:19]}…",
            markup=False,
        )


def _print_version(v: ModelVersion) -> None:
    from rich.table import Table

    console = out()
    grid = Table.grid(padding=(0, 2))
    lineage = v.lineage
    for key, value in (
        ("Version", v.ref),
        ("Flavor", v.flavor),
        ("Aliases", ", ".join(v.aliases) or "—"),
        ("Registered", f"{fmt_time(v.created_at)} by {v.created_by}"),
        ("Run", lineage.run_id),
        ("Pipeline run", lineage.pipeline_run_id),
        ("Datasets", ", ".join(lineage.dataset_versions) or None),
        ("Parent", f"{v.name}:{lineage.parent_version}" if lineage.parent_version else None),
    ):
        if value is not None:
            grid.add_row(cell(key, "bold"), cell(value))
    console.print(grid)
    metrics = table("Metric", "Value>", title="Metrics")
    for key in sorted(v.metrics):
        metrics.add_row(cell(key), cell(v.metrics[key]))
    specs = table("Name", "Dtype", "Shape", title=f"Inputs ({v.signature.input_kind})")
    for s in v.signature.inputs[:30]:
        specs.add_row(cell(s.name), cell(s.dtype), cell(list(s.shape)))
    files = table("Path", "Size>", "Digest", title="Files")
    for f in v.files:
        files.add_row(cell(f.path), cell(fmt_size(f.size)), cell(f.digest[:19] + "…", "dim"))
    for part in (metrics, specs, files):
        console.print()
        console.print(part)


def _print_history(history: list[Any]) -> None:
    if not history:
        return
    t = table("When", "Alias", "From>", "To>", "Who", "Why", title="Alias history")
    for m in history:
        why = m.reason + (" (forced)" if m.forced else "")
        t.add_row(
            cell(fmt_time(m.moved_at, short=True)),
            cell(m.alias),
            cell(m.from_version),
            cell(m.to_version),
            cell(m.actor),
            cell(why),
        )
    out().print()
    out().print(t)


@models_app.command("alias")
def alias(
    name: Annotated[str, typer.Argument(help="Model name.", show_default=False)],
    alias_name: Annotated[
        str, typer.Argument(metavar="ALIAS", help="e.g. champion, challenger.", show_default=False)
    ],
    version: Annotated[
        int | None, typer.Argument(help="Version to point the alias at.", show_default=False)
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", "-r", help="Why; kept in the alias history.")
    ] = "",
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who (default: your OS user).")
    ] = None,
    check_signature: Annotated[
        bool,
        typer.Option(
            "--check-signature",
            help="Refuse if the signature differs from the version the alias points to now.",
        ),
    ] = False,
    delete: Annotated[bool, typer.Option("--delete", help="Remove the alias.")] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Point ALIAS at VERSION, or remove it with --delete; every move is kept.

    The alias history records who, when and why. 'pomona models promote' moves an alias
    through the promotion gates instead.
    """
    if (version is None) != delete:
        raise InvalidInputError(
            "Give a VERSION to move the alias to, or --delete to remove it.",
            hint=f"e.g. pomona models alias {name} {alias_name} 3 --reason '…'",
            details={"field": "version"},
        )
    with open_workspace(workspace) as ws:
        if version is None:
            move = ws.models.delete_alias(name, alias_name, reason=reason, actor=actor)
        else:
            move = ws.models.set_alias(
                name,
                alias_name,
                version,
                reason=reason,
                actor=actor,
                check_signature=check_signature,
            )
    if as_json:
        print_json(None if move is None else move.to_json())
        return
    if move is None:
        out().print(f"{name} has no alias '{alias_name}': nothing to remove.", markup=False)
    elif move.to_version is None:
        out().print(f"Removed {name}@{alias_name} (was version {move.from_version}).", markup=False)
    else:
        before = f" (was {move.from_version})" if move.from_version else ""
        out().print(f"{name}@{alias_name} → version {move.to_version}{before}.", markup=False)


@models_app.command("export")
def export(
    ref: Annotated[
        str, typer.Argument(help="NAME, NAME:VERSION or NAME@ALIAS.", show_default=False)
    ],
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Also write an edge bundle (ONNX + predict.py) here."),
    ] = None,
    archive: Annotated[bool, typer.Option("--zip", help="Zip the bundle.")] = False,
    tolerance: Annotated[
        float, typer.Option("--tolerance", min=0.0, help="Largest allowed parity difference.")
    ] = 1e-4,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a version to ONNX and check parity on its example input; optionally bundle it."""
    with open_workspace(workspace) as ws:
        result = ws.models.export_onnx(ref, tolerance=tolerance)
        where = None
        if bundle is not None:
            where = ws.models.build_edge_bundle(ref, bundle, archive=archive, tolerance=tolerance)
    if as_json:
        print_json({**result.to_json(), "bundle": None if where is None else str(where)})
        return
    out().print(
        f"Exported {result.name}:{result.version} to ONNX (opset {result.opset}, "
        f"{fmt_size(result.size)}); parity max |diff| = {result.parity_max_abs_diff:.3g}.",
        markup=False,
    )
    if where is not None:
        out().print(f"Edge bundle: {where}", markup=False)
