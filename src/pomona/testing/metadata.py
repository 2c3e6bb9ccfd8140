"""Conformance suite for metadata store backends.

Subclass ``MetadataStoreContract`` in a test module and provide two fixtures:
``store`` (an uninitialised store on an empty database) and ``unreachable`` (a store
whose database cannot be reached).
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from pomona.errors import BackendUnavailableError, ConfigError, ConflictError
from pomona.metadata import MetadataStore, insert_ignore, upsert
from pomona.metadata._migrations import head_revision
from pomona.metadata.schema import idempotency_keys, latest_metrics, runs

__all__ = ["MetadataStoreContract"]


def _run_row(run_id: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "name": "r",
        "experiment": "default",
        "status": "running",
        "start_ms": 0,
    }


class MetadataStoreContract:
    """Behaviour every metadata backend must show."""

    def test_a_fresh_database_is_not_a_workspace(self, store: MetadataStore) -> None:
        assert store.revision() is None
        with pytest.raises(ConfigError, match="pomona init"):
            store.check_schema()

    def test_initialize_builds_the_current_schema(self, store: MetadataStore) -> None:
        store.initialize()
        assert store.revision() == head_revision()
        store.check_schema()
        with pytest.raises(ConflictError, match="already initialised"):
            store.initialize()

    def test_a_failed_transaction_leaves_nothing(self, store: MetadataStore) -> None:
        store.initialize()
        with pytest.raises(RuntimeError), store.write() as conn:
            conn.execute(runs.insert().values(**_run_row("a" * 32)))
            raise RuntimeError("crash mid-way")
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 0

    def test_a_unique_violation_is_a_conflict(self, store: MetadataStore) -> None:
        store.initialize()
        with store.write() as conn:
            conn.execute(runs.insert().values(**_run_row("b" * 32)))
        with pytest.raises(ConflictError), store.write() as conn:
            conn.execute(runs.insert().values(**_run_row("b" * 32)))

    def test_upsert_and_insert_ignore(self, store: MetadataStore) -> None:
        store.initialize()
        with store.write() as conn:
            inserted = conn.execute(runs.insert().values(**_run_row("c" * 32)))
            pk = inserted.inserted_primary_key[0]  # type: ignore[index]
            row = {"run_pk": pk, "key": "acc", "step": 1, "ts_ms": 1, "value": 0.5}
            upsert(conn, latest_metrics, [row], ["run_pk", "key"], ["step", "value"])
            upsert(
                conn,
                latest_metrics,
                [{**row, "step": 0, "value": 0.1}],
                ["run_pk", "key"],
                ["step", "value"],
                where=lambda new: new.step >= latest_metrics.c.step,
            )
            assert insert_ignore(conn, idempotency_keys, {"key": "k", "created_ms": 0}, ["key"])
            assert not insert_ignore(conn, idempotency_keys, {"key": "k", "created_ms": 1}, ["key"])
        with store.read() as conn:
            value = conn.execute(select(latest_metrics.c.value)).scalar_one()
        assert value == 0.5  # the older step did not overwrite the newer one

    def test_concurrent_writers_all_succeed(self, store: MetadataStore) -> None:
        store.initialize()
        errors: list[BaseException] = []

        def work(worker: int) -> None:
            try:
                for i in range(20):
                    with store.write() as conn:
                        conn.execute(runs.insert().values(**_run_row(f"{worker:02d}{i:030d}")))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with store.read() as conn:
            assert conn.execute(select(func.count()).select_from(runs)).scalar_one() == 80

    def test_an_unreachable_database_is_a_clear_error(self, unreachable: MetadataStore) -> None:
        with pytest.raises((BackendUnavailableError, ConfigError)) as info:
            unreachable.check_schema()
        assert "cannot be reached" in str(info.value) or "not a Pomona" in str(info.value)
