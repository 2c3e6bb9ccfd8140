"""ONNX export with a parity check, embedded: run where the model's libraries are installed."""

from __future__ import annotations

import json
import math
from typing import Any

from sqlalchemy import Row, select

from pomona._utils.clock import from_ms, now_ms
from pomona.errors import ConflictError, InvalidInputError
from pomona.metadata import upsert
from pomona.metadata.schema import model_exports
from pomona.registry import _queries
from pomona.registry._checks import parse_ref
from pomona.registry._onnx import parity
from pomona.registry._stores import Stores
from pomona.registry.base import ModelRegistry, Ref
from pomona.registry.errors import ExportNotSupportedError
from pomona.registry.records import OnnxExport
from pomona.types import Digest

__all__ = ["ExportOps"]

FORMAT = "onnx"


class ExportOps(Stores):
    """``export_onnx`` and ``find_export``; mixed into ``RegistryService``."""

    def export_onnx(self, ref: Ref, *, tolerance: float = 1e-4) -> OnnxExport:
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, int | float)
            or not tolerance >= 0
        ):
            raise InvalidInputError(
                f"tolerance must be a number >= 0, got {tolerance!r}.",
                details={"field": "tolerance"},
            )
        registry: Any = self
        assert isinstance(registry, ModelRegistry)
        loaded = registry.load(parse_ref(ref), device="cpu")
        version = loaded.version
        example = registry.input_example(version.ref)
        if example is None:
            raise ExportNotSupportedError(
                f"{version.ref} has no example input to check the export's parity on.",
                hint="Register the model again with input_example=…",
            )
        onnx = loaded.flavor.to_onnx(loaded.model, version.signature, example)
        diffs = parity(loaded.flavor, loaded.model, onnx, version.signature, example)
        worst = max(diffs.values(), default=0.0)
        if not worst <= tolerance:
            raise ConflictError(
                f"The ONNX export of {version.ref} differs from the model by {worst:.3g} "
                f"on its example input (tolerance {tolerance:g}); nothing was recorded.",
                hint="Check the model's input dtype, or raise the tolerance if the difference "
                "is expected (float32 arithmetic).",
                details={"parity": {k: None if math.isinf(v) else v for k, v in diffs.items()}},
            )
        digest, size = self._blobs.put_bytes(onnx.data)
        details = {"parity": diffs, "outputs": onnx.outputs}
        now = now_ms()
        with self._db.write() as conn:
            _, row = _queries.resolve(conn, parse_ref(version.ref))
            upsert(
                conn,
                model_exports,
                [
                    {
                        "version_pk": row.pk,
                        "format": FORMAT,
                        "digest": digest,
                        "size": size,
                        "opset": onnx.opset,
                        "parity_max_abs_diff": worst,
                        "details": json.dumps(details),
                        "created_ms": now,
                    }
                ],
                keys=["version_pk", "format"],
                update=["digest", "size", "opset", "parity_max_abs_diff", "details", "created_ms"],
            )
        return self.find_export(version.ref) or _never(version.ref)

    def find_export(self, ref: Ref) -> OnnxExport | None:
        parsed = parse_ref(ref)
        with self._db.read() as conn:
            _, row = _queries.resolve(conn, parsed)
            found = conn.execute(
                select(model_exports).where(
                    model_exports.c.version_pk == row.pk, model_exports.c.format == FORMAT
                )
            ).first()
        return None if found is None else _export(parsed.name, int(row.version), found)


def _export(name: str, version: int, row: Row[Any]) -> OnnxExport:
    details = json.loads(row.details)
    created = from_ms(row.created_ms)
    assert created is not None
    return OnnxExport(
        name=name,
        version=version,
        digest=Digest(row.digest),
        size=int(row.size),
        opset=row.opset,
        parity_max_abs_diff=float(row.parity_max_abs_diff),
        parity={k: float(v) for k, v in details.get("parity", {}).items()},
        outputs=dict(details.get("outputs", {})),
        created_at=created,
    )


def _never(ref: str) -> OnnxExport:
    raise ConflictError(f"The export of {ref} vanished while it was being recorded.")
