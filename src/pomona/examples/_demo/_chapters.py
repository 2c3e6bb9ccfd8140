"""The chapters of a demo's story, in order (see ``_story``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.examples._demo._server import DemoTimeoutError, wait_for
from pomona.examples._demo._story import computed_window, firing, next_window

if TYPE_CHECKING:
    from pomona.examples._demo._story import _Story
    from pomona.examples._demo._traffic import Customers, TrafficResult

__all__ = ["canary", "day0", "day1", "day2", "deploy", "retraining"]


def day0(story: _Story, folder: Path) -> Path:
    ws, sc, plan, say = story.ws, story.scenario, story.plan, story.say
    source, written = sc.write_day0(folder, plan)
    say("day 0", f"{written}.")
    pipe = sc.train_pipeline
    say("day 0", f"Pipeline {pipe.name}: ingest, validate, prepare, split, train, tune, gates.")
    params = {"source": str(source.resolve()), "n_trials": plan.n_trials, "folds": plan.folds}
    run = ws.pipelines.run(pipe, params)
    for step in run.steps:
        say("day 0", f"  {step.name:<9} {step.state.value}")
    if run.state.value != "succeeded":
        raise RuntimeError(f"{pipe.name} ended {run.state.value}: {run.error or ''}")
    raw = ws.datasets.get_version(ws.pipelines.load_output(run.run_id, "ingest"))
    tuned = ws.pipelines.load_output(run.run_id, "tune")
    linear = ws.pipelines.load_output(run.run_id, "train")
    champion = ws.models.get_version(f"{sc.model}@champion")
    story.summary.champion = str(champion.ref)
    story.summary.add(
        "1 ingest + validate",
        f"{raw.ref}: {raw.num_records:,} records, {raw.num_quarantined} quarantined",
        written,
    )
    acc = tuned["metrics"].get("accuracy", float("nan"))
    lift = ", ".join(f"{k} {v:+.3f}" for k, v in tuned["lift"].items())
    story.summary.add(
        "2 train + tune + gates",
        f"champion {champion.ref}: tuned forest, test accuracy {acc:.3f}",
        f"linear candidate {linear['metrics'].get('accuracy', float('nan')):.3f}; "
        f"lift over the baselines: {lift}",
    )
    say("day 0", f"Champion {champion.ref} (accuracy {acc:.3f}) passed the gates.")
    return source


def deploy(story: _Story) -> None:
    from pomona.monitoring import Log

    ws, sc, plan = story.ws, story.scenario, story.plan
    ws.pipelines.create_schedule(
        f"retrain-{story.monitor}",
        sc.retrain_target,
        on_event="alert.fired",
        event_filter={"monitor": story.monitor},
        params={
            "n_trials": plan.n_trials,
            "folds": plan.folds,
            "canary_steps": list(plan.canary_steps),
            "interval_s": plan.canary_interval_s,
            "min_samples": plan.min_samples,
            "min_feedback": plan.min_feedback,
            "max_p99_ratio": plan.max_p99_ratio,
        },
    )
    ws.deployments.create(sc.deployment, model=f"{sc.model}@champion")
    ws.monitors.create(
        sc.deployment,
        name=story.monitor,
        window=f"{plan.window_s}s",
        lag="2s",
        rules=sc.rules(plan),
        cooldown="30m",
        notify=[Log()],
        on_alert=sc.retrain_target,
    )
    import httpx

    def ready() -> bool:
        r = httpx.get(f"{story.url}/v2/models/{sc.deployment}/ready", timeout=5)
        return r.status_code == 200

    wait_for(ready, 90, "the server to load the deployment")
    story.summary.add(
        "3 deploy",
        f"{sc.deployment} serves {sc.model}@champion",
        f"upload page {story.url}/app/{sc.deployment}; a monitor window every "
        f"{plan.window_s} s (one simulated day)",
    )
    story.say("deploy", f"{sc.deployment} is live: {story.url}/app/{sc.deployment}")


def _traffic(story: _Story, customers: Customers, day: int) -> tuple[TrafficResult, float]:
    plan = story.plan
    bodies, truths = story.scenario.requests(day, plan.day_requests, seed=plan.seed + 100 * day)
    start = next_window(plan)
    story.say(f"day {day}", f"{len(bodies)} requests: {story.scenario.describe(day)}.")
    sent = customers.send(bodies, truths, max_s=plan.window_s - 2.0)
    story.say(f"day {day}", f"  {len(sent.answers)} answered (their true labels come later)")
    if not sent.answers:
        raise RuntimeError(f"No request was answered: {'; '.join(sent.errors)}")
    return sent, start


def day1(story: _Story, customers: Customers) -> None:
    sent, start = _traffic(story, customers, 1)
    computed_window(story, start)
    customers.feed_back(sent.answers)
    window = computed_window(story, start, labels=True)
    alerts = firing(story)
    story.say(
        "day 1", f"  window: {window.rows} rows; alerts firing: {', '.join(alerts) or 'none'}"
    )
    story.summary.add(
        "4 day 1",
        f"{window.rows} requests: {story.scenario.describe(1)}; "
        f"alerts: {', '.join(alerts) or 'none'}",
        f"accuracy {sent.accuracy:.3f} once labelled",
    )


def day2(story: _Story, customers: Customers, source: Path) -> None:
    added = story.scenario.add_labelled(source, story.plan)
    story.say("day 2", f"{added}.")
    sent, start = _traffic(story, customers, 2)
    computed_window(story, start)
    story.say("day 2", "  the true labels of day 2's answers arrive late")
    customers.feed_back(sent.answers)
    computed_window(story, start, labels=True)
    wait_for(lambda: "accuracy" in firing(story), 60, "the accuracy alert to fire")
    story.summary.alerts = firing(story)
    story.say("day 2", f"  alerts firing: {', '.join(story.summary.alerts)}")
    story.summary.add(
        "5 day 2",
        f"requests: {story.scenario.describe(2)}; alerts: {', '.join(story.summary.alerts)}",
        f"accuracy {sent.accuracy:.3f} once labelled (floor {story.plan.min_accuracy})",
    )


def retraining(story: _Story) -> None:
    ws, name = story.ws, story.scenario.retrain_target.rpartition(":")[2]

    def started() -> Any:
        runs = ws.pipelines.list_runs(name, limit=1).items
        return runs[0] if runs else None

    run = wait_for(started, 60, f"the pipeline {name} to start")
    story.summary.retrain_run = run.run_id
    story.say("retrain", f"The alert started {name} (run {run.run_id[:8]}) in the server.")

    def finished() -> Any:
        got = ws.pipelines.get_run(run.run_id)
        return got if got.state.value not in ("pending", "running") else None

    done = wait_for(finished, story.plan.timeout_s, f"the pipeline {name} to finish")
    for step in done.steps:
        story.say("retrain", f"  {step.name:<9} {step.state.value}")
    if done.state.value != "succeeded":
        raise RuntimeError(f"{name} ended {done.state.value}: {done.error or ''}")
    story.summary.challenger = str(ws.pipelines.load_output(run.run_id, "register"))
    decisions = ws.monitors.retrains(story.scenario.model)
    taken = sum(1 for d in decisions if d["decision"] == "emitted")
    story.summary.add(
        "6 retrain",
        f"{name} on the newest labelled data: {story.summary.challenger} passed the gates",
        f"{taken} retraining for {len(story.summary.alerts)} firing alerts "
        "(cooldown, one at a time)",
    )


def canary(story: _Story, customers: Customers) -> None:
    ws, sc, plan = story.ws, story.scenario, story.plan
    story.say(
        "canary", f"{story.summary.challenger} goes out as a canary: {list(plan.canary_steps)} %."
    )

    def over() -> bool:
        return ws.deployments.get(sc.deployment).rollout is None

    deadline = time.monotonic() + plan.timeout_s
    batch = 0
    while not over() and time.monotonic() < deadline:
        bodies, truths = sc.requests(3, 120, seed=plan.seed + 300, start=120 * batch)
        customers.send(bodies, truths, feedback=True, until=over, max_s=deadline - time.monotonic())
        batch += 1
    if not over():
        raise DemoTimeoutError("The canary did not finish in time.")
    found = list(ws.deployments.decisions(sc.deployment))  # newest first
    last = found[0].rollout_id if found else None
    story.summary.decisions = [d.action for d in reversed(found) if d.rollout_id == last]
    bodies, truths = sc.requests(3, 40, seed=plan.seed + 400)
    after = customers.send(bodies, truths)
    story.summary.served_after = after.models
    served = ", ".join(f"{m} {n}" for m, n in after.models.items())
    chain = " -> ".join(story.summary.decisions)
    story.say("canary", f"  decisions: {chain}; now serving {served}")
    last_reason = found[0].reason if found else ""
    story.summary.add(
        "7 canary",
        f"decisions: {chain} ({last_reason})",
        f"last {len(after.answers)} requests answered by {served}",
    )
