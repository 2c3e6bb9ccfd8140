"""Feature store benchmark: prints times, latencies and peak memory (no assertions).

    .venv/bin/python bench/features.py [--rows 10000000] [--entity-rows 1000000]
        [--materialize 100000] [--lookups 2000] [--repeat 3] [--no-redis]

Targets on a 2-core machine: the point-in-time join of 1,000,000 entity rows against a
10,000,000-row feature table in <= 10 s and <= 2 GB peak memory (a direct DuckDB ASOF join
is printed for comparison); online lookup of 100 features, p99 <= 0.5 ms for one entity
and <= 5 ms for 100 entities on SQLite; materialising 100,000 entities in <= 3 s; peak
memory of materialisation flat when the source doubles.

Phases that report peak memory run in a child process of their own (peak RSS, VmHWM).
Timed phases run ``--repeat`` times and print each run and the median: on a shared
machine single runs are noisy. Lookups also print the client's CPU time per call (p99),
which waiting for a CPU does not inflate.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
import pyarrow.parquet as pq  # type: ignore[import-untyped,unused-ignore]

import pomona
from pomona.features import Entity, FeatureService, FeatureView, FileSource

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_US = 365 * 86400 * 10**6
FEATURES = {"f0": "float64", "f1": "float64", "f2": "float64", "f3": "int64"}


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from
    the parent that forked it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ts(values: np.ndarray) -> pa.Array:
    base = int(T0.timestamp() * 10**6)
    return pa.array(base + values, pa.timestamp("us", tz="UTC"))


def write_feature_table(path: Path, rows: int, entities: int, seed: int = 0) -> None:
    """``rows`` feature rows of ``entities`` drivers over a year, in 1M-row groups."""
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, _feature_schema()) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            writer.write_table(
                pa.table(
                    {
                        "driver_id": rng.integers(0, entities, n),
                        "event_timestamp": _ts(rng.integers(0, SPAN_US, n)),
                        "f0": rng.random(n),
                        "f1": rng.random(n),
                        "f2": rng.random(n),
                        "f3": rng.integers(0, 100, n),
                    },
                    schema=_feature_schema(),
                )
            )


def _feature_schema() -> pa.Schema:
    return pa.schema(
        [
            ("driver_id", pa.int64()),
            ("event_timestamp", pa.timestamp("us", tz="UTC")),
            ("f0", pa.float64()),
            ("f1", pa.float64()),
            ("f2", pa.float64()),
            ("f3", pa.int64()),
        ]
    )


def _definitions(path: Path, name: str = "stats", ttl_days: int = 30) -> list[Any]:
    return [
        Entity("driver", join_keys={"driver_id": "int64"}),
        FeatureView(
            name,
            source=FileSource(str(path)),
            entities=["driver"],
            features=FEATURES,
            ttl=timedelta(days=ttl_days),
        ),
    ]


def _child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def child_pit(workspace: str, entities_path: str) -> dict[str, Any]:
    entity_df = pq.read_table(entities_path)
    features = [f"stats:{f}" for f in FEATURES]
    with pomona.connect(workspace) as ws:
        start = time.perf_counter()
        table = ws.features.get_historical_table(entity_df, features)
        seconds = time.perf_counter() - start
        matched = table.num_rows - table.column("f0").null_count
    return {"seconds": seconds, "rows": table.num_rows, "matched": matched, "peak_mb": _peak_mb()}


def child_direct(snapshot: str, entities_path: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1024MB"})
    sql = (
        f"SELECT e.*, f.f0, f.f1, f.f2, f.f3 FROM read_parquet('{entities_path}') e "
        f"ASOF LEFT JOIN read_parquet('{snapshot}') f "
        "ON e.driver_id = f.driver_id AND e.event_timestamp >= f._event_ts"
    )
    start = time.perf_counter()
    table = con.sql(sql).to_arrow_table()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "rows": table.num_rows, "peak_mb": _peak_mb()}


def child_materialize(workspace: str) -> dict[str, Any]:
    with pomona.connect(workspace, **{"features.memory_limit_mb": 256}) as ws:
        start = time.perf_counter()
        result = ws.features.materialize(T0 - timedelta(days=1), T0 + timedelta(days=400))
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "entities": result.entities, "peak_mb": _peak_mb()}


def bench_pit(folder: Path, rows: int, entity_rows: int, repeat: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    features_path = folder / "features.parquet"
    entities_path = folder / "entities.parquet"
    start = time.perf_counter()
    write_feature_table(features_path, rows, entity_rows)
    rng = np.random.default_rng(1)
    pq.write_table(
        pa.table(
            {
                "driver_id": rng.integers(0, int(entity_rows * 1.1), entity_rows),
                "event_timestamp": _ts(rng.integers(0, SPAN_US, entity_rows)),
            }
        ),
        entities_path,
    )
    print(f"point-in-time join: {entity_rows:,} entity rows x {rows:,} feature rows")
    print(f"  generate data                {time.perf_counter() - start:8.2f} s")
    workspace = folder / "ws"
    with pomona.connect(workspace) as ws:
        start = time.perf_counter()
        ws.features.apply(_definitions(features_path))
        snapshot = ws.features.get_feature_view("stats").snapshot
        assert snapshot is not None
        print(f"  ingest (snapshot, once)      {time.perf_counter() - start:8.2f} s")
        snap_file = next(
            (workspace / ".pomona" / "cache" / "features" / "blobs").glob(
                snapshot.digest.split(":")[1] + ".parquet"
            )
        )
    pits, directs = [], []
    for _ in range(repeat):  # interleaved, so both see the same load
        pits.append(_child("pit", str(workspace), str(entities_path)))
        directs.append(_child("direct", str(snap_file), str(entities_path)))
    pit = pits[0]
    print(
        f"  get_historical_features      {_median(pits, 'seconds'):8.2f} s   peak "
        f"{_median(pits, 'peak_mb'):7.0f} MB   (median of {_runs(pits, 'seconds')}; "
        f"{pit['rows']:,} rows kept, {pit['matched']:,} with a value in the TTL)"
    )
    print(
        f"  direct DuckDB ASOF join      {_median(directs, 'seconds'):8.2f} s   peak "
        f"{_median(directs, 'peak_mb'):7.0f} MB   (median of {_runs(directs, 'seconds')}; "
        "no TTL, no type checks)"
    )


def _median(results: list[dict[str, Any]], field: str) -> float:
    return float(statistics.median(r[field] for r in results))


def _runs(results: list[dict[str, Any]], field: str) -> str:
    return " / ".join(f"{r[field]:.2f}" for r in results)


def _lookup_setup(ws: Any, folder: Path, entities: int) -> None:
    """5 views x 20 features = 100 features of ``entities`` drivers, materialised."""
    rng = np.random.default_rng(2)
    definitions: list[Any] = [Entity("driver", join_keys={"driver_id": "int64"})]
    refs: list[str] = []
    for v in range(5):
        names = [f"v{v}_f{i}" for i in range(20)]
        data = {"driver_id": np.arange(entities), "event_timestamp": _ts(np.zeros(entities, int))}
        data.update({n: rng.random(entities) for n in names})
        pq.write_table(pa.table(data), folder / f"v{v}.parquet")
        definitions.append(
            FeatureView(
                f"v{v}",
                FileSource(str(folder / f"v{v}.parquet")),
                ["driver"],
                dict.fromkeys(names, "float64"),
            )
        )
        refs.extend(f"v{v}:{n}" for n in names)
    definitions.append(FeatureService("hundred", refs))
    ws.features.apply(definitions)
    ws.features.materialize(T0 - timedelta(days=1), T0 + timedelta(days=1))


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    return p50, p99


def bench_lookup(folder: Path, online_url: str, label: str, lookups: int, repeat: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    entities = 10_000
    with pomona.connect(folder / "ws", **{"features.online_url": online_url}) as ws:
        _lookup_setup(ws, folder, entities)
        rng = np.random.default_rng(3)
        at = T0 + timedelta(hours=1)
        for batch in (1, 100):
            runs, cpu_runs = [], []
            for _ in range(repeat):
                samples, cpu = [], []
                for _ in range(lookups):
                    keys = {"driver_id": rng.integers(0, entities, batch).tolist()}
                    start, start_cpu = time.perf_counter(), time.thread_time()
                    result = ws.features.get_online_features(keys, "hundred", at=at)
                    samples.append(time.perf_counter() - start)
                    cpu.append(time.thread_time() - start_cpu)
                assert len(result) == 101 and result["v4_f19"][0] is not None
                runs.append(_percentiles(samples))
                cpu_runs.append(_percentiles(cpu))
            p50 = statistics.median(r[0] for r in runs)
            p99 = statistics.median(r[1] for r in runs)
            cpu99 = statistics.median(r[1] for r in cpu_runs)
            each = " / ".join(f"{r[1]:.3f}" for r in runs)
            print(
                f"  {label:<6} 100 features x {batch:>3} entities   p50 {p50:7.3f} ms   "
                f"p99 {p99:7.3f} ms   (medians of {repeat} runs; p99s {each}; "
                f"client CPU p99 {cpu99:.3f} ms)"
            )


def _redis_url(folder: Path) -> tuple[str, subprocess.Popen[bytes]] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    from pomona.testing._servers import free_port

    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0", proc


def bench_materialize(folder: Path, entities: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print("materialisation (SQLite online store, DuckDB limited to 256 MB)")
    for label, n, rows_each in (
        ("", entities, 1),
        ("source x1", entities, 10),
        ("source x2", entities, 20),
    ):
        path = folder / f"m{n}-{rows_each}.parquet"
        rng = np.random.default_rng(4)
        total = n * rows_each
        pq.write_table(
            pa.table(
                {
                    "driver_id": np.repeat(np.arange(n), rows_each),
                    "event_timestamp": _ts(rng.integers(0, SPAN_US, total)),
                    "f0": rng.random(total), "f1": rng.random(total),
                    "f2": rng.random(total), "f3": rng.integers(0, 100, total),
                }
            ),
            path,
        )  # fmt: skip
        workspace = folder / f"ws-{n}-{rows_each}"
        with pomona.connect(workspace) as ws:
            ws.features.apply(_definitions(path))
        result = _child("materialize", str(workspace))
        what = f"{result['entities']:,} entities from {total:,} rows"
        tag = f" [{label}]" if label else ""
        print(f"  {what:<38} {result['seconds']:6.2f} s   peak {result['peak_mb']:6.0f} MB{tag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--entity-rows", type=int, default=1_000_000)
    parser.add_argument("--materialize", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        children: dict[str, Callable[..., dict[str, Any]]] = {
            "pit": child_pit,
            "direct": child_direct,
            "materialize": child_materialize,
        }
        fn = children[kind]
        print(json.dumps(fn(*rest)))
        return
    with tempfile.TemporaryDirectory(prefix="pomona-bench-features-") as tmp:
        folder = Path(tmp)
        bench_pit(folder / "pit", args.rows, args.entity_rows, args.repeat)
        shutil.rmtree(folder / "pit", ignore_errors=True)
        print("online lookup (embedded, one round trip per call)")
        bench_lookup(folder / "sqlite", "sqlite", "SQLite", args.lookups, args.repeat)
        started = None if args.no_redis else _redis_url(folder)
        if started is not None:
            url, proc = started
            try:
                bench_lookup(folder / "redis", url, "Redis", args.lookups, args.repeat)
            finally:
                proc.terminate()
                proc.wait(timeout=10)
        bench_materialize(folder / "mat", args.materialize)


if __name__ == "__main__":
    main()
