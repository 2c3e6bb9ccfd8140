"""The conformance suite every ``OnlineStore`` backend passes (plain asserts, no pytest).

Run it with ``check_online_store(lambda: MyOnlineStore(...))``.
"""

from __future__ import annotations

from collections.abc import Callable

from pomona.features.online.base import OnlineRecord, OnlineStore

__all__ = ["CHECKS", "check_online_store"]


def _rec(view: str, key: str, ms: int, payload: bytes = b"{}") -> OnlineRecord:
    return OnlineRecord(view, key, ms, payload)


def reads_what_was_written(store: OnlineStore) -> None:
    written = store.write([_rec("a", "[1]", 10, b'{"x":1}'), _rec("b", '["k"]', 20, b'{"y":2}')])
    assert written == 2
    got = store.read([("a", "[1]"), ("b", '["k"]'), ("a", "[2]"), ("c", "[1]")])
    assert got == [
        _rec("a", "[1]", 10, b'{"x":1}'),
        _rec("b", '["k"]', 20, b'{"y":2}'),
        None,
        None,
    ]
    assert store.read([]) == []


def newer_wins_and_writes_are_idempotent(store: OnlineStore) -> None:
    store.write([_rec("a", "[1]", 10, b'{"x":1}')])
    assert store.write([_rec("a", "[1]", 5, b'{"x":0}')]) == 0  # older: ignored
    assert store.read([("a", "[1]")]) == [_rec("a", "[1]", 10, b'{"x":1}')]
    assert store.write([_rec("a", "[1]", 10, b'{"x":1}')]) == 1  # the same again: harmless
    store.write([_rec("a", "[1]", 11, b'{"x":2}'), _rec("a", "[1]", 12, b'{"x":3}')])
    assert store.read([("a", "[1]")]) == [_rec("a", "[1]", 12, b'{"x":3}')]


def views_are_separate(store: OnlineStore) -> None:
    store.write([_rec("ab", "[1]", 1), _rec("ab_c", "[1]", 2), _rec("a", "[1]", 3)])
    assert store.count("ab") == 1
    assert store.delete_view("ab") == 1
    assert store.read([("ab", "[1]"), ("ab_c", "[1]"), ("a", "[1]")]) == [
        None,
        _rec("ab_c", "[1]", 2),
        _rec("a", "[1]", 3),
    ]
    assert store.delete_view("ab") == 0


def many_keys_in_one_read(store: OnlineStore) -> None:
    records = [_rec("big", f"[{i}]", i, b'{"i":%d}' % i) for i in range(5000)]
    assert store.write(records) == 5000
    keys = [("big", f"[{i}]") for i in range(4999, -1, -1)]
    got = store.read(keys)
    assert [r.event_ms if r else None for r in got] == list(range(4999, -1, -1))
    assert store.count("big") == 5000


def repeated_keys_are_answered_in_order(store: OnlineStore) -> None:
    store.write([_rec("a", "[1]", 1, b'{"x":1}'), _rec("a", "[2]", 2, b'{"x":2}')])
    got = store.read([("a", "[2]"), ("a", "[9]"), ("a", "[2]"), ("a", "[1]")])
    assert [r.event_ms if r else None for r in got] == [2, None, 2, 1]


CHECKS: tuple[Callable[[OnlineStore], None], ...] = (
    reads_what_was_written,
    newer_wins_and_writes_are_idempotent,
    views_are_separate,
    many_keys_in_one_read,
    repeated_keys_are_answered_in_order,
)


def check_online_store(factory: Callable[[], OnlineStore]) -> None:
    """Run every check on a fresh, empty store from ``factory``."""
    for check in CHECKS:
        with factory() as store:
            check(store)
