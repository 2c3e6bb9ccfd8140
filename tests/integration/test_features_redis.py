"""The Redis online store against a real redis-server (Debian's package), started here."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import redis

import pomona
from pomona.errors import BackendUnavailableError
from pomona.features import Entity, FeatureService, FeatureView, FileSource
from pomona.features.online import OnlineRecord, open_online_store
from pomona.features.online.backends.redis import RedisOnlineStore
from pomona.features.online.conformance import check_online_store
from pomona.testing._servers import free_port

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server on a free port of 127.0.0.1, with no persistence; stopped after."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: apt-get install -y redis-server"
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder), "--protected-mode", "yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


def _fresh(url: str) -> RedisOnlineStore:
    redis.Redis.from_url(url).flushdb()
    return RedisOnlineStore(url)


def test_redis_store_conforms(redis_url: str) -> None:
    check_online_store(lambda: _fresh(redis_url))


def test_a_read_of_many_keys_is_one_command(redis_url: str) -> None:
    store = _fresh(redis_url)
    store.write([OnlineRecord("v", f"[{i}]", i, b"{}") for i in range(3000)])
    client = redis.Redis.from_url(redis_url)
    client.config_resetstat()
    got = store.read([("v", f"[{i}]") for i in range(3000)])
    stats = client.info("commandstats")
    assert sum(r is not None for r in got) == 3000
    assert stats["cmdstat_mget"]["calls"] == 1
    assert "cmdstat_get" not in stats
    store.close()


def test_an_unreachable_redis_is_a_clear_error() -> None:
    store = open_online_store(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(BackendUnavailableError, match="cannot be reached"):
        store.read([("v", "[1]")])


def test_a_workspace_serves_online_features_from_redis(redis_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    pd.DataFrame(
        {"apple_id": [1, 2, 1], "event_timestamp": [T0, T0, T0 + timedelta(hours=1)],
         "weight": [1.0, 2.0, 3.0]}
    ).to_parquet(tmp_path / "w.parquet")  # fmt: skip
    with pomona.connect(tmp_path / "ws", **{"features.online_url": redis_url}) as ws:
        ws.features.apply(
            [
                Entity("apple", join_keys={"apple_id": "int64"}),
                FeatureView("w", FileSource(str(tmp_path / "w.parquet")), ["apple"],
                            {"weight": "float64"}),
                FeatureService("s", ["w:weight"]),
            ]
        )  # fmt: skip
        ws.features.materialize_incremental(T0 + timedelta(days=1))
        assert ws.features.get_feature_vectors("s", {"apple_id": [1, 2, 3]}) == [
            [3.0],
            [2.0],
            [None],
        ]
        ws.features.push(
            "w", [{"apple_id": 2, "event_timestamp": T0 + timedelta(hours=2), "weight": 7.0}]
        )
        assert ws.features.get_feature_vectors("s", {"apple_id": [2]}) == [[7.0]]
    assert RedisOnlineStore(redis_url).count("w") == 2
