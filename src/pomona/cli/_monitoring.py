"""``pomona monitors`` (create, list, run, report, delete) and ``pomona alerts`` (list, ack,
silence)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pomona.cli._render import cell, fmt_time, out, print_json, table
from pomona.cli._shared import JsonOption, RemoteWorkspaceOption, open_workspace

if TYPE_CHECKING:
    from pomona.monitoring import Alert, Monitor, RunResult

__all__ = ["alerts_app", "monitors_app"]

monitors_app = typer.Typer(
    help="Monitors of deployments: drift, data quality, performance over windows; reports.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="Alerts of the monitors: list, acknowledge, silence.", no_args_is_help=True
)
Name = Annotated[str, typer.Argument(help="The monitor's name.", show_default=False)]
Many = Annotated[list[str] | None, typer.Option(show_default=False)]


def _channels(
    webhook: list[str] | None, email: list[str] | None, host: str | None, port: int | None
) -> list[Any]:
    from pomona.monitoring import Email, Log, Webhook

    channels: list[Any] = [Webhook(url) for url in webhook or []]
    if email:
        channels.append(Email(tuple(email), host=host, port=port))
    return [*channels, Log()]


@monitors_app.command("create")
def create(
    deployment: Annotated[str, typer.Argument(help="The deployment to watch.")],
    name: Annotated[str | None, typer.Option("--name", help="Default: the deployment's.")] = None,
    window: Annotated[str, typer.Option("--window", help="e.g. 15m, 1h, 1d.")] = "1h",
    every: Annotated[str | None, typer.Option("--every", help="Run this often.")] = None,
    reference: Annotated[
        str, typer.Option("--reference", help="'training' or 'window:<start_ms>'.")
    ] = "training",
    min_accuracy: Annotated[
        float | None, typer.Option("--min-accuracy", help="Alert below this accuracy.")
    ] = None,
    max_error_rate: Annotated[float, typer.Option("--max-error-rate")] = 0.05,
    latency_p99_ms: Annotated[float | None, typer.Option("--latency-p99-ms")] = None,
    categorical: Annotated[list[str] | None, typer.Option("--categorical")] = None,
    slices: Annotated[list[str] | None, typer.Option("--slice", help="Slice by.")] = None,
    webhook: Annotated[list[str] | None, typer.Option("--webhook", help="Slack URL.")] = None,
    email: Annotated[list[str] | None, typer.Option("--email", help="Recipient.")] = None,
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", help="Default: monitoring.smtp_host.")
    ] = None,
    smtp_port: Annotated[
        int | None, typer.Option("--smtp-port", help="Default: monitoring.smtp_port.")
    ] = None,
    drift: Annotated[bool, typer.Option("--drift/--no-drift")] = True,
    quality: Annotated[bool, typer.Option("--quality/--no-quality")] = True,
    performance: Annotated[bool, typer.Option("--performance/--no-performance")] = True,
    retrain: Annotated[bool, typer.Option("--retrain/--no-retrain")] = True,
    cooldown: Annotated[str, typer.Option("--cooldown", help="Between retrainings.")] = "1h",
    on_alert: Annotated[
        str | None, typer.Option("--on-alert", help="Pipeline to retrain: file.py:name.")
    ] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Change an existing one.")] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Watch a deployment: windows of its prediction logs, default alert rules."""
    with open_workspace(workspace) as ws:
        monitor = ws.monitors.create(
            deployment,
            name=name,
            window=window,
            every=every,
            reference=reference,
            min_accuracy=min_accuracy,
            max_error_rate=max_error_rate,
            latency_p99_ms=latency_p99_ms,
            categorical=categorical or (),
            slices=slices or (),
            notify=_channels(webhook, email, smtp_host, smtp_port),
            drift=drift,
            quality=quality,
            performance=performance,
            retrain=retrain,
            cooldown=cooldown,
            on_alert=on_alert,
            replace=replace,
        )
    if as_json:
        print_json(monitor.to_json())
        return
    out().print(f"Monitor {monitor.name} watches {monitor.deployment}", markup=False)
    for rule in monitor.rules:
        out().print(f"  rule {rule.name}: {rule.describe()}", markup=False)


def _monitor_row(m: Monitor) -> list[Any]:
    rules = ", ".join(r.name for r in m.rules)
    return [m.name, m.deployment, f"{m.window_s:g}s", rules, fmt_time(m.last_run_at)]


