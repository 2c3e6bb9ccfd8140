"""Tracking benchmark: prints operations per second and peak memory (no assertions).

    .venv/bin/python bench/tracking.py [--values 100000] [--runs 1000] [--search-runs 10000]
        [--scale]   # then fill 100,000 runs and 10,000,000 metric points and time reads

Targets on a 2-core machine (embedded SQLite): log_metric enqueues >= 200,000 values/s,
>= 50,000 values/s reach the database durably, >= 500 runs/s created with 5 params and
5 metrics each, a filtered search over 10,000 runs in under 50 ms.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import pomona
from pomona.client import Workspace


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_log_metric(ws: Workspace, n: int) -> None:
    with ws.start_run("bench-log-metric") as run:
        start = time.perf_counter()
        for step in range(n):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        enqueued = time.perf_counter()
        run.flush()
        durable = time.perf_counter()
    stored = len(ws.runs.get_metric_history(run.run_id, "loss"))
    assert stored == n, (stored, n)
    print(f"log_metric: {n:,} values")
    print(f"  enqueue            {n / (enqueued - start):>12,.0f} values/s")
    print(f"  durable (SQLite)   {n / (durable - start):>12,.0f} values/s")


def create_runs(ws: Workspace, n: int, n_params: int, n_metrics: int, prefix: str) -> float:
    start = time.perf_counter()
    for i in range(n):
        with ws.start_run(
            f"{prefix}-{i}", params={f"p{j}": (i + j) % 7 for j in range(n_params)}
        ) as run:
            for j in range(n_metrics):
                run.log_metric(f"m{j}", ((i * 31 + j * 17) % 100) / 100)
    return time.perf_counter() - start


def bench_create_runs(ws: Workspace, n: int) -> None:
    for n_params, n_metrics in ((5, 5), (10, 10)):
        elapsed = create_runs(ws, n, n_params, n_metrics, f"r{n_params}")
        print(
            f"create {n:,} runs with {n_params} params + {n_metrics} metrics: "
            f"{n / elapsed:>8,.0f} runs/s"
        )


def bench_search(ws: Workspace, total: int) -> None:
    have = ws.runs.search_runs(limit=1).total or 0
    if have < total:
        create_runs(ws, total - have, 5, 5, "fill")
    query = "metrics.m0 > 0.5 and params.p0 = '3'"
    for label, kwargs in (
        ("filtered search, first page of 100", {"filter": query}),
        ("filtered + sorted by metric", {"filter": query, "order_by": ["metrics.m1 desc"]}),
        ("unfiltered, sorted by start", {}),
    ):
        times = []
        for _ in range(15):
            start = time.perf_counter()
            page = ws.runs.search_runs(limit=100, **kwargs)  # type: ignore[arg-type]
            times.append(time.perf_counter() - start)
        print(
            f"{label} over {total:,} runs: median {statistics.median(times) * 1000:.1f} ms, "
            f"max {max(times) * 1000:.1f} ms ({page.total} matches)"
        )


def bench_scale(ws: Workspace, n_runs: int, n_points: int) -> None:
    """Fill the store in bulk (SQL inserts, to save time), then time what users do."""
    import random

    from pomona.metadata.schema import latest_metrics, metrics, params, runs

    assert ws.metadata_store is not None
    rng = random.Random(0)
    start = time.perf_counter()
    with ws.metadata_store.write() as conn:
        base = conn.execute(
            runs.insert().values(
                run_id="f" * 32, name="big", experiment="scale", status="finished", start_ms=0
            )
        ).inserted_primary_key[0]
        for lo in range(0, n_runs, 10_000):
            chunk = range(lo, min(lo + 10_000, n_runs))
            conn.execute(
                runs.insert(),
                [
                    {
                        "run_id": f"{i:032x}",
                        "name": f"scale-{i}",
                        "experiment": "scale",
                        "status": "finished",
                        "start_ms": i,
                    }
                    for i in chunk
                ],
            )
        pks = dict(conn.execute(runs.select().with_only_columns(runs.c.run_id, runs.c.pk)).all())
        conn.execute(
            params.insert(),
            [
                {
                    "run_pk": pks[f"{i:032x}"],
                    "key": "model",
                    "value": rng.choice(["rf", "lr", "gb"]),
                }
                for i in range(n_runs)
            ],
        )
        conn.execute(
            latest_metrics.insert(),
            [
                {
                    "run_pk": pks[f"{i:032x}"],
                    "key": "accuracy",
                    "step": 0,
                    "ts_ms": 0,
                    "value": rng.random(),
                }
                for i in range(n_runs)
            ],
        )
        for lo in range(0, n_points, 500_000):
            conn.execute(
                metrics.insert(),
                [
                    {"run_pk": base, "key": "loss", "step": s, "ts_ms": s, "value": 1.0 / (s + 1)}
                    for s in range(lo, min(lo + 500_000, n_points))
                ],
            )
    print(
        f"scale: filled {n_runs:,} runs and {n_points:,} metric points in "
        f"{time.perf_counter() - start:.0f} s"
    )
    for label, fn in (
        (
            "filtered search (page of 100)",
            lambda: ws.runs.search_runs("metrics.accuracy > 0.9 and params.model = 'rf'"),
        ),
        (
            "history of 10M points, max_points=1000",
            lambda: ws.runs.get_metric_history("f" * 32, "loss", max_points=1000),
        ),
        (
            "runs page 50 (offset 2,500)",
            lambda: ws.runs.search_runs(limit=50, page_token=_token(2_500)),
        ),
    ):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        print(f"  {label}: median {statistics.median(times) * 1000:.0f} ms")


def _token(offset: int) -> str:
    from pomona._utils.paging import encode_page_token

    return encode_page_token(offset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--search-runs", type=int, default=10_000)
    parser.add_argument("--scale", action="store_true", help="also 100,000 runs + 10M points")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = pomona.connect(Path(tmp), **{"tracking.flush_interval_s": 0.05})
        bench_log_metric(ws, args.values)
        bench_create_runs(ws, args.runs)
        bench_search(ws, args.search_runs)
        if args.scale:
            bench_scale(ws, 100_000, 10_000_000)
        print(f"peak memory (RSS): {_peak_rss_mb():.0f} MB")
        ws.close()


if __name__ == "__main__":
    main()
