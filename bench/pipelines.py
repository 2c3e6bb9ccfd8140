"""Pipelines benchmark: a 10-step no-op pipeline in a fresh process (no assertions).

    .venv/bin/python bench/pipelines.py [--steps 10] [--no-ray] [--no-process]

Targets on a 2-core machine (embedded SQLite, local files): the first run after import
≤ 1 s, overhead per step < 20 ms, a fully cached re-run ≤ 0.5 s. The same pipeline also
runs on the process executor and on a private local Ray (its start-up is printed apart).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PIPELINE = """
from __future__ import annotations

import pomona as pm


@pm.step
def noop(i: int, prev: int | None = None) -> int:
    return i


@pm.pipeline
def chain(n: int = 10) -> None:
    prev = noop(0)
    for i in range(1, n):
        prev = noop(i, prev)
"""

RUNNER = """
import json, sys, time
t0 = time.perf_counter()
import pomona as pm
from pomona.pipelines import load_pipeline
ws = pm.connect(sys.argv[1])
pipe = load_pipeline(sys.argv[2])
executor, n = sys.argv[3], int(sys.argv[4])
t1 = time.perf_counter()
warm = 0.0
if executor == "ray":
    ex = ws.pipelines._executor("ray")
    ex.max_parallel  # connect: starts a private local Ray
    warm = time.perf_counter() - t1
    t1 = time.perf_counter()
first = ws.pipelines.run(pipe, {"n": n}, executor=executor)
t2 = time.perf_counter()
cached = ws.pipelines.run(pipe, {"n": n}, executor=executor)
t3 = time.perf_counter()
again = ws.pipelines.run(pipe, {"n": n}, executor=executor, no_cache=True)
t4 = time.perf_counter()
assert first.state.value == "succeeded", first.error
assert all(s.cache_hit for s in cached.steps)
steps = [s.duration_s or 0.0 for s in first.steps]
ws.close()
print(json.dumps({"import_s": t1 - t0 - warm, "warm_s": warm, "first_s": t2 - t1,
                  "cached_s": t3 - t2, "again_s": t4 - t3, "steps": steps}))
"""


def measure(root: Path, target: str, executor: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(RUNNER), str(root), target, executor, str(n)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{executor} failed:\n{out.stderr[-3000:]}")
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return data


def report(executor: str, n: int, m: dict[str, float]) -> None:
    print(f"{executor} executor, {n} no-op steps (fresh process):")
    if m["warm_s"]:
        print(f"  Ray start-up (not counted)   {m['warm_s']:8.3f} s")
    print(f"  import + connect             {m['import_s']:8.3f} s")
    print(f"  first run after import       {m['first_s']:8.3f} s")
    print(f"  overhead per step            {m['first_s'] / n * 1000:8.1f} ms")
    print(f"  fully cached re-run          {m['cached_s']:8.3f} s")
    print(
        f"  re-run, no cache (outputs    {m['again_s'] / n * 1000:8.1f} ms per step\n"
        "    already stored: no fsync)"
    )


def fsync_ms(folder: Path) -> float:
    """Median latency of one fsync here (new file artifacts cost two: file and folder)."""
    import os
    import statistics
    import time

    times = []
    for i in range(20):
        path = folder / f"fsync-{i}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"x" * 64)
        start = time.perf_counter()
        os.fsync(fd)
        times.append(time.perf_counter() - start)
        os.close(fd)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-process", action="store_true")
    args = parser.parse_args()
    executors = ["local"] + ([] if args.no_process else ["process"])
    executors += [] if args.no_ray else ["ray"]
    with tempfile.TemporaryDirectory(prefix="pomona-bench-") as tmp:
        print(f"fsync on this disk: {fsync_ms(Path(tmp)):.1f} ms (median)")
        for executor in executors:
            root = Path(tmp) / executor
            root.mkdir()
            (root / "chain.py").write_text(PIPELINE)
            subprocess.run(
                [sys.executable, "-m", "pomona.cli", "init", str(root)],
                check=True,
                capture_output=True,
            )
            target = f"{root / 'chain.py'}:chain"
            report(executor, args.steps, measure(root, target, executor, args.steps))


if __name__ == "__main__":
    main()