@monitors_app.command("list")
def list_(
    deployment: Annotated[str | None, typer.Option("--deployment")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every monitor, what it watches and when it last ran."""
    with open_workspace(workspace) as ws:
        items = list(ws.monitors.list(deployment=deployment, limit=1000))
    if as_json:
        print_json([m.to_json() for m in items])
        return
    grid = table("name", "deployment", "window", "rules", "last run", title="Monitors")
    for m in items:
        grid.add_row(*[cell(v) for v in _monitor_row(m)])
    out().print(grid)


@monitors_app.command("run")
def run(
    name: Annotated[str | None, typer.Argument(help="One monitor; default: all.")] = None,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compute the windows closed since the last run, late labels and alerts, now."""
    with open_workspace(workspace) as ws:
        results = ws.monitors.run(name)
    if as_json:
        print_json([r.to_json() for r in results])
        return
    for r in results:
        _print_result(r)


def _print_result(r: RunResult) -> None:
    console = out()
    if r.error:
        console.print(f"{r.monitor}: failed: {r.error}", markup=False)
        return
    console.print(
        f"{r.monitor}: {len(r.computed)} window(s) computed, {len(r.relabelled)} relabelled, "
        f"{len(r.alerts)} alert change(s)",
        markup=False,
    )
    for a in r.alerts:
        console.print(f"  [{a.state}] {a.message}", markup=False)


@monitors_app.command("report")
def report(
    name: Name,
    output: Annotated[Path, typer.Option("--out", "-o", help="The HTML file.")] = Path(
        "monitoring-report.html"
    ),
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Write a self-contained HTML report (charts inline, no network needed)."""
    with open_workspace(workspace) as ws:
        html = ws.monitors.report(name, path=output)
    out().print(f"Wrote {output} ({len(html.encode()) / 1024:.0f} KiB)", markup=False)


@monitors_app.command("delete")
def delete(name: Name, workspace: RemoteWorkspaceOption = None) -> None:
    """Delete a monitor with its windows, results and alerts."""
    with open_workspace(workspace) as ws:
        ws.monitors.delete(name)
    out().print(f"Deleted monitor {name}", markup=False)


def _alert_row(a: Alert) -> list[Any]:
    value = "-" if a.value is None else f"{a.value:.4g}"
    ack = a.acked_by or ("silenced" if a.silenced else "")
    return [
        a.alert_id[:12],
        a.state,
        a.severity,
        a.monitor,
        a.rule,
        value,
        fmt_time(a.pending_at),
        ack,
    ]


@alerts_app.command("list")
def alerts_list(
    state: Annotated[
        str | None, typer.Option("--state", help="pending, firing, resolved or open.")
    ] = "open",
    monitor: Annotated[str | None, typer.Option("--monitor")] = None,
    every: Annotated[bool, typer.Option("--all", help="Resolved ones too.")] = False,
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Open alerts (pending and firing), newest first; --all for every alert."""
    with open_workspace(workspace) as ws:
        items = list(ws.alerts.list(state=None if every else state, monitor=monitor, limit=1000))
    if as_json:
        print_json([a.to_json() for a in items])
        return
    grid = table(
        "id", "state", "severity", "monitor", "rule", "value", "since", "ack", title="Alerts"
    )
    for a in items:
        grid.add_row(*[cell(v) for v in _alert_row(a)])
    out().print(grid)


def _full_id(ws: Any, prefix: str) -> str:
    if len(prefix) == 32:
        return prefix
    matches = [a.alert_id for a in ws.alerts.list(limit=1000) if a.alert_id.startswith(prefix)]
    return matches[0] if len(matches) == 1 else prefix


@alerts_app.command("ack")
def ack(
    alert_id: Annotated[str, typer.Argument(help="The alert's id (or its first characters).")],
    by: Annotated[str | None, typer.Option("--by", help="Default: the OS user.")] = None,
    comment: Annotated[str, typer.Option("--comment")] = "",
    workspace: RemoteWorkspaceOption = None,
) -> None:
    """Acknowledge an alert: someone is on it."""
    with open_workspace(workspace) as ws:
        alert = ws.alerts.ack(_full_id(ws, alert_id), by=by, comment=comment)
    out().print(f"Acknowledged {alert.alert_id} ({alert.rule} on {alert.deployment})", markup=False)


@alerts_app.command("silence")
def silence(
    monitor: Annotated[str | None, typer.Option("--monitor")] = None,
    deployment: Annotated[str | None, typer.Option("--deployment")] = None,
    rule: Annotated[str | None, typer.Option("--rule")] = None,
    duration: Annotated[str, typer.Option("--for", help="e.g. 30m, 2h, 1d.")] = "1h",
    comment: Annotated[str, typer.Option("--comment")] = "",
    workspace: RemoteWorkspaceOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hold back notifications (and retraining) of matching alerts for a while."""
    with open_workspace(workspace) as ws:
        made = ws.alerts.silence(
            monitor=monitor, deployment=deployment, rule=rule, duration=duration, comment=comment
        )
    if as_json:
        print_json(made.to_json())
        return
    out().print(f"Silenced until {fmt_time(made.ends_at)} ({made.silence_id})", markup=False)
