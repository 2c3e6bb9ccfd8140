"""``pomona models promote`` (the gates) and ``pomona studies list | show`` (tuning results)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.cli._models import models_app
from pomona.cli._render import cell, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    from pomona.training.gates import GateReport

__all__ = ["promote", "studies_app"]

studies_app = typer.Typer(help="Hyperparameter studies: list them, show one.", no_args_is_help=True)


def _print_report(report: GateReport) -> None:
    console = out()
    verdict = "passed" if report.passed else ("FORCED" if report.forced else "refused")
    console.print(f"{report.model}:{report.version} -> {report.to}: {verdict}")
    t = table("Gate", "Result", "Why")
    for gate in report.gates:
        t.add_row(
            cell(gate.name),
            cell("ok" if gate.passed else "FAIL", "green" if gate.passed else "red"),
            cell(gate.message),
        )
    console.print(t)


def promote(
    name: Annotated[str, typer.Argument(help="Registered model name.", show_default=False)],
    version: Annotated[int, typer.Argument(help="Version to promote.", show_default=False)],
    to: Annotated[str, typer.Option("--to", help="Alias to move onto the version.")] = "champion",
    force: Annotated[
        bool, typer.Option("--force", help="Move the alias even if gates fail (needs --reason).")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why; kept in the alias history.")
    ] = None,
    slices: Annotated[
        list[str] | None,
        typer.Option("--slice", help="Check metrics per value of this column (repeatable)."),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Judge and store the report; leave the alias where it is."),
    ] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the promotion gates and move the alias if they pass (--check: judge only).

    Gates: signature compatible with the current holder, primary metric not significantly
    worse on the same test data (McNemar or bootstrap) and reaching the project target,
    beats the baselines, p99 latency within the budget, slices within tolerance.
    A refusal exits with code 4 and names the failing gates; the report is stored either way.
    """
    if force and not reason:
        raise InvalidInputError(
            "--force needs --reason.",
            hint="Say why, e.g. --reason 'hotfix for the night photos'; it is audited.",
            details={"field": "reason"},
        )
    with open_workspace(workspace) as ws:
        report = ws.models.promote(  # type: ignore[attr-defined]
            name, version, to=to, force=force, reason=reason, slices=slices, check_only=check
        )
    if as_json:
        print_json(report.to_dict())
        return
    _print_report(report)


@studies_app.command("list")
def list_studies(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 50,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """The newest studies with their best value."""
    from pomona.training.studies import find_studies

    with open_workspace(workspace) as ws:
        items = find_studies(ws.runs, limit=limit)
    if as_json:
        print_json({"items": items})
        return
    t = table("Study", "Status", "Model", "Metric", "Best>", "Trials>")
    for s in items:
        t.add_row(
            *(cell(s[k]) for k in ("study", "status", "model", "metric", "best_value", "n_trials"))
        )
    out().print(t)


@studies_app.command("show")
def show_study(
    study: Annotated[str, typer.Argument(help="Study name.", show_default=False)],
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Best params, parameter importances and trial counts of one study."""
    from pomona.training.studies import read_study

    with open_workspace(workspace) as ws:
        summary: dict[str, Any] = read_study(ws.runs, study)
    if as_json:
        print_json(summary)
        return
    console = out()
    console.print(
        f"study {summary['name']} ({summary['status']}): best {summary['metric']} "
        f"{summary['best_value']} at trial {summary['best_trial']}"
    )
    t = table("Param", "Best value", "Importance>")
    for key, value in summary["best_params"].items():
        t.add_row(cell(key), cell(value), cell(summary["importances"].get(key)))
    console.print(t)
    console.print("trials: " + ", ".join(f"{n} {s}" for s, n in summary["states"].items()))


models_app.command("promote")(promote)
