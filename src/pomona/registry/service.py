"""The embedded registry: models, versions and their files on the metadata and artifact stores."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from pomona._utils.clock import from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.artifacts.base import HashingReader, check_digest
from pomona.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from pomona.metadata import insert_returning
from pomona.metadata.schema import (
    model_exports,
    model_gate_reports,
    model_version_files,
    model_versions,
    registered_models,
)
from pomona.registry import _queries
from pomona.registry._alias_ops import AliasOps
from pomona.registry._card import generate_card
from pomona.registry._checks import (
    check_actor,
    check_file_path,
    check_limit,
    check_metrics,
    check_name,
    check_strings,
    check_tags,
    parse_ref,
)
from pomona.registry._export_ops import ExportOps
from pomona.registry.base import ModelRegistry, Ref
from pomona.registry.flavors import BUILTIN_FLAVORS, get_flavor
from pomona.registry.records import Lineage, ModelVersion, RegisteredModel
from pomona.registry.signature import Signature
from pomona.types import Digest, ModelVersionRef, Page

__all__ = ["RegistryService"]


class RegistryService(AliasOps, ExportOps, ModelRegistry):
    """The registry on a metadata store and an artifact store (``ModelRegistry``).

    Args:
        metadata: where models, versions, aliases and their history are recorded.
        artifacts: where model files, gate reports and exports are stored by digest.
        default_actor: who acts when a call names no ``actor`` (the OS user, from the client).
    """

    # --- models -------------------------------------------------------------------------

    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        name = check_name(name)
        values = check_tags(tags)
        with self._db.write() as conn:
            if self._insert_model(conn, name, description, values) is None:
                raise AlreadyExistsError(
                    f"A model named '{name}' is already registered.",
                    hint="Register a new version of it, or pick another name.",
                    details={"model": name},
                )
        return self.get_model(name)

    def _insert_model(
        self, conn: Connection, name: str, description: str, tags: dict[str, str]
    ) -> int | None:
        now = now_ms()
        row = {
            "name": name,
            "description": str(description or ""),
            "tags": json.dumps(tags),
            "created_ms": now,
            "updated_ms": now,
        }
        pk = insert_returning(conn, registered_models, row, ["name"], registered_models.c.pk)
        return None if pk is None else int(pk)

    def get_model(self, name: str) -> RegisteredModel:
        name = check_name(name)
        with self._db.read() as conn:
            row = conn.execute(
                select(registered_models).where(registered_models.c.name == name)
            ).first()
            if row is None:
                _queries.model_pk(conn, name)  # raises ModelNotFoundError
            assert row is not None
            return _queries.models_from_rows(conn, [row])[0]

    def list_models(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        limit, offset = check_limit(limit), decode_page_token(page_token)
        stmt = (
            select(registered_models)
            .order_by(registered_models.c.name)
            .limit(limit + 1)
            .offset(offset)
        )
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
            items = _queries.models_from_rows(conn, rows[:limit])
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return Page(items, token)

    # --- versions -----------------------------------------------------------------------

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
        name = check_name(name)
        row = self._version_row(
            flavor, signature, metrics, lineage or Lineage(), tags, description, actor
        )
        stored = self._check_files(files)
        with self._db.write() as conn:
            pk = self._insert_model(conn, name, "", {})
            pk = pk if pk is not None else _queries.model_pk(conn, name, lock=True)
            number = (_queries.latest_version(conn, pk) or 0) + 1
            parent = row["parent_version"]
            if parent is not None and not 1 <= parent < number:
                raise InvalidInputError(
                    f"Model '{name}' has no version {parent} to be the parent of version {number}.",
                    details={"field": "parent_version"},
                )
            row.update(model_pk=pk, version=number, created_ms=now_ms())
            row["card"] = card if card is not None else self._card(name, row)
            version_pk = conn.execute(
                model_versions.insert().returning(model_versions.c.pk), [row]
            ).scalar_one()
            conn.execute(
                model_version_files.insert(),
                [
                    {"version_pk": version_pk, "path": p, "digest": d, "size": s}
                    for p, (d, s) in stored.items()
                ],
            )
            conn.execute(
                update(registered_models)
                .where(registered_models.c.pk == pk)
                .values(updated_ms=row["created_ms"])
            )
        return self.get_version(ModelVersionRef(name, version=number))

    def check_loadable(self, flavor: str, files: Mapping[str, Digest]) -> None:
        """Refuse a version whose files would make this registry import code outside its
        allow-list (Pomona's model modules and ``trusted_modules``), before anything is
        recorded: a server runs this on every version a client sends, so nothing it could
        not load safely is ever stored. Reads only the small files that name classes.

        Raises:
            UntrustedModelError: the flavor path or a class the files name is not allowed.
            InvalidInputError: an unknown flavor, or a file it needs is missing or malformed.
        """
        chosen = get_flavor(flavor, trusted_modules=self.trusted_modules)
        stored = self._check_files(files)
        with tempfile.TemporaryDirectory(prefix="pomona-check-") as tmp:

            def fetch(path: str) -> Path:
                dest = Path(tmp) / check_file_path(path)
                return self._blobs.get_file(stored[path][0], dest)

            chosen.check_files(list(stored), fetch, trusted_modules=self.trusted_modules)

    def _version_row(
        self,
        flavor: str,
        signature: Signature,
        metrics: Mapping[str, float] | None,
        lineage: Lineage,
        tags: Mapping[str, str] | None,
        description: str,
        actor: str | None,
    ) -> dict[str, Any]:
        if flavor not in BUILTIN_FLAVORS and ":" not in flavor:
            from importlib.metadata import entry_points

            if flavor not in {ep.name for ep in entry_points(group="pomona.flavors")}:
                raise InvalidInputError(
                    f"Unknown model flavor '{flavor}'.", details={"field": "flavor"}
                )
        if not isinstance(signature, Signature) or not signature.inputs:
            raise InvalidInputError(
                "A version needs a signature with inputs.", details={"field": "signature"}
            )
        values = check_metrics(metrics)
        return {
            "flavor": flavor,
            "signature": json.dumps(signature.to_dict()),
            "metrics": json.dumps({k: None if v != v else v for k, v in values.items()}),
            "tags": json.dumps(check_tags(tags)),
            "description": str(description or ""),
            "run_id": check_strings([lineage.run_id], "run_id", max_length=64)[0]
            if lineage.run_id
            else None,
            "pipeline_run_id": check_strings(
                [lineage.pipeline_run_id], "pipeline_run_id", max_length=64
            )[0]
            if lineage.pipeline_run_id
            else None,
            "dataset_versions": json.dumps(
                list(check_strings(lineage.dataset_versions, "dataset_versions"))
            ),
            "parent_version": lineage.parent_version,
            "created_by": check_actor(actor, self._default_actor),
        }

    def _card(self, name: str, row: dict[str, Any]) -> str:
        created = from_ms(row["created_ms"])
        assert created is not None
        return generate_card(
            name=name,
            version=row["version"],
            flavor=row["flavor"],
            created_at=created,
            created_by=row["created_by"],
            description=row["description"],
            signature=Signature.from_dict(json.loads(row["signature"])),
            metrics={
                k: float("nan") if v is None else v for k, v in json.loads(row["metrics"]).items()
            },
            lineage=Lineage(
                row["run_id"],
                row["pipeline_run_id"],
                tuple(json.loads(row["dataset_versions"])),
                row["parent_version"],
            ),
            tags=json.loads(row["tags"]),
        )

    def _check_files(self, files: Mapping[str, Digest]) -> dict[str, tuple[Digest, int]]:
        if not files:
            raise InvalidInputError(
                "A version needs at least one file.", details={"field": "files"}
            )
        stored = {}
        for path, digest in files.items():
            checked = check_digest(digest)
            if not self._blobs.exists(checked):
                raise InvalidInputError(
                    f"File '{path}' names blob {checked}, which is not stored.",
                    hint="Upload the file before recording the version.",
                    details={"field": f"files.{path}"},
                )
            stored[check_file_path(path)] = (checked, self._blobs.size(checked))
        return stored

    def get_version(self, ref: Ref) -> ModelVersion:
        parsed = parse_ref(ref)
        with self._db.read() as conn:
            _, row = _queries.resolve(conn, parsed)
            return _queries.versions_from_rows(conn, parsed.name, [row])[0]

    def list_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        name = check_name(name)
        limit, offset = check_limit(limit), decode_page_token(page_token)
        with self._db.read() as conn:
            pk = _queries.model_pk(conn, name)
            rows = conn.execute(
                select(model_versions)
                .where(model_versions.c.model_pk == pk)
                .order_by(model_versions.c.version.desc())
                .limit(limit + 1)
                .offset(offset)
            ).all()
            items = _queries.versions_from_rows(conn, name, rows[:limit])
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return Page(items, token)

    def update_version(
        self,
        ref: Ref,
        *,
        tags: Mapping[str, str] | None = None,
        card: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        parsed = parse_ref(ref)
        changes = check_tags(tags)
        with self._db.write() as conn:
            _, row = _queries.resolve(conn, parsed)
            merged = {**json.loads(row.tags), **changes}
            values: dict[str, Any] = {
                "tags": json.dumps({k: v for k, v in merged.items() if v != ""})
            }
            if card is not None:
                values["card"] = str(card)
            if description is not None:
                values["description"] = str(description)
            conn.execute(
                update(model_versions).where(model_versions.c.pk == row.pk).values(**values)
            )
        return self.get_version(ModelVersionRef(parsed.name, version=int(row.version)))

    # --- transport ----------------------------------------------------------------------

    def _upload(self, path: Path) -> tuple[Digest, int]:
        return self._blobs.put_file(path)

    def upload_blob(self, stream: Any) -> tuple[Digest, int]:
        """Store bytes a remote client uploads before recording a version."""
        return self._blobs.put_stream(stream)

    def _download(self, name: str, digest: Digest, dest: Path) -> Path:
        self._check_blob(name, digest)
        return self._blobs.get_file(digest, dest)

    def open_blob(self, name: str, digest: str) -> tuple[HashingReader, int]:
        """A verified stream of one of the model's blobs (files, exports, gate reports)."""
        checked = check_digest(digest)
        self._check_blob(name, checked)
        return self._blobs.open(checked), self._blobs.size(checked)

    def _check_blob(self, name: str, digest: Digest) -> None:
        with self._db.read() as conn:
            pk = _queries.model_pk(conn, check_name(name))
            versions = select(model_versions.c.pk).where(model_versions.c.model_pk == pk)
            queries = [
                select(model_version_files.c.digest).where(
                    model_version_files.c.version_pk.in_(versions),
                    model_version_files.c.digest == digest,
                ),
                select(model_exports.c.digest).where(
                    model_exports.c.version_pk.in_(versions), model_exports.c.digest == digest
                ),
                select(model_gate_reports.c.digest).where(
                    model_gate_reports.c.model_pk == pk, model_gate_reports.c.digest == digest
                ),
            ]
            if not any(conn.execute(q.limit(1)).first() for q in queries):
                raise NotFoundError(
                    f"Model '{name}' has no file with digest {digest}.",
                    details={"digest": digest},
                )
