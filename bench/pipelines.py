"""Pipelines benchmark: a 10-step no-op pipeline in a fresh process (no assertions).

    .venv/bin/python bench/pipelines.py [--steps 10] [--repeat 5] [--no-ray] [--no-process]

Targets on a 2-core machine (embedded SQLite, local files): the time after import (connect,
load the pipeline, run it) <= 1 s, overhead per step < 20 ms, a fully cached re-run
<= 0.5 s. Each figure is the median of ``--repeat`` fresh processes, each on a new
workspace. Python's bytecode cache is on (in a temporary folder), as in an installed
package, even where PYTHONDONTWRITEBYTECODE is set; one warm-up process fills it first.
The same pipeline also runs on the process executor and on a private local Ray (its
start-up is printed apart).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
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
t_import = time.perf_counter()
ws = pm.connect(sys.argv[1])
t_connect = time.perf_counter()
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
ws.close()
print(json.dumps({"import_s": t_import - t0, "connect_s": t_connect - t_import,
                  "load_s": t1 - t_connect - warm, "warm_s": warm, "first_s": t2 - t1,
                  "cached_s": t3 - t2, "again_s": t4 - t3}))
"""


def measure(tmp: Path, target: str, executor: str, n: int, env: dict[str, str]) -> dict[str, float]:
    """One fresh process on a new workspace."""
    root = Path(tempfile.mkdtemp(prefix=f"{executor}-", dir=tmp))
    subprocess.run(
        [sys.executable, "-m", "pomona.cli", "init", str(root)],
        check=True,
        capture_output=True,
        env=env,
    )
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(RUNNER), str(root), target, executor, str(n)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if out.returncode != 0:
        raise SystemExit(f"{executor} failed:\n{out.stderr[-3000:]}")
    data: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    data["after_import_s"] = data["connect_s"] + data["load_s"] + data["first_s"]
    return data


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def report(executor: str, n: int, repeat: int, m: dict[str, float]) -> None:
    print(f"{executor} executor, {n} no-op steps (fresh process, median of {repeat}):")
    if m["warm_s"]:
        print(f"  Ray start-up (not counted)   {m['warm_s']:8.3f} s")
    print(f"  import pomona                {m['import_s']:8.3f} s")
    print(f"  connect                      {m['connect_s']:8.3f} s")
    print(f"  first run                    {m['first_s']:8.3f} s")
    print(f"  time after import            {m['after_import_s']:8.3f} s   (target <= 1 s)")
    print(f"  overhead per step            {m['first_s'] / n * 1000:8.1f} ms  (target < 20 ms)")
    print(f"  fully cached re-run          {m['cached_s']:8.3f} s   (target <= 0.5 s)")
    print(
        f"  re-run, no cache (outputs    {m['again_s'] / n * 1000:8.1f} ms per step\n"
        "    already stored: no fsync)"
    )


def fsync_ms(folder: Path) -> float:
    """Median latency of one fsync here (new file artifacts cost two: file and folder)."""
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
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--no-process", action="store_true")
    args = parser.parse_args()
    executors = ["local"] + ([] if args.no_process else ["process"])
    executors += [] if args.no_ray else ["ray"]
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(prefix="pomona-bench-") as name:
        tmp = Path(name)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        env["RAY_AUTH_MODE"] = "disabled"  # a private loopback Ray: no token in ~/.ray
        print(f"fsync on this disk: {fsync_ms(tmp):.1f} ms (median)")
        (tmp / "chain.py").write_text(PIPELINE)
        target = f"{tmp / 'chain.py'}:chain"
        measure(tmp, target, "local", args.steps, env)  # warm-up: fills the bytecode cache
        for executor in executors:
            runs = [measure(tmp, target, executor, args.steps, env) for _ in range(args.repeat)]
            report(executor, args.steps, args.repeat, median_of(runs))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
