"""Card transactions with a fraud pattern that changes over time: the drift example for tables.

Phase 1 fraudsters make few large card-not-present purchases abroad at night; phase 2
fraudsters make bursts of small purchases at home in the daytime. A model trained on
phase 1 misses phase 2.

>>> from pomona.examples.fraud import generate_transactions
>>> df = generate_transactions(1_000, seed=0, strategy="2026-01-16")
>>> int(df["is_fraud"].sum())
20
"""

from __future__ import annotations

from pomona.examples.fraud._generator import generate_transactions
from pomona.examples.fraud._patterns import (
    COUNTRIES,
    MERCHANT_CATEGORIES,
    PHASES,
    FraudPattern,
    FraudPhase,
)

# Plain sorted() order, as tests/test_exported_members.py checks (ruff's RUF022 wants another).
__all__ = [  # noqa: RUF022
    "COUNTRIES",
    "FraudPattern",
    "FraudPhase",
    "MERCHANT_CATEGORIES",
    "PHASES",
    "generate_transactions",
]
