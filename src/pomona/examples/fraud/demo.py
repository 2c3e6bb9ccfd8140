"""The bank's story (``pomona demo fraud``): the same loop as the apple farm's, on tables.

Day 0 a month of phase-1 transactions (fraud: large purchases abroad at night) trains the
champion; day 1 brings more of the same; day 2 the fraudsters switch to bursts of small
purchases at home, and the investigators' confirmed cases of the new kind land in the
transactions folder for the retraining.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pomona.examples._demo import DemoPlan, demo_rules
from pomona.examples.fraud._generator import generate_transactions
from pomona.examples.fraud.pipelines import train_fraud

__all__ = ["CardFraud"]

FRAUD_RATE = 0.1
"""A tenth of the demo's transactions are fraud, so that a window of a few hundred holds
enough of them to measure."""

DAYS = 45
DAY1 = "2026-01-31"
"""Day 0 is January; the next three days are more of the same."""
PHASE2 = "2026-02-03"
"""The fraudsters switch; the investigators' cases are the first week of it."""
TRAFFIC = "2026-02-09"
"""From here on, transactions are the day-2 and canary traffic."""


class CardFraud:
    """Card transactions, fraud 0/1, a forest on the encoded table, a scoring API.

    One stream of transactions (``generate_transactions`` over 45 days, the fraud
    pattern switching on 3 February) is cut into the training month, day 1's traffic,
    the investigated cases and day 2's traffic, so card histories stay consistent.
    """

    name = "card-fraud"
    dataset = "transactions"
    model = "fraud"
    deployment = "fraud-prod"
    train_pipeline = train_fraud
    retrain_target = "pomona.examples.fraud.pipelines:retrain_fraud"
    target_accuracy = 0.9

    def plan(self, quick: bool) -> DemoPlan:
        if quick:
            return DemoPlan(
                rows=3000,
                day_requests=200,
                labelled=0,
                window_s=12,
                n_trials=2,
                folds=2,
                min_accuracy=0.95,
            )
        return DemoPlan(
            rows=6000,
            day_requests=300,
            labelled=0,
            window_s=15,
            n_trials=4,
            folds=3,
            min_accuracy=0.95,
        )

    def write_day0(self, folder: Path, plan: DemoPlan) -> tuple[Path, str]:
        source = folder / "transactions"
        source.mkdir(parents=True, exist_ok=True)
        self._stream = _stream(plan.rows, plan.seed)
        january = self._between(None, DAY1)
        _write_csv(january, source / "2026-01.csv")
        return source, f"The bank exports {len(january):,} transactions of January into {source}"

    def add_labelled(self, source: Path, plan: DemoPlan) -> str:
        cases = self._between(PHASE2, TRAFFIC)
        _write_csv(cases, source / "2026-02-investigated.csv")
        return (
            f"The investigators add {len(cases):,} checked transactions of the new kind "
            "to the folder"
        )

    def requests(
        self, day: int, n: int, *, seed: int, start: int = 0
    ) -> tuple[list[dict[str, Any]], list[str]]:
        pool = self._between(DAY1, PHASE2) if day == 1 else self._between(TRAFFIC, None)
        rng = np.random.default_rng([seed, start])
        frame = pool.iloc[rng.choice(len(pool), size=n, replace=n > len(pool))]
        truths = [str(v) for v in frame["is_fraud"]]
        frame = frame.drop(columns=["is_fraud", "transaction_id", "timestamp", "card_id"])
        frame["merchant_category"] = frame["merchant_category"].astype(str)
        return [{"records": [row]} for row in frame.to_dict(orient="records")], truths

    def rules(self, plan: DemoPlan) -> list[Any]:
        return demo_rules(plan, min_confidence=0.85)

    def describe(self, day: int) -> str:
        if day == 1:
            return "card payments like January's"
        return "card payments, with fraud of a new kind: bursts of small purchases at home"

    def _between(self, start: str | None, end: str | None) -> Any:
        frame = self._stream
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= (frame["timestamp"] >= start).to_numpy()
        if end is not None:
            keep &= (frame["timestamp"] < end).to_numpy()
        return frame[keep]


@cache
def _stream(rows: int, seed: int) -> Any:
    """45 days of transactions, ``rows`` of them in January."""
    return generate_transactions(
        round(rows * DAYS / 30),
        seed=seed,
        days=DAYS,
        strategy=PHASE2,
        fraud_rate=FRAUD_RATE,
    )


def _write_csv(frame: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)
