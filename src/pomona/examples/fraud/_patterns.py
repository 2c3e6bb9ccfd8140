"""Who spends how: legitimate habits per merchant category, and the two fraud strategies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "COUNTRIES",
    "HOME_COUNTRIES",
    "HOURS_DAY",
    "LEGIT",
    "MERCHANT_CATEGORIES",
    "PHASES",
    "FraudPattern",
    "FraudPhase",
]

FraudPhase = Literal["phase1", "phase2"]

MERCHANT_CATEGORIES: tuple[str, ...] = (
    "grocery", "restaurant", "fuel", "clothing", "pharmacy", "travel",
    "electronics", "jewelry", "online_retail", "digital_goods", "gaming", "gift_cards",
)  # fmt: skip
"""The categories of ``merchant_category``, in this order."""

HOME_COUNTRIES: tuple[str, ...] = ("NL", "DE", "FR", "BE", "GB", "ES")
"""Where cardholders live (weights 35/25/15/10/10/5 %)."""
COUNTRIES: tuple[str, ...] = (*HOME_COUNTRIES, "US", "BR", "TH", "RO", "ZA", "MX", "IN", "AU")
"""Every code that appears in ``country``."""

# Per category (in MERCHANT_CATEGORIES order): share of legitimate transactions,
# median amount, log-spread of the amount, probability that the card is present.
LEGIT: NDArray[np.float64] = np.array([
    (0.24, 35, 0.6, 0.95), (0.18, 28, 0.6, 0.95), (0.11, 50, 0.35, 0.98), (0.08, 60, 0.7, 0.85),
    (0.06, 20, 0.6, 0.95), (0.03, 300, 0.8, 0.3), (0.04, 180, 0.9, 0.6), (0.01, 250, 0.9, 0.9),
    (0.13, 45, 0.8, 0.0), (0.06, 12, 0.7, 0.0), (0.03, 15, 0.8, 0.0), (0.03, 40, 0.6, 0.5),
])  # fmt: skip

HOURS_DAY: NDArray[np.float64] = np.array([
    1, .5, .3, .2, .2, .4, 1, 2.5, 4, 5, 5.5, 6, 7, 6, 5.5, 5.5, 6, 7, 7.5, 6.5, 5, 4, 3, 2,
])  # fmt: skip
"""Relative frequency of each hour (UTC) for people who sleep at night."""
_HOURS_NIGHT = np.array([
    5, 6, 6, 6, 5, 4, 3, 2, 1.5, 1.5, 1.5, 1.5, 2, 1.5, 1.5, 1.5, 1.5, 2, 2, 2, 2.5, 3, 4, 4.5,
], dtype=np.float64)  # fmt: skip


@dataclass(frozen=True)
class FraudPattern:
    """How one fraud strategy behaves: an incident is a burst of transactions on one card."""

    sizes: tuple[int, int]
    """Transactions per incident (inclusive range)."""
    gap_minutes: tuple[float, float]
    """Minutes between the transactions of an incident."""
    hours: NDArray[np.float64]
    """Relative frequency of the hour an incident starts."""
    categories: dict[str, float]
    amount: tuple[float, float]
    """Median amount and log-spread."""
    card_present: float
    abroad: float
    """Probability that an incident happens in another country, far from home."""


PHASES: dict[str, FraudPattern] = {
    "phase1": FraudPattern(
        sizes=(1, 2),
        gap_minutes=(3.0, 40.0),
        hours=_HOURS_NIGHT,
        categories={"electronics": 0.45, "jewelry": 0.25, "travel": 0.2, "online_retail": 0.1},
        amount=(450.0, 0.8),
        card_present=0.15,
        abroad=0.7,
    ),
    "phase2": FraudPattern(
        sizes=(5, 14),
        gap_minutes=(1.0, 12.0),
        hours=HOURS_DAY,
        categories={"digital_goods": 0.35, "gaming": 0.25, "gift_cards": 0.25, "grocery": 0.15},
        amount=(6.0, 0.6),
        card_present=0.35,
        abroad=0.0,
    ),
}
"""Phase 1: few large purchases abroad at night. Phase 2: bursts of small ones at home."""
