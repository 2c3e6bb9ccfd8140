"""``pomona demo``: guided tours that run end to end on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pomona.cli._render import out
from pomona.cli._server import PortOption, serve_workspace
from pomona.cli._shared import WorkspaceOption, local_workspace, open_workspace
from pomona.errors import ConfigError

__all__ = ["demo_app"]

demo_app = typer.Typer(
    help="Guided tours that run end to end on this machine.", no_args_is_help=True
)


def _workspace_for_demo(target: str | None) -> Path:
    """The workspace to fill: the one named or found here, else a new one in this folder."""
    from pomona.client.connect import init_workspace
    from pomona.config import WORKSPACE_FILE, find_workspace_root

    if target is None and find_workspace_root() is None:
        root = Path.cwd()
    elif target is not None and not (Path(target) / WORKSPACE_FILE).is_file():
        root = Path(target).expanduser().resolve()
    else:
        return local_workspace(target, command="demo tracking")
    init_workspace(root)
    out().print(f"Created a Pomona workspace in {root}", markup=False)
    return root


@demo_app.command("tracking")
def tracking(
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server when training is done.")
    ] = True,
    port: PortOption = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Train a few scikit-learn models as tracked runs, then open the dashboard.

    Logistic regressions, random forests and gradient boosting on scikit-learn's
    breast-cancer data: each a run in experiment 'quickstart' with params, metrics by
    step, a confusion matrix and the model (skops). Uses the workspace here, or
    creates one. With --no-serve it stops after the summary.
    """
    try:
        from pomona.cli import _demo_tracking
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"The tracking demo needs packages that are not installed ({exc.name}).",
            hint="Install them with: pip install 'pomona[sklearn]'",
        ) from exc
    root = _workspace_for_demo(workspace)
    console = out()
    with open_workspace(str(root), **{"server.port": port}) as ws:
        results = _demo_tracking.train_all(ws)
        console.print(_demo_tracking.summary_table(results))
        best = _demo_tracking.ranked(results)[0]
        console.print(
            f"\n{len(results)} runs in experiment '{_demo_tracking.EXPERIMENT}'. Next:\n"
            "  pomona runs list --order-by 'metrics.accuracy desc'\n"
            f"  pomona runs show {best.run_id[:8]}",
            markup=False,
        )
        if serve:
            console.print()
            serve_workspace(ws)


WorkspaceFolder = Annotated[
    str | None,
    typer.Option(
        "--workspace",
        "-w",
        help="The demo's folder; an earlier demo there is replaced.",
        show_default=False,
    ),
]
ServeOption = Annotated[
    bool,
    typer.Option("--serve/--no-serve", help="Keep the server up at the end (until Ctrl-C)."),
]
QuickOption = Annotated[
    bool, typer.Option("--quick", help="A shorter story: less data, shorter days.")
]


def _story(
    name: str, folder: str | None, default: str, port: int | None, *, quick: bool, serve: bool
) -> None:
    try:
        import sklearn  # noqa: F401

        from pomona.cli import _demo_story
        from pomona.server import main as _server  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"The demo needs packages that are not installed ({exc.name}).",
            hint="Install them with: pip install 'pomona[all]'",
        ) from exc
    from pomona.examples.apples.demo import AppleFarm
    from pomona.examples.fraud.demo import CardFraud

    scenario = AppleFarm() if name == "apples" else CardFraud()
    root = _demo_story.demo_folder(folder, default)
    _demo_story.run_demo(root, scenario, port=port or 8000, quick=quick, serve=serve)


@demo_app.command("apples")
def apples(
    serve: ServeOption = True,
    quick: QuickOption = False,
    port: PortOption = None,
    workspace: WorkspaceFolder = None,
) -> None:
    """The apple farm's whole loop: data, training, serving, monitoring, retraining.

    Day 0: the farm's photos are ingested (broken files quarantined), validated,
    prepared and split; a forest on image features is tuned and promoted through the
    gates, then deployed with its upload page and a monitor. Day 1: the townsfolk's
    photos, no alert. Day 2: a new variety and darker photos, graded late: drift and
    accuracy alerts fire, the retraining pipeline starts by itself in the server, and
    its model goes out as a canary promoted on evidence. Prints a summary and the
    dashboard's address; the server stays up until Ctrl-C (--no-serve exits instead).
    SQLite and local files in the demo's folder (default ./apple-farm).
    """
    _story("apples", workspace, "apple-farm", port, quick=quick, serve=serve)


@demo_app.command("fraud")
def fraud(
    serve: ServeOption = True,
    quick: QuickOption = False,
    port: PortOption = None,
    workspace: WorkspaceFolder = None,
) -> None:
    """The same loop on card transactions: fraud that changes its pattern.

    Day 0: a month of transactions (CSV) is ingested, validated, prepared (ids dropped,
    categories encoded) and split; a forest is tuned and promoted. Day 1: payments like
    January's. Day 2: fraudsters switch to bursts of small purchases at home; the
    confirmed labels arrive late, the accuracy alert fires, the retraining pipeline runs
    on the investigators' newest cases and its canary is promoted on evidence.
    SQLite and local files in the demo's folder (default ./card-fraud).
    """
    _story("fraud", workspace, "card-fraud", port, quick=quick, serve=serve)
