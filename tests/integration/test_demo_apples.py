"""The main job: ``pomona demo apples`` tells the whole story, and its end state holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pomona as pm
from pomona.pipelines import RunState


def test_the_apple_farm_demo_closes_the_loop(
    tmp_path: Path, demo_cli: Callable[[str, Path], str]
) -> None:
    farm = tmp_path / "farm"
    output = demo_cli("apples", farm)
    assert "alerts firing: none" in output  # day 1: photos like the farm's
    assert "alerts firing: accuracy, data_drift" in output
    assert "The whole loop took" in output and "Every step is on the dashboard" in output

    with pm.connect(str(farm)) as ws:
        fired = {a.rule for a in ws.alerts.list(monitor="apples-prod").items if a.fired_at}
        assert {"data_drift", "accuracy"} <= fired
        [retrain] = ws.pipelines.list_runs("retrain_apples").items
        assert retrain.state is RunState.SUCCEEDED
        assert retrain.trigger.startswith("event:alert.fired")
        decisions = [d for d in ws.monitors.retrains("apples") if d["decision"] == "emitted"]
        assert len(decisions) == 1  # two alerts asked, one retraining ran
        deployment = ws.deployments.get("apples-prod")
        assert deployment.rollout is None
        assert str(deployment.served["model"]) == "apples:2"
        assert ws.models.get_model("apples").aliases["champion"] == 2
        actions = [d.action for d in ws.deployments.decisions("apples-prod")]
        assert actions[0] == "promote" and "rollback" not in actions
        challenger = ws.models.get_version("apples:2")
        assert challenger.lineage.pipeline_run_id == retrain.run_id
        raw = ws.datasets.get_version("apples:1")
        assert raw.num_quarantined > 0  # the broken files were kept out
    assert "answered by apples:2 40" in output  # the second version serves 100 %
