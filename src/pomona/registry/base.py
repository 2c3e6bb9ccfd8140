"""The registry interface both transports implement, and the model I/O built on it.

``RegistryService`` (embedded) and the remote client implement the abstract methods;
``register``, ``load``, ``download``, ``input_example`` and ``build_edge_bundle`` are
written once here on top of them, so both transports save and load models the same way.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pomona.errors import InvalidInputError
from pomona.registry import _example
from pomona.registry._checks import check_file_path
from pomona.registry._loaded import LoadedModel
from pomona.registry.flavors import Flavor, flavor_for, get_flavor
from pomona.registry.records import (
    AliasMove,
    GateReportInfo,
    Lineage,
    ModelVersion,
    OnnxExport,
    RegisteredModel,
)
from pomona.registry.signature import Signature, infer_signature
from pomona.types import Digest, ModelVersionRef, Page

__all__ = ["EXAMPLE_FILE", "ModelRegistry", "Ref"]

EXAMPLE_FILE = "input_example.json"
Ref = str | ModelVersionRef
"""``"apples"`` (latest), ``"apples:3"``, ``"apples@champion"`` or a ``ModelVersionRef``."""


class ModelRegistry(ABC):
    """Registered models, their versions, aliases with an audited history, exports."""

    trusted_modules: tuple[str, ...] = ()
    """Modules, besides each flavor's own allow-list, whose classes ``load`` may import
    (``registry.trusted_modules``)."""

    # --- models and versions --------------------------------------------------------------

    @abstractmethod
    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        """Register a name with no versions yet. Raises ``AlreadyExistsError``."""

    @abstractmethod
    def get_model(self, name: str) -> RegisteredModel:
        """The model, or ``ModelNotFoundError``."""

    @abstractmethod
    def list_models(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        """Models by name, one page at a time."""

    @abstractmethod
    def create_version(
        self,
        name: str,
        *,
        flavor: str,
        files: Mapping[str, Digest],
        signature: Signature,
        metrics: Mapping[str, float] | None = None,
        lineage: Lineage | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        card: str | None = None,
        actor: str | None = None,
    ) -> ModelVersion:
        """Record a version whose files are already stored (``register`` stores them first).

        The model is created on its first version; versions are numbered 1, 2, ….
        """

    @abstractmethod
    def get_version(self, ref: Ref) -> ModelVersion:
        """The version a reference names. Raises ``ModelNotFoundError`` or
        ``ModelVersionNotFoundError``."""

    @abstractmethod
    def list_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        """A model's versions, newest first."""

    @abstractmethod
    def update_version(
        self,
        ref: Ref,
        *,
        tags: Mapping[str, str] | None = None,
        card: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Merge tags (a value of ``""`` removes the tag), replace the card or description."""

    # --- aliases --------------------------------------------------------------------------

    @abstractmethod
    def set_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        reason: str,
        actor: str | None = None,
        gate_report_digest: str | None = None,
        forced: bool = False,
        check_signature: bool = False,
    ) -> AliasMove:
        """Point ``alias`` at ``version`` and record the move (the one way aliases move).

        Args:
            reason: why; kept in the history.
            actor: who; defaults to the OS user of the client.
            gate_report_digest: the stored gate report (``put_gate_report``) that allowed it.
            forced: the move overrode failing gates.
            check_signature: refuse unless the version's signature matches the one the alias
                points to now (``SignatureMismatchError``).
        Returns:
            The history row; moving an alias to the version it already names records
            nothing and returns the alias's last move.
        """

    @abstractmethod
    def delete_alias(
        self, name: str, alias: str, *, reason: str, actor: str | None = None
    ) -> AliasMove | None:
        """Remove an alias and record it; ``None`` when it did not exist (idempotent)."""

    @abstractmethod
    def list_alias_history(
        self,
        name: str,
        *,
        alias: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[AliasMove]:
        """Every move of the model's aliases (or of one), newest first."""

    # --- gate reports and exports ---------------------------------------------------------

    @abstractmethod
    def put_gate_report(
        self,
        ref: Ref,
        report: Mapping[str, Any],
        *,
        target: str,
        passed: bool,
        actor: str | None = None,
    ) -> GateReportInfo:
        """Store a gate report (JSON) for a version about to move to alias ``target``."""

    @abstractmethod
    def list_gate_reports(self, name: str, *, version: int | None = None) -> list[GateReportInfo]:
        """The model's stored gate reports (of one version), newest first."""

    @abstractmethod
    def get_gate_report(self, name: str, digest: str) -> dict[str, Any]:
        """A stored gate report's JSON (verified against its digest)."""

    @abstractmethod
    def export_onnx(self, ref: Ref, *, tolerance: float = 1e-4) -> OnnxExport:
        """Convert a version to ONNX, check parity on its example input, store both.

        Raises:
            ExportNotSupportedError: the flavor or the model cannot be converted.
            ConflictError: ONNX Runtime's outputs differ from the model's by more than
                ``tolerance``; nothing is recorded.
        """

    @abstractmethod
    def find_export(self, ref: Ref) -> OnnxExport | None:
        """The version's ONNX export, or ``None``."""

    # --- transport ------------------------------------------------------------------------

    @abstractmethod
    def _upload(self, path: Path) -> tuple[Digest, int]:
        """Store a local file's bytes; returns their digest and size."""

    @abstractmethod
    def _download(self, name: str, digest: Digest, dest: Path) -> Path:
        """Copy a blob of model ``name`` to ``dest``, verified against its digest."""

    # --- model I/O, shared by both transports ---------------------------------------------

    def register(
        self,
        name: str,
        model: object,
        *,
        input_example: object,
        flavor: str | None = None,
        options: Mapping[str, Any] | None = None,
        signature: Signature | None = None,
        metrics: Mapping[str, float] | None = None,
        run_id: str | None = None,
        pipeline_run_id: str | None = None,
        dataset_versions: Sequence[str] = (),
        parent_version: int | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        actor: str | None = None,
    ) -> ModelVersion:
        """Save ``model`` with its flavor and register it as the next version of ``name``.

        Args:
            input_example: a batch like the ones the model takes (a few rows are kept); the
                signature is inferred from it and from the model's outputs on it.
            flavor: ``sklearn``, ``torch``, ``lightgbm``; detected from the model if omitted.
            options: flavor options (``init_kwargs`` for a torch module).
        """
        chosen: Flavor = get_flavor(flavor, trust=True) if flavor else flavor_for(model)
        example = _example.head(input_example)
        if signature is None:
            signature = _infer(chosen, model, example)
        with tempfile.TemporaryDirectory(prefix="pomona-model-") as tmp:
            folder = Path(tmp)
            names = chosen.save(model, folder, dict(options or {}))
            (folder / EXAMPLE_FILE).write_bytes(_example.encode_example(example))
            files = {n: self._upload(folder / n)[0] for n in [*names, EXAMPLE_FILE]}
        return self.create_version(
            name,
            flavor=chosen.name,
            files=files,
            signature=signature,
            metrics=metrics,
            lineage=Lineage(run_id, pipeline_run_id, tuple(dataset_versions), parent_version),
            tags=tags,
            description=description,
            actor=actor,
        )

    def download(self, ref: Ref, dest: Path) -> Path:
        """Copy every file of a version into the folder ``dest`` (each verified)."""
        return self._fetch_files(self.get_version(ref), Path(dest))

    def _fetch_files(self, version: ModelVersion, dest: Path) -> Path:
        for info in version.files:
            self._download(version.name, info.digest, dest / check_file_path(info.path))
        return dest

    def load(self, ref: Ref, *, trust: bool = False, device: str | None = None) -> LoadedModel:
        """Load a version, verifying every file's digest first.

        Args:
            trust: allow types or modules outside the flavor's allow-list and
                ``trusted_modules`` (runs their code). A server never passes it.
            device: for torch models, e.g. ``"cpu"``; default CUDA when available.
        Raises:
            ArtifactCorruptedError: a file's bytes do not match its digest.
            UntrustedModelError: the model needs ``trust=True``.
        """
        version = self.get_version(ref)
        trusted = self.trusted_modules
        flavor = get_flavor(version.flavor, trust=trust, trusted_modules=trusted)
        with tempfile.TemporaryDirectory(prefix="pomona-load-") as tmp:
            self._fetch_files(version, Path(tmp))
            model = flavor.load(Path(tmp), trust=trust, device=device, trusted_modules=trusted)
        return LoadedModel(version, model, flavor)

    def input_example(self, ref: Ref) -> Any:
        """The example batch stored with a version (numpy array or pandas DataFrame)."""
        raw = self._example_bytes(self.get_version(ref))
        return None if raw is None else _example.decode_example(raw)

    def _example_bytes(self, version: ModelVersion) -> bytes | None:
        found = [f for f in version.files if f.path == EXAMPLE_FILE]
        if not found:
            return None
        with tempfile.TemporaryDirectory(prefix="pomona-example-") as tmp:
            path = self._download(version.name, found[0].digest, Path(tmp) / EXAMPLE_FILE)
            return path.read_bytes()

    def build_edge_bundle(
        self, ref: Ref, dest: Path, *, archive: bool = False, tolerance: float = 1e-4
    ) -> Path:
        """Write ``model.onnx``, ``signature.json`` and ``predict.py`` (onnxruntime and numpy
        only) into the folder ``dest``, exporting the version to ONNX first if needed.

        Returns:
            ``dest``, or ``dest`` with ``.zip`` appended when ``archive`` is true.
        """
        from pomona.registry._bundle import write_bundle

        version = self.get_version(ref)
        export = self.find_export(version.ref) or self.export_onnx(version.ref, tolerance=tolerance)
        with tempfile.TemporaryDirectory(prefix="pomona-bundle-") as tmp:
            onnx_path = self._download(version.name, export.digest, Path(tmp) / "model.onnx")
            example = self._example_bytes(version)
            return write_bundle(version, export, onnx_path, example, Path(dest), archive=archive)


def _infer(flavor: Flavor, model: object, example: object) -> Signature:
    """The signature from the model's outputs on the example (probabilities if it has them)."""
    predictions = flavor.predict(model, example)
    probabilities = None
    if flavor.has_proba(model):
        try:
            probabilities = flavor.predict_proba(model, example)
        except InvalidInputError:  # e.g. a torch module whose output is not one row of logits
            probabilities = None
    return infer_signature(example, predictions, probabilities)
