"""Card transactions as numpy columns, and the DataFrame the public function returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.examples.fraud._patterns import (
    COUNTRIES,
    HOME_COUNTRIES,
    HOURS_DAY,
    LEGIT,
    MERCHANT_CATEGORIES,
    PHASES,
    FraudPattern,
    FraudPhase,
)

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["generate_transactions"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]
_DAY = 86_400
_HOME_WEIGHTS = np.array([0.35, 0.25, 0.15, 0.1, 0.1, 0.05])


@dataclass
class _Cards:
    home: I64  # index into COUNTRIES
    activity: F64  # probability that a legitimate transaction is this card's
    spend: F64  # amount multiplier


@dataclass
class _Columns:
    t: I64  # seconds since the epoch
    card: I64
    category: I64
    amount: F64
    country: I64
    distance: F64
    present: NDArray[np.bool_]
    fraud: NDArray[np.int8]


def _cards(rng: np.random.Generator, n: int) -> _Cards:
    activity = rng.lognormal(0.0, 0.8, n)
    return _Cards(
        home=rng.choice(len(HOME_COUNTRIES), size=n, p=_HOME_WEIGHTS),
        activity=activity / activity.sum(),
        spend=rng.lognormal(0.0, 0.3, n),
    )


def _at_hours(rng: np.random.Generator, day: I64, hours: F64, start: int) -> I64:
    hour = rng.choice(24, size=len(day), p=hours / hours.sum())
    return start + day * _DAY + hour * 3_600 + rng.integers(0, 3_600, len(day))


def _amounts(rng: np.random.Generator, median: F64, spread: F64) -> F64:
    raw = median * np.exp(spread * rng.standard_normal(len(median)))
    return np.asarray(np.round(np.clip(raw, 0.5, 20_000.0), 2), dtype=np.float64)


def _legit(rng: np.random.Generator, n: int, cards: _Cards, start: int, days: int) -> _Columns:
    card = rng.choice(len(cards.home), size=n, p=cards.activity)
    category = rng.choice(len(LEGIT), size=n, p=LEGIT[:, 0] / LEGIT[:, 0].sum())
    home = cards.home[card]
    abroad = rng.random(n) < 0.04
    country = np.where(abroad, rng.integers(0, len(COUNTRIES), n), home)
    abroad &= country != home
    distance = np.where(abroad, rng.lognormal(np.log(900.0), 0.7, n), rng.exponential(6.0, n))
    return _Columns(
        t=_at_hours(rng, rng.integers(0, days, n), HOURS_DAY, start),
        card=card,
        category=category,
        amount=_amounts(rng, LEGIT[category, 1] * cards.spend[card], LEGIT[category, 2]),
        country=country,
        distance=np.asarray(np.round(distance, 1), dtype=np.float64),
        present=rng.random(n) < LEGIT[category, 3],
        fraud=np.zeros(n, np.int8),
    )


def _incidents(
    rng: np.random.Generator, p: FraudPattern, n_tx: int, cards: _Cards, t0: I64
) -> _Columns:
    """``n_tx`` fraudulent transactions in incidents starting at ``t0`` (enough of them)."""
    sizes = rng.integers(p.sizes[0], p.sizes[1] + 1, len(t0))
    k = int(np.searchsorted(np.cumsum(sizes), n_tx))  # incidents needed
    sizes = sizes[: k + 1]
    sizes[-1] -= int(sizes.sum()) - n_tx
    incident = np.repeat(np.arange(k + 1), sizes)
    gaps = rng.uniform(*p.gap_minutes, n_tx) * 60.0
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    gaps[first] = 0.0
    offset = np.cumsum(gaps)
    offset -= np.repeat(offset[first], sizes)
    card = rng.integers(0, len(cards.home), k + 1)[incident]
    names = list(p.categories)
    weights = np.array([p.categories[c] for c in names])
    chosen = rng.choice(len(names), size=n_tx, p=weights / weights.sum())
    category = np.array([MERCHANT_CATEGORIES.index(c) for c in names])[chosen]
    abroad = (rng.random(k + 1) < p.abroad)[incident]
    foreign = rng.integers(len(HOME_COUNTRIES), len(COUNTRIES), k + 1)[incident]
    country = np.where(abroad, foreign, cards.home[card])
    far = rng.lognormal(np.log(4_000.0), 0.5, k + 1)[incident]
    distance = np.where(abroad, far, rng.exponential(12.0, n_tx))
    return _Columns(
        t=t0[: k + 1][incident] + offset.astype(np.int64),
        card=card,
        category=category,
        amount=_amounts(rng, np.full(n_tx, p.amount[0]), np.full(n_tx, p.amount[1])),
        country=country,
        distance=np.asarray(np.round(distance, 1), dtype=np.float64),
        present=rng.random(n_tx) < p.card_present,
        fraud=np.ones(n_tx, np.int8),
    )


def _fraud(
    rng: np.random.Generator, n_fraud: int, cards: _Cards, start: int, days: int, switch: int
) -> list[_Columns]:
    """Phase-1 incidents before ``switch`` and phase-2 incidents from it, at a constant rate."""
    end = start + days * _DAY
    switch = min(max(switch, start), end)
    n2 = round(n_fraud * (end - switch) / (end - start))
    out = []
    for phase, n_tx, lo, hi in (
        ("phase1", n_fraud - n2, start, switch),
        ("phase2", n2, switch, end),
    ):
        if n_tx == 0:
            continue
        pattern = PHASES[phase]
        day = rng.integers((lo - start) // _DAY, -((start - hi) // _DAY), n_tx)
        t0 = np.clip(_at_hours(rng, day, pattern.hours, start), lo, max(lo, hi - 3 * 3_600))
        out.append(_incidents(rng, pattern, n_tx, cards, t0))
    return out


def _recent(t: I64, card: I64) -> I64:
    """For each transaction, how many earlier ones its card made in the 24 hours before."""
    if len(t) == 0:
        return np.zeros(0, np.int64)
    rel = t - t.min()
    order = np.lexsort((rel, card))
    keys = card[order] * (int(rel.max()) + _DAY + 1) + rel[order]
    earlier = np.arange(len(t)) - np.searchsorted(keys, keys - _DAY, side="left")
    counts = np.empty(len(t), np.int64)
    counts[order] = earlier
    return counts


def _utc_seconds(when: datetime | str, field: str) -> int:
    try:
        moment = datetime.fromisoformat(when) if isinstance(when, str) else when
    except ValueError as exc:
        raise InvalidInputError(
            f"{field} {when!r} is not an ISO date or time.",
            hint="Use e.g. '2026-01-01' or '2026-01-15T12:00:00+00:00'.",
            details={"field": field},
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _check(n: int, days: int, fraud_rate: float, n_cards: int | None) -> None:
    rules = (
        ("n", n, n >= 0, "n >= 0"),
        ("days", days, days >= 1, "days >= 1"),
        ("fraud_rate", fraud_rate, 0.0 <= fraud_rate <= 0.5, "0 <= fraud_rate <= 0.5"),
        ("n_cards", n_cards, n_cards is None or n_cards >= 1, "n_cards >= 1"),
    )
    for field, value, ok, rule in rules:
        if not ok:
            raise InvalidInputError(
                f"generate_transactions got {field}={value}; it needs {rule}.",
                details={"field": field},
            )


def _switch_time(strategy: FraudPhase | datetime | str, start: int, days: int) -> int:
    if strategy == "phase1":
        return start + days * _DAY
    if strategy == "phase2":
        return start
    if isinstance(strategy, str) and not strategy[:1].isdigit():
        raise InvalidInputError(
            f"strategy {strategy!r} is neither 'phase1', 'phase2' nor a time.",
            details={"field": "strategy"},
        )
    return _utc_seconds(strategy, "strategy")


def generate_transactions(
    n: int,
    *,
    seed: int,
    start: datetime | str = "2026-01-01",
    days: int = 30,
    strategy: FraudPhase | datetime | str = "phase1",
    fraud_rate: float = 0.02,
    n_cards: int | None = None,
) -> pd.DataFrame:
    """``n`` card transactions over ``days`` days from ``start``, sorted by time.

    Columns: transaction_id, timestamp (UTC), card_id, amount, merchant_category
    (categorical, ``MERCHANT_CATEGORIES``), country, hour, distance_from_home_km,
    card_present, n_tx_last_24h (earlier transactions of the card in the 24 h before),
    is_fraud (0/1).

    Args:
        n: number of transactions; ``round(n * fraud_rate)`` of them are fraud.
        seed: the same seed and arguments give the same table.
        start: first day (naive times are UTC).
        days: length of the period.
        strategy: ``"phase1"`` (large purchases abroad at night), ``"phase2"`` (bursts of
            small purchases at home), or the time at which phase 1 turns into phase 2.
        fraud_rate: share of fraudulent transactions, at most 0.5.
        n_cards: number of cardholders; by default one per 25 transactions (at least 50).
    """
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas is there in the dev environment
        raise ImportError("generate_transactions needs pandas: pip install pandas") from exc

    _check(n, days, fraud_rate, n_cards)
    t_start = _utc_seconds(start, "start")
    switch = _switch_time(strategy, t_start, days)
    rng = np.random.default_rng(seed)
    n_fraud = round(n * fraud_rate)
    cards = _cards(rng, n_cards if n_cards is not None else max(50, n // 25))
    parts = [_legit(rng, n - n_fraud, cards, t_start, days)]
    parts += _fraud(rng, n_fraud, cards, t_start, days, switch)
    cols = {
        f: np.concatenate([getattr(p, f) for p in parts]) for f in _Columns.__dataclass_fields__
    }
    order = np.argsort(cols["t"], kind="stable")
    cols = {f: v[order] for f, v in cols.items()}
    card_names = np.array([f"card_{i:05d}" for i in range(len(cards.home))], dtype=object)
    return pd.DataFrame(
        {
            "transaction_id": [f"tx_{i:08d}" for i in range(1, n + 1)],
            "timestamp": pd.to_datetime(cols["t"], unit="s", utc=True),
            "card_id": card_names[cols["card"]],
            "amount": cols["amount"],
            "merchant_category": pd.Categorical.from_codes(
                cols["category"], categories=list(MERCHANT_CATEGORIES)
            ),
            "country": np.asarray(COUNTRIES, dtype=object)[cols["country"]],
            "hour": (cols["t"] // 3_600) % 24,
            "distance_from_home_km": cols["distance"],
            "card_present": cols["present"],
            "n_tx_last_24h": _recent(cols["t"], cols["card"]),
            "is_fraud": cols["fraud"].astype(np.int64),
        }
    )
