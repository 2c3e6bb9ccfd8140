"""``import pomona`` is light, and every module imports on its own (no cycles)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import pomona

HEAVY = ["fastapi", "uvicorn", "s3fs", "boto3", "psycopg", "sklearn", "torch", "ray",
         "optuna", "pandas", "sqlalchemy", "alembic", "plotly"]  # fmt: skip


def _fresh(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout


def test_import_pomona_loads_no_heavy_dependency() -> None:
    loaded = json.loads(_fresh("import sys, json, pomona; print(json.dumps(list(sys.modules)))"))
    assert [m for m in HEAVY if m in loaded] == []


def test_every_module_imports_in_a_fresh_process() -> None:
    names = [m.name for m in pkgutil.walk_packages(pomona.__path__, "pomona.")]
    names = [n for n in names if ".migrations" not in n and not n.endswith(".__main__")]
    code = "import importlib, sys\nfor n in sys.argv[1:]: importlib.import_module(n)"
    subprocess.run([sys.executable, "-c", code, *names], check=True, capture_output=True)
    assert len(names) > 20
