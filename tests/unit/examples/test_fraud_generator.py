from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from pomona.errors import InvalidInputError
from pomona.examples.fraud import MERCHANT_CATEGORIES, generate_transactions

COLUMNS = [
    "transaction_id", "timestamp", "card_id", "amount", "merchant_category", "country", "hour",
    "distance_from_home_km", "card_present", "n_tx_last_24h", "is_fraud",
]  # fmt: skip


def test_columns_types_and_fraud_count() -> None:
    df = generate_transactions(2_000, seed=0, start="2026-03-01", days=10, fraud_rate=0.05)

    assert list(df.columns) == COLUMNS
    assert len(df) == 2_000 and df["transaction_id"].is_unique
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["timestamp"].is_monotonic_increasing
    assert df["timestamp"].min() >= pd.Timestamp("2026-03-01", tz="UTC")
    assert df["timestamp"].max() < pd.Timestamp("2026-03-11", tz="UTC")
    assert list(df["merchant_category"].cat.categories) == list(MERCHANT_CATEGORIES)
    assert df["card_present"].dtype == bool
    assert (df["hour"] == df["timestamp"].dt.hour).all()
    assert set(df["is_fraud"].unique()) == {0, 1}
    assert df["is_fraud"].sum() == 100
    assert (df["amount"] > 0).all() and (df["distance_from_home_km"] >= 0).all()


def test_same_seed_same_table_other_seed_other_table() -> None:
    a = generate_transactions(500, seed=3, strategy="phase2")
    b = generate_transactions(500, seed=3, strategy="phase2")
    c = generate_transactions(500, seed=4, strategy="phase2")
    pd.testing.assert_frame_equal(a, b)
    assert not a["amount"].equals(c["amount"])


def test_n_tx_last_24h_counts_the_cards_earlier_transactions() -> None:
    df = generate_transactions(400, seed=1, days=5, n_cards=6, strategy="phase2", fraud_rate=0.1)
    t = df["timestamp"].to_numpy()
    cards = df["card_id"].to_numpy()
    expected = [
        int(((cards[:i] == cards[i]) & (t[:i] >= t[i] - np.timedelta64(1, "D"))).sum())
        for i in range(len(df))
    ]
    assert df["n_tx_last_24h"].tolist() == expected


def test_the_two_fraud_strategies_look_different() -> None:
    p1 = generate_transactions(5_000, seed=2, strategy="phase1", fraud_rate=0.05)
    p2 = generate_transactions(5_000, seed=2, strategy="phase2", fraud_rate=0.05)
    f1, f2 = p1[p1["is_fraud"] == 1], p2[p2["is_fraud"] == 1]

    assert f1["amount"].median() > 20 * f2["amount"].median()
    assert f1["distance_from_home_km"].median() > 500 > f2["distance_from_home_km"].median()
    assert (f1["hour"] < 6).mean() > 0.3 > (f2["hour"] < 6).mean()
    assert f2["n_tx_last_24h"].median() >= 4 > f1["n_tx_last_24h"].median()
    assert set(f2["merchant_category"]) <= {"digital_goods", "gaming", "gift_cards", "grocery"}


def test_strategy_switches_at_the_given_time() -> None:
    switch = datetime(2026, 1, 16, tzinfo=UTC)
    df = generate_transactions(10_000, seed=5, strategy=switch)
    fraud = df[df["is_fraud"] == 1]
    before = fraud[fraud["timestamp"] < switch]
    after = fraud[fraud["timestamp"] >= switch + timedelta(hours=3)]

    assert len(before) > 50 and len(after) > 50
    assert before["amount"].median() > 100 > 30 > after["amount"].median()


def test_a_switch_outside_the_period_is_one_phase_and_empty_tables_work() -> None:
    early = generate_transactions(2_000, seed=0, strategy="2025-06-01", fraud_rate=0.05)
    phase2 = generate_transactions(2_000, seed=0, strategy="phase2", fraud_rate=0.05)
    pd.testing.assert_frame_equal(early, phase2)
    assert list(generate_transactions(0, seed=0).columns) == COLUMNS


def _features(df: pd.DataFrame) -> np.ndarray:
    numeric = df[["amount", "hour", "distance_from_home_km", "card_present", "n_tx_last_24h"]]
    numeric = numeric.astype(float).assign(
        amount=np.log1p(df["amount"]), distance_from_home_km=np.log1p(df["distance_from_home_km"])
    )
    categories = pd.get_dummies(df["merchant_category"]).astype(float)
    return pd.concat([numeric, categories], axis=1).to_numpy()


def test_a_model_trained_on_phase1_misses_phase2() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    train = generate_transactions(20_000, seed=1, strategy="phase1")
    same = generate_transactions(10_000, seed=2, start="2026-02-01", strategy="phase1")
    changed = generate_transactions(10_000, seed=3, start="2026-02-01", strategy="phase2")
    model = LogisticRegression(max_iter=2_000).fit(_features(train), train["is_fraud"])

    auc_same = roc_auc_score(same["is_fraud"], model.predict_proba(_features(same))[:, 1])
    auc_changed = roc_auc_score(changed["is_fraud"], model.predict_proba(_features(changed))[:, 1])
    assert auc_same > 0.95  # measured: 0.995
    assert auc_changed < auc_same - 0.3  # measured: 0.18


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fraud_rate": 0.9}, "fraud_rate"),
        ({"days": 0}, "days"),
        ({"strategy": "phase3"}, "strategy"),
        ({"start": "yesterday"}, "start"),
    ],
    ids=["rate", "days", "strategy", "start"],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        generate_transactions(100, seed=0, **kwargs)  # type: ignore[arg-type]
