"""Run an exported model with onnxruntime and numpy only (copied as predict.py into bundles).

    python predict.py input.json        # prints {"predictions": [...], ...} as JSON

``input.json`` holds the rows: for a table, a list of objects keyed by column name (or an
object of columns); for a tensor, a nested list. From Python:
``from predict import Model; Model().predict(rows)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_NUMERIC = {  # the type the ONNX model takes wins over the signature's (uint8 images → float)
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(bool)": "bool",
}


class Model:
    """The bundled ONNX model with its signature."""

    def __init__(self, folder: Path = HERE) -> None:
        import onnxruntime as ort  # type: ignore[import-untyped,unused-ignore]

        self.signature: dict[str, Any] = json.loads((folder / "signature.json").read_text())
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), providers=["CPUExecutionProvider"]
        )

    def _feed(self, rows: Any) -> Any:
        import numpy as np

        inputs = self.signature["inputs"]
        dtype = _NUMERIC.get(self.session.get_inputs()[0].type, inputs[0]["dtype"])
        if self.signature["input_kind"] == "columns":
            if isinstance(rows, dict):
                columns = [rows[spec["name"]] for spec in inputs]
            else:
                columns = [[row[spec["name"]] for row in rows] for spec in inputs]
            return np.column_stack([np.asarray(c, dtype=dtype) for c in columns])
        return np.asarray(rows, dtype=dtype)

    def predict(self, rows: Any) -> dict[str, Any]:
        """Every output of the model for ``rows``, by signature name (numpy arrays)."""
        name = self.session.get_inputs()[0].name
        results = self.session.run(None, {name: self._feed(rows)})
        by_onnx = {
            out.name: value for out, value in zip(self.session.get_outputs(), results, strict=True)
        }
        return {key: by_onnx[onnx] for key, onnx in self.signature["onnx_outputs"].items()}


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python predict.py INPUT.json", file=sys.stderr)
        return 2
    rows = json.loads(Path(argv[0]).read_text())
    outputs = Model().predict(rows)
    print(json.dumps({key: value.tolist() for key, value in outputs.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
