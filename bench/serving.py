"""Serving throughput and latency on 127.0.0.1, measured with wrk.

    python bench/serving.py [--seconds 20] [--connections 16,64]

Servers run in their own processes, the load generator (wrk, Debian package ``wrk``) in
another. Targets, for a scikit-learn model on breast_cancer and the apple CNN:

- ``bare-const``: a bare Starlette endpoint returning a constant (the HTTP ceiling);
- ``bare-predict``: a bare Starlette endpoint parsing the same JSON and calling
  ``model.predict`` directly (the limit a server can approach);
- ``pomona``: Pomona's ``/v1/deployments/{name}/predict`` with micro-batching and async
  prediction logging on (the full app: middleware, metrics, logging);
- ``pomona-nobatch``: the same with ``max_batch_size=1`` (what micro-batching gains).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

BARE = r"""
import base64, io, sys, numpy as np, orjson, pandas as pd, pomona, uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
ws = pomona.connect(sys.argv[1])
cancer = ws.models.load("cancer:1").model
apples = ws.models.load("apples:1")
async def const(request):
    return Response(b'{"predictions":[0]}', media_type="application/json")
async def predict(request):
    body = orjson.loads(await request.body())
    frame = pd.DataFrame.from_records(body["records"])
    return Response(orjson.dumps({"predictions": cancer.predict(frame).tolist()}),
                    media_type="application/json")
async def predict_image(request):
    body = orjson.loads(await request.body())
    images = [np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB"))
              for b in body["images"]]
    labels = apples.predict(np.stack(images)).argmax(axis=1).tolist()
    return Response(orjson.dumps({"predictions": labels}), media_type="application/json")
app = Starlette(routes=[Route("/const", const, methods=["POST"]),
                        Route("/predict", predict, methods=["POST"]),
                        Route("/predict-image", predict_image, methods=["POST"])])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""

POMONA = r"""
import sys, uvicorn, pomona
from pomona.server.app import create_app
ws = pomona.connect(sys.argv[1], **{"serving.analysis": False})
app = create_app(ws, dashboard=False, settle_gc=True)  # as `pomona server` runs it
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb")
wrk.body = f:read("*a")
f:close()
"""


def _setup(home: Path) -> tuple[bytes, bytes]:
    import pomona
    from pomona.testing.serving import (
        apple_png,
        cancer_frame,
        register_apple_model,
        register_cancer_model,
    )

    with pomona.connect(home) as ws:
        register_cancer_model(ws)
        register_apple_model(ws, n=96, epochs=2)
        ws.deployments.create("cancer", model="cancer:1")
        ws.deployments.create("cancer-nobatch", model="cancer:1", options={"max_batch_size": 1})
        ws.deployments.create("apples", model="apples:1")
        ws.deployments.create("apples-nobatch", model="apples:1", options={"max_batch_size": 1})
    X, _ = cancer_frame()
    cancer = orjson.dumps({"records": X.iloc[:1].to_dict("records")})
    apple = orjson.dumps({"images": [base64.b64encode(apple_png(7)).decode()]})
    return cancer, apple


def _serve(code: str, home: Path, port: int, probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code, str(home), str(port)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=2)
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server on {port} did not start")


def _wrk(url: str, body: Path, connections: int, seconds: int, folder: Path) -> dict[str, float]:
    script = folder / f"post-{body.stem}.lua"
    script.write_text(LUA.format(body=body))
    threads = min(2, connections)
    done = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    text = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]

    def pct(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", text, re.M)
        assert match, text
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket:
        errors += sum(int(g) for g in socket.groups())
    return {"rps": rps, "p50": pct("50"), "p99": pct("99"), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", default="16,64")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    from pomona.testing._servers import free_port

    folder = Path(tempfile.mkdtemp(prefix="pomona-bench-serving-"))
    home = folder / "ws"
    cancer, apple = _setup(home)
    bodies = {"cancer": folder / "cancer.json", "apple": folder / "apple.json"}
    bodies["cancer"].write_bytes(cancer)
    bodies["apple"].write_bytes(apple)
    bare_port, pomona_port = free_port(), free_port()
    procs = [
        _serve(BARE, home, bare_port, "/"),
        _serve(POMONA, home, pomona_port, "/v2/health/live"),
    ]
    bare, pom = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{pomona_port}"
    targets = [
        ("sklearn", "bare-const", bare + "/const", "cancer"),
        ("sklearn", "bare-predict", bare + "/predict", "cancer"),
        ("sklearn", "pomona", pom + "/v1/deployments/cancer/predict", "cancer"),
        ("sklearn", "pomona-nobatch", pom + "/v1/deployments/cancer-nobatch/predict", "cancer"),
        ("apples", "bare-predict", bare + "/predict-image", "apple"),
        ("apples", "pomona", pom + "/v1/deployments/apples/predict", "apple"),
        ("apples", "pomona-nobatch", pom + "/v1/deployments/apples-nobatch/predict", "apple"),
    ]
    results = []
    try:
        for url, body in {(t[2], t[3]) for t in targets}:  # warm every model up
            _wrk(url, bodies[body], 4, 2, folder)
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()[1]
        print(
            f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before; "
            f"{args.seconds} s per run; wrk {wrk}"
        )
        head = ("model", "target", "conns", "req/s", "p50 ms", "p99 ms", "errors")
        print("{:8} {:15} {:>5} {:>9} {:>8} {:>8} {:>6}".format(*head))
        for connections in (int(c) for c in args.connections.split(",")):
            for model, name, url, body in targets:
                row = _wrk(url, bodies[body], connections, args.seconds, folder)
                results.append({"model": model, "target": name, "connections": connections, **row})
                print(
                    f"{model:8} {name:15} {connections:>5} {row['rps']:>9.0f} {row['p50']:>8.1f} "
                    f"{row['p99']:>8.1f} {row['errors']:>6.0f}",
                    flush=True,
                )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(60)
    _summary(results, home)
    (folder / "results.json").write_text(json.dumps(results, indent=2))


def _summary(results: list[dict[str, object]], home: Path) -> None:
    import pomona

    by = {(r["model"], r["target"], r["connections"]): r for r in results}
    for model in ("sklearn", "apples"):
        for c in sorted({int(r["connections"]) for r in results}):  # type: ignore[call-overload]
            pom, bare = by.get((model, "pomona", c)), by.get((model, "bare-predict", c))
            nob = by.get((model, "pomona-nobatch", c))
            if pom and bare and nob:
                print(
                    f"{model} @{c}: pomona = {100 * pom['rps'] / bare['rps']:.0f}% of bare "  # type: ignore[operator]
                    f"predict; micro-batching x{pom['rps'] / nob['rps']:.2f} vs batch size 1; "  # type: ignore[operator]
                    f"p99 {pom['p99']:.0f} ms, errors {pom['errors']:.0f}"
                )
    with pomona.connect(home) as ws:
        rows = sum(f.rows for f in ws.deployments.log_files())
        print(f"prediction-log rows written by the pomona runs: {rows}")


if __name__ == "__main__":
    main()
