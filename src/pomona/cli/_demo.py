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
