"""``pomona demo fraud``: the same loop on tables, and its end state."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pomona as pm
from pomona.pipelines import RunState


def test_the_fraud_demo_closes_the_loop(
    tmp_path: Path, demo_cli: Callable[[str, Path], str]
) -> None:
    bank = tmp_path / "bank"
    output = demo_cli("fraud", bank)
    assert "alerts firing: none" in output  # day 1: payments like January's

    with pm.connect(str(bank)) as ws:
        fired = {a.rule for a in ws.alerts.list(monitor="fraud-prod").items if a.fired_at}
        assert "accuracy" in fired
        [retrain] = ws.pipelines.list_runs("retrain_fraud").items
        assert retrain.state is RunState.SUCCEEDED
        assert retrain.trigger.startswith("event:alert.fired")
        assert ws.models.get_model("fraud").aliases["champion"] == 2
        deployment = ws.deployments.get("fraud-prod")
        assert deployment.rollout is None and str(deployment.served["model"]) == "fraud:2"
        # the retraining read the folder again: January plus the investigated cases
        data = ws.datasets.get_version(ws.pipelines.load_output(retrain.run_id, "ingest"))
        assert data.num_records > ws.datasets.get_version("transactions:1").num_records
        # requests carry the raw columns; serving applies the fitted preparation
        answer = ws.deployments.predict(
            "fraud-prod",
            [
                {
                    "amount": 12.5,
                    "merchant_category": "gaming",
                    "country": "NL",
                    "hour": 14,
                    "distance_from_home_km": 2.0,
                    "card_present": False,
                    "n_tx_last_24h": 9,
                }
            ],
        )
        assert answer["model"] == "fraud:2" and answer["predictions"][0] in (0, 1, "0", "1")
    assert "answered by fraud:2 40" in output
