"""``pomona demo apples`` and ``pomona demo fraud``: a whole loop on this machine, narrated."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pomona.cli._render import out
from pomona.errors import ConfigError

if TYPE_CHECKING:
    from rich.table import Table

    from pomona.examples._demo import Scenario

__all__ = ["MARKER", "demo_folder", "run_demo"]

MARKER = ".pomona-demo"
"""A file in a demo's folder: only such a folder is ever removed to start over."""


def demo_folder(target: str | None, default: str) -> Path:
    """The demo's folder, emptied if an earlier demo left it; never someone else's data."""
    root = Path(target or default).expanduser().resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise ConfigError(
                f"{root} already exists and was not made by a Pomona demo.",
                hint="Name a new or empty folder with --workspace FOLDER.",
                details={"field": "workspace"},
            )
        out().print(f"Starting over: removing the previous demo in {root}", markup=False)
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by 'pomona demo'\n")
    return root


def run_demo(root: Path, scenario: Scenario, *, port: int, quick: bool, serve: bool) -> None:
    """Set the demo's workspace up, start its server, tell the story, print the summary."""
    import pomona
    from pomona.client.connect import init_workspace
    from pomona.examples._demo import demo_server, demo_settings, run_story

    console = out()
    settings = demo_settings(
        scenario.name, port, accuracy=scenario.target_accuracy, latency_p99_ms=1000
    )
    (root / "pomona.toml").write_text(settings)
    init_workspace(root)
    started = time.monotonic()

    def say(stage: str, text: str) -> None:
        elapsed = time.monotonic() - started
        console.print(f"[dim]{elapsed:5.0f}s[/dim] [bold]{stage:<7}[/bold] {text}", soft_wrap=True)

    with demo_server(root, port, log=root / "server.log") as url:
        say("server", f"pomona server is up at {url}/ (log: {root / 'server.log'})")
        with pomona.connect(str(root)) as ws:
            plan = scenario.plan(quick)
            summary = run_story(ws, url, root / "data", scenario, plan, say)
        console.print(_summary_table(scenario.name, summary.rows))
        console.print(
            f"The whole loop took {summary.seconds:.0f} s. Every step is on the dashboard: "
            f"{url}/  (pipelines, models, deployments, monitors, alerts)",
            markup=False,
            soft_wrap=True,
        )
        if serve:
            console.print("The server stays up; press Ctrl-C to stop.", style="dim")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                console.print("Stopping.", style="dim")


def _summary_table(name: str, rows: list[tuple[str, str, str]]) -> Table:
    """Step, what happened, evidence: wrapped, so the whole story fits any terminal."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=f"The {name} demo, end to end", title_justify="left", header_style="bold")
    t.add_column("Step", no_wrap=True)
    t.add_column("What happened", ratio=3)
    t.add_column("Evidence", ratio=2)
    for step, what, evidence in rows:
        t.add_row(Text(step), Text(what), Text(evidence))
    return t
