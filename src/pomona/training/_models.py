"""Models as run artifacts, saved by the registry's flavors (safe formats only)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from pomona.tracking.run import ActiveRun

__all__ = ["MODEL_DIR", "log_model"]

MODEL_DIR = "model"


def log_model(run: ActiveRun, model: Any) -> str:
    """Save ``model`` with its flavor under ``model/`` in the run; returns the flavor's name.

    ``model/flavor.json`` names the flavor and the files, so the folder loads back with
    ``pomona.registry.flavors.get_flavor(name).load(folder)``.
    """
    from pomona.registry.flavors import flavor_for

    flavor = flavor_for(model)
    with tempfile.TemporaryDirectory(prefix="pomona-model-") as tmp:
        folder = Path(tmp)
        names = flavor.save(model, folder, {})
        (folder / "flavor.json").write_text(json.dumps({"flavor": flavor.name, "files": names}))
        for name in [*names, "flavor.json"]:
            run.log_artifact(folder / name, f"{MODEL_DIR}/{name}")
    run.set_tags({"model.flavor": flavor.name, "model.artifact": MODEL_DIR})
    return flavor.name
