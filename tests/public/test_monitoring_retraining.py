"""Closing the loop: a firing alert starts the retraining pipeline through its trigger,
once; the cooldown keeps a second alert from starting another."""

from __future__ import annotations

import json
from pathlib import Path

import pomona as pm
from pomona.monitoring import AlertRule
from pomona.pipelines import Scheduler
from pomona.testing.monitoring import synthetic_log, write_log

HOUR = 3_600_000
T0 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR
FLOW = """
import json
from pathlib import Path

import pomona as pm


@pm.step
def retrain_model(event: dict) -> str:
    Path(__file__).with_name("retrained.jsonl").open("a").write(json.dumps(event) + "\\n")
    return event["model"]


@pm.pipeline
def retrain(event: dict | None = None) -> None:
    retrain_model(event or {})
"""


def test_an_alert_starts_the_retraining_pipeline_once_per_cooldown(tmp_path: Path) -> None:
    (tmp_path / "flow.py").write_text(FLOW)
    target = f"{tmp_path / 'flow.py'}:retrain"
    with pm.connect(tmp_path / "ws") as ws:
        assert ws.metadata_store is not None and ws.artifact_store is not None
        rule = AlertRule("errors", "error_rate", ">", 0.1, retrain=True)
        ws.monitors.create("shop", window="1h", rules=[rule], cooldown="1d", on_alert=target)
        assert ws.pipelines.get_schedule("retrain-shop").event_type == "alert.fired"
        scheduler = Scheduler(ws.pipelines, poll_s=0.1)

        for i, errors in enumerate([0.3, 0.0, 0.3]):  # fires, resolves, fires again
            rows = synthetic_log(
                300, T0 + i * HOUR, T0 + (i + 1) * HOUR, deployment="shop", error_rate=errors
            )
            write_log(ws.metadata_store, ws.artifact_store, rows)
            ws.monitors.run("shop")
            scheduler.run_once()

        lines = (tmp_path / "retrained.jsonl").read_text().splitlines()
        assert len(lines) == 1
        event = json.loads(lines[0])
        assert (event["type"], event["monitor"], event["rule"]) == ("alert.fired", "shop", "errors")
        runs = list(ws.pipelines.list_runs("retrain"))
        assert [r.trigger.split("#")[0] for r in runs] == ["event:alert.fired"]
        decisions = [d["decision"] for d in reversed(ws.monitors.retrains("demo"))]
        assert decisions == ["emitted", "refused"]
