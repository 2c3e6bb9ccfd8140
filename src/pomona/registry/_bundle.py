"""Edge bundles: an ONNX model, its signature and a predict script needing only
onnxruntime and numpy."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

from pomona.errors import ConflictError
from pomona.registry.records import ModelVersion, OnnxExport

__all__ = ["BUNDLE_FILES", "write_bundle"]

BUNDLE_FILES = ("model.onnx", "signature.json", "predict.py", "input_example.json", "README.md")
_SCRIPT = Path(__file__).with_name("_edge_predict.py")


def _example_rows(raw: bytes) -> Any:
    """The stored example in the shape ``predict.py`` reads: columns by name, or nested lists."""
    import numpy as np

    body = json.loads(raw)
    if body["kind"] == "columns":
        return body["data"]
    return np.asarray(body["data"]).reshape(body["shape"]).tolist()


def _readme(version: ModelVersion, export: OnnxExport) -> str:
    return (
        f"# {version.ref} (ONNX)\n\n"
        "Needs only `onnxruntime` and `numpy`:\n\n"
        "    pip install onnxruntime numpy\n"
        "    python predict.py input_example.json\n\n"
        f"Parity with the registered model on its example input: max |diff| = "
        f"{export.parity_max_abs_diff:.3g} (opset {export.opset}).\n"
    )


def write_bundle(
    version: ModelVersion,
    export: OnnxExport,
    onnx_path: Path,
    example: bytes | None,
    dest: Path,
    *,
    archive: bool = False,
) -> Path:
    """Write the bundle's files into ``dest`` (a new or empty folder); zip it if asked."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ConflictError(
            f"{dest} already exists and is not an empty folder.",
            hint="Choose a new folder for the bundle.",
            details={"field": "dest"},
        )
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(onnx_path, dest / "model.onnx")
    signature = {
        "model": version.ref,
        **version.signature.to_dict(),
        "onnx_outputs": export.outputs,
        "onnx_digest": export.digest,
        "opset": export.opset,
        "parity_max_abs_diff": export.parity_max_abs_diff,
    }
    (dest / "signature.json").write_text(json.dumps(signature, indent=2))
    shutil.copyfile(_SCRIPT, dest / "predict.py")
    if example is not None:
        (dest / "input_example.json").write_text(json.dumps(_example_rows(example)))
    (dest / "README.md").write_text(_readme(version, export))
    if not archive:
        return dest
    target = dest.with_name(dest.name + ".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(dest.iterdir()):
            zf.write(path, path.name)
    return target
