"""Monitoring benchmark: drift over wide windows, against a direct scipy computation;
a window of the prediction logs; serving throughput with logging and monitors on and off.

    .venv/bin/python bench/monitoring.py [--skip-large] [--skip-serving] [--seconds 15]

Targets on a 2-core machine: 100,000 rows × 25 columns (20 numeric, 5 categorical) in
≤ 1.5 s and 1,000,000 rows × 50 features in ≤ 15 s, each against a reference of the same
size, with the same per-column verdicts as scipy's tests under the same decision rule.
Serving with async prediction logging and a monitor computing 10-second windows in the
same server loses under 10 % of its throughput against logging off and no monitor
(load from wrk, as in bench/serving.py).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from typing import Any

import numpy as np
from scipy import stats

from pomona.monitoring import DriftDetector, DriftThresholds, holm


def make(
    rng: np.random.Generator, n: int, n_num: int, n_cat: int, shift: bool
) -> dict[str, np.ndarray]:
    data: dict[str, np.ndarray] = {}
    for i in range(n_num):
        delta = 0.3 if shift and i % 4 == 0 else 0.0
        data[f"x{i}"] = rng.normal(delta, 1.0 + 0.1 * (i % 3), n)
    for j in range(n_cat):
        p = [0.5, 0.3, 0.2] if not (shift and j == 0) else [0.3, 0.3, 0.4]
        data[f"c{j}"] = rng.choice(np.array(["a", "b", "c"]), n, p=p)
    return data


def scipy_verdicts(
    ref: dict[str, np.ndarray], cur: dict[str, np.ndarray], cats: list[str]
) -> dict[str, bool]:
    t = DriftThresholds()
    names, pvals, big = [], [], []
    for name in ref:
        if name in cats:
            keys = sorted(set(ref[name]) | set(cur[name]))
            r = np.array([np.sum(ref[name] == k) for k in keys])
            c = np.array([np.sum(cur[name] == k) for k in keys])
            _, p, _, _ = stats.chi2_contingency([r, c], correction=False)
            from scipy.spatial.distance import jensenshannon

            big.append(jensenshannon(r, c, base=2) >= t.js)
        else:
            res = stats.ks_2samp(ref[name], cur[name], method="asymp")
            p = res.pvalue
            big.append(res.statistic >= t.ks)  # PSI is this project's own: KS alone here
        names.append(name)
        pvals.append(float(p))
    adjusted = holm(pvals)
    return {n: a < t.alpha and b for n, a, b in zip(names, adjusted, big, strict=True)}


def run_case(n: int, n_num: int, n_cat: int) -> None:
    rng = np.random.default_rng(0)
    ref, cur = make(rng, n, n_num, n_cat, False), make(rng, n, n_num, n_cat, True)
    cats = [k for k in ref if k.startswith("c")]
    tracemalloc.start()
    start = time.perf_counter()
    report = DriftDetector(categorical=cats).fit(ref).detect(cur)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    expected = scipy_verdicts(ref, cur, cats)
    scipy_s = time.perf_counter() - start
    ours = {f.feature: bool(f.drifted) for f in report.features}
    agree = sum(ours[k] == expected[k] for k in expected)
    print(
        f"{n:>9,} rows × {n_num + n_cat} columns: {elapsed:6.2f} s, peak traced memory "
        f"{peak / 2**20:6.0f} MB; drifted {len(report.drifted_features)} features; "
        f"verdicts equal to scipy on {agree}/{len(expected)} (scipy itself: {scipy_s:.2f} s)"
    )


def run_window(n: int) -> None:
    """One window of ``n`` logged predictions: DuckDB scan, profile, drift, report."""
    import tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    from pomona.artifacts._factory import open_artifact_store
    from pomona.metadata import open_metadata_store
    from pomona.monitoring import MonitoringService
    from pomona.testing.monitoring import (
        StaticReferences,
        reference_frame,
        synthetic_log,
        write_log,
    )

    hour = 3_600_000
    t0 = 1_700_000_000_000 - 1_700_000_000_000 % hour
    metadata = open_metadata_store("memory://")
    metadata.initialize()
    artifacts = open_artifact_store("memory://")
    with tempfile.TemporaryDirectory() as tmp:
        service = MonitoringService(
            metadata,
            artifacts,
            references=StaticReferences(reference_frame(100_000)),
            cache_dir=Path(tmp),
        )
        write_log(metadata, artifacts, synthetic_log(n, t0, t0 + hour, shift=0.2))
        service.create("demo", window="1h")
        start = time.perf_counter()
        service.run("demo", now=datetime.fromtimestamp((t0 + 2 * hour) / 1000, UTC))
        elapsed = time.perf_counter() - start
        html = service.report("demo")
        service.close()
    print(
        f"window of {n:,} logged predictions (2 features, outputs, drift, performance): "
        f"{elapsed:.2f} s; report {len(html.encode()) / 1024:.0f} KiB"
    )


def _serving_workspace(home: Any) -> bytes:
    import orjson
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import pomona
    from pomona.testing.serving import cancer_frame

    X, y = cancer_frame()
    home.mkdir(parents=True)
    X.assign(target=y.astype(str)).to_csv(home / "cancer.csv", index=False)
    with pomona.connect(home) as ws:
        data = ws.datasets.ingest("cancer", source=home / "cancer.csv", labels="target")
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
        ws.models.register("cancer", model, input_example=X.iloc[:5], dataset_versions=[str(data)])
        ws.deployments.create("cancer", model="cancer:1")
        ws.deployments.create("cancer-nolog", model="cancer:1", options={"logging": "off"})
        ws.monitors.create("cancer", window="10s", every="1s", lag="2s", min_accuracy=0.9)
    return orjson.dumps({"records": X.iloc[:1].to_dict("records")})


def run_serving(seconds: int, connections: int, rounds: int) -> None:
    """Throughput of the same model with logging + monitors on vs. both off."""
    import os
    import shutil
    import sys
    import tempfile
    from pathlib import Path

    if shutil.which("wrk") is None:
        print("serving: skipped (wrk is needed: apt-get install wrk)")
        return
    sys.path.insert(0, str(Path(__file__).parent))
    from serving import POMONA, _serve, _wrk  # bench/serving.py

    import pomona
    from pomona.testing._servers import free_port

    folder = Path(tempfile.mkdtemp(prefix="pomona-bench-monitoring-"))
    home = folder / "ws"
    body = folder / "cancer.json"
    body.write_bytes(_serving_workspace(home))
    servers = {}
    for name, runner in (("off", "false"), ("on", "true")):
        os.environ["POMONA_MONITORING_RUNNER_IN_SERVER"] = runner
        os.environ["POMONA_MONITORING_POLL_S"] = "1"
        port = free_port()
        servers[name] = (_serve(POMONA, home, port, "/v2/health/live"), port)
    os.environ.pop("POMONA_MONITORING_RUNNER_IN_SERVER")
    urls = {
        "off": f"http://127.0.0.1:{servers['off'][1]}/v1/deployments/cancer-nolog/predict",
        "on": f"http://127.0.0.1:{servers['on'][1]}/v1/deployments/cancer/predict",
    }
    rps: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for url in urls.values():
            _wrk(url, body, 4, 2, folder)
        print(
            f"serving: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
            f"{connections} connections, {seconds} s per run, {rounds} rounds"
        )
        for i in range(rounds):  # off/on, then on/off: order effects cancel out
            for name in ("off", "on") if i % 2 == 0 else ("on", "off"):
                row = _wrk(urls[name], body, connections, seconds, folder)
                rps[name].append(row["rps"])
                print(
                    f"  logging+monitors {name:3}: {row['rps']:8.0f} req/s, "
                    f"p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms, errors {row['errors']:.0f}",
                    flush=True,
                )
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(60)
    off, on = np.median(rps["off"]), np.median(rps["on"])
    with pomona.connect(home) as ws:
        windows = len(list(ws.monitors.windows("cancer", limit=1000)))
        rows = sum(f.rows for f in ws.deployments.log_files())
    print(
        f"serving (medians of {rounds} rounds): {off:.0f} req/s off, {on:.0f} req/s "
        "with logging and monitors on: "
        f"{100 * (1 - on / off):+.1f} % drop (target < 10 %); "
        f"{rows:,} rows logged, {windows} windows computed meanwhile"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--skip-serving", action="store_true")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    run_case(100_000, 20, 5)
    if not args.skip_large:
        run_case(1_000_000, 40, 10)
    run_window(100_000)
    if not args.skip_large:
        run_window(1_000_000)
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not args.skip_serving:
        run_serving(args.seconds, args.connections, args.rounds)


if __name__ == "__main__":
    main()
