"""Monitoring benchmark: drift over wide windows, against a direct scipy computation.

    .venv/bin/python bench/monitoring.py [--skip-large]

Targets on a 2-core machine: 100,000 rows × 25 columns (20 numeric, 5 categorical) in
≤ 1.5 s and 1,000,000 rows × 50 features in ≤ 15 s, each against a reference of the same
size, with the same per-column verdicts as scipy's tests under the same decision rule.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    run_case(100_000, 20, 5)
    if not args.skip_large:
        run_case(1_000_000, 40, 10)
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
