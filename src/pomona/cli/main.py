"""The ``pomona`` command: the Typer app, and the one place errors are rendered."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from typing import Annotated

import typer

from pomona.cli import (
    _data,
    _demo,
    _deploy,
    _pipelines,
    _runs,
    _server,
    _training,
    _workspace,
)
from pomona.cli._features import features_app
from pomona.cli._models import models_app
from pomona.cli._monitoring import alerts_app, monitors_app
from pomona.cli._render import err_console
from pomona.cli._shared import state
from pomona.errors import PomonaError

__all__ = ["app", "main"]

app = typer.Typer(
    name="pomona",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("init", rich_help_panel="Workspace")(_workspace.init)
app.add_typer(_workspace.config_app, name="config", rich_help_panel="Workspace")
app.add_typer(_workspace.db_app, name="db", rich_help_panel="Workspace")
app.command("gc", rich_help_panel="Workspace")(_workspace.gc)
app.add_typer(_runs.runs_app, name="runs", rich_help_panel="Tracking")
app.add_typer(_data.data_app, name="data", rich_help_panel="Data")
app.add_typer(features_app, name="features", rich_help_panel="Data")
app.command("run", rich_help_panel="Pipelines")(_pipelines.run)
app.add_typer(_pipelines.pipelines_app, name="pipelines", rich_help_panel="Pipelines")
app.command("scheduler", rich_help_panel="Pipelines")(_pipelines.scheduler)
app.command("server", rich_help_panel="Serving")(_server.server)
app.add_typer(_deploy.deploy_app, name="deploy", rich_help_panel="Serving")
app.command("predict-batch", rich_help_panel="Serving")(_deploy.predict_batch)
app.add_typer(_demo.demo_app, name="demo", rich_help_panel="Getting started")
app.add_typer(models_app, name="models", rich_help_panel="Models")
app.add_typer(_training.studies_app, name="studies", rich_help_panel="Models")
app.add_typer(monitors_app, name="monitors", rich_help_panel="Monitoring")
app.add_typer(alerts_app, name="alerts", rich_help_panel="Monitoring")


def _show_version(value: bool) -> None:
    if value:
        from pomona import __version__

        typer.echo(f"pomona {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback when a command fails.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Pomona: track experiments, version data and models, serve and monitor them.

    Run [bold]pomona init[/bold] in a project folder, then [bold]pomona demo tracking[/bold]
    for a quick tour. Every command has [bold]--help[/bold].
    """
    state.debug = debug


def render_error(exc: PomonaError) -> None:
    """``Error: …`` and ``Hint: …`` on stderr (the traceback first with ``--debug``)."""
    from rich.text import Text

    console = err_console()
    if state.debug:
        traceback.print_exception(exc)
    console.print(Text.assemble(("Error: ", "bold red"), exc.message))
    if exc.hint:
        console.print(Text.assemble(("Hint: ", "bold"), exc.hint))


def render_internal_error(exc: BaseException) -> None:
    """An unexpected failure: one line, the traceback only with ``--debug``."""
    from rich.text import Text

    console = err_console()
    if state.debug:
        traceback.print_exception(exc)
    console.print(Text.assemble(("Internal error: ", "bold red"), f"{type(exc).__name__}: {exc}"))
    if not state.debug:
        console.print(
            Text.assemble(("Hint: ", "bold"), "Run again with 'pomona --debug …' to see where.")
        )


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line; exits with the error class's exit code on failure."""
    command = typer.main.get_command(app)
    try:
        command.main(args=None if argv is None else list(argv), prog_name="pomona")
    except PomonaError as exc:
        render_error(exc)
        sys.exit(exc.exit_code)
    except Exception as exc:
        render_internal_error(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
