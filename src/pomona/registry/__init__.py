"""The model registry: versions with signature, lineage and card; audited aliases; exports.

ws = pomona.connect()
v = ws.models.register("digits", model, input_example=X_test[:5], metrics={"accuracy": 0.97})
ws.models.set_alias("digits", "champion", v.version, reason="first model")
model = ws.models.load("digits@champion")
"""

from __future__ import annotations

from pomona.registry._loaded import LoadedModel
from pomona.registry.base import ModelRegistry, Ref
from pomona.registry.errors import (
    ExportNotSupportedError,
    ModelNotFoundError,
    ModelVersionNotFoundError,
    SignatureMismatchError,
    UntrustedModelError,
)
from pomona.registry.flavors import Flavor, flavor_for, get_flavor
from pomona.registry.records import (
    AliasMove,
    GateReportInfo,
    Lineage,
    ModelVersion,
    OnnxExport,
    RegisteredModel,
)
from pomona.registry.service import RegistryService
from pomona.registry.signature import (
    Signature,
    TensorSpec,
    check_compatible,
    first_mismatch,
    infer_signature,
)

__all__ = [
    "AliasMove",
    "ExportNotSupportedError",
    "Flavor",
    "GateReportInfo",
    "Lineage",
    "LoadedModel",
    "ModelNotFoundError",
    "ModelRegistry",
    "ModelVersion",
    "ModelVersionNotFoundError",
    "OnnxExport",
    "Ref",
    "RegisteredModel",
    "RegistryService",
    "Signature",
    "SignatureMismatchError",
    "TensorSpec",
    "UntrustedModelError",
    "check_compatible",
    "first_mismatch",
    "flavor_for",
    "get_flavor",
    "infer_signature",
]
