"""Tracking benchmark: prints operations per second and peak memory (no assertions).

    .venv/bin/python bench/tracking.py [--values 100000] [--runs 1000] [--search-runs 10000]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--values", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--search-runs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = pomona.connect(Path(tmp), **{"tracking.flush_interval_s": 0.05})
        bench_log_metric(ws, args.values)
        bench_create_runs(ws, args.runs)
        bench_search(ws, args.search_runs)
        print(f"peak memory (RSS): {_peak_rss_mb():.0f} MB")
        ws.close()


if __name__ == "__main__":
    main()
