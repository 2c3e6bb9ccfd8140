"""The model registry over the REST API (remote mode).

Models are saved and loaded here, with the flavors installed on this machine; their files
travel as verified blobs. ONNX export runs on the server.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pomona.client._remote import RemoteTracking
from pomona.errors import ArtifactCorruptedError, PomonaError
from pomona.registry._checks import check_actor, check_alias, check_name, parse_ref
from pomona.registry.base import ModelRegistry, Ref
from pomona.registry.errors import from_remote
from pomona.registry.records import (
    AliasMove,
    GateReportInfo,
    Lineage,
    ModelVersion,
    OnnxExport,
    RegisteredModel,
)
from pomona.registry.signature import Signature
from pomona.types import Digest, Page

__all__ = ["RemoteRegistry"]

EXPORT_TIMEOUT_S = 600.0
"""The server converts and checks the model while the request waits (torch: tens of s)."""


@contextmanager
def _registry_errors() -> Iterator[None]:
    """Raise the registry's own error classes again (``ModelNotFoundError`` …)."""
    try:
        yield
    except PomonaError as exc:
        rebuilt = from_remote(exc)
        if rebuilt is exc:
            raise
        raise rebuilt from None


class RemoteRegistry(ModelRegistry):
    """Implements ``ModelRegistry`` by calling a Pomona server (over ``RemoteTracking``)."""

    def __init__(self, http: RemoteTracking, *, default_actor: str = "unknown") -> None:
        self._http = http
        self._actor = default_actor

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        with _registry_errors():
            if "json" in kwargs:
                return self._http._json(method, path, kwargs.pop("json"))
            return self._http._request(method, path, **kwargs)

    def _version_path(self, ref: Ref, tail: str = "") -> str:
        r = parse_ref(ref)
        version = self.get_version(r).version if r.alias is not None else r.version
        selector = "latest" if version is None else str(version)
        return f"/models/{quote(r.name)}/versions/{selector}{tail}"

    # --- models and versions --------------------------------------------------------------

    def create_model(
        self, name: str, *, description: str = "", tags: Mapping[str, str] | None = None
    ) -> RegisteredModel:
        body = {"name": check_name(name), "description": description, "tags": dict(tags or {})}
        return RegisteredModel.from_json(self._call("POST", "/models", json=body))

    def get_model(self, name: str) -> RegisteredModel:
        return RegisteredModel.from_json(self._call("GET", f"/models/{quote(check_name(name))}"))

    def list_models(
        self, *, limit: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._call("GET", "/models", params=params)
        items = [RegisteredModel.from_json(m) for m in data["items"]]
        return Page(items, data.get("next_page_token"))

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
        body = {
            "flavor": flavor,
            "files": dict(files),
            "signature": signature.to_dict(),
            "metrics": {k: None if v != v else float(v) for k, v in (metrics or {}).items()},
            "lineage": (lineage or Lineage()).to_json(),
            "tags": dict(tags or {}),
            "description": description,
            "card": card,
            "actor": check_actor(actor, self._actor),
        }
        path = f"/models/{quote(check_name(name))}/versions"
        return ModelVersion.from_json(self._call("POST", path, json=body))

    def get_version(self, ref: Ref) -> ModelVersion:
        r = parse_ref(ref)
        if r.alias is not None:
            path = f"/models/{quote(r.name)}/aliases/{quote(r.alias)}"
        else:
            path = f"/models/{quote(r.name)}/versions/{r.version or 'latest'}"
        return ModelVersion.from_json(self._call("GET", path))

    def list_versions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[ModelVersion]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._call("GET", f"/models/{quote(check_name(name))}/versions", params=params)
        return Page([ModelVersion.from_json(v) for v in data["items"]], data.get("next_page_token"))

    def update_version(
        self,
        ref: Ref,
        *,
        tags: Mapping[str, str] | None = None,
        card: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        body = {
            "tags": None if tags is None else dict(tags),
            "card": card,
            "description": description,
        }
        return ModelVersion.from_json(self._call("PATCH", self._version_path(ref), json=body))

    # --- aliases --------------------------------------------------------------------------

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
        body = {
            "version": version,
            "reason": reason,
            "actor": check_actor(actor, self._actor),
            "gate_report_digest": gate_report_digest,
            "forced": forced,
            "check_signature": check_signature,
        }
        path = f"/models/{quote(check_name(name))}/aliases/{quote(check_alias(alias))}"
        return AliasMove.from_json(self._call("PUT", path, json=body))

    def delete_alias(
        self, name: str, alias: str, *, reason: str, actor: str | None = None
    ) -> AliasMove | None:
        path = f"/models/{quote(check_name(name))}/aliases/{quote(check_alias(alias))}"
        params = {"reason": reason, "actor": check_actor(actor, self._actor)}
        move = self._call("DELETE", path, params=params)["move"]
        return None if move is None else AliasMove.from_json(move)

    def list_alias_history(
        self,
        name: str,
        *,
        alias: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[AliasMove]:
        params: dict[str, Any] = {"limit": limit}
        if alias is not None:
            params["alias"] = alias
        if page_token:
            params["page_token"] = page_token
        data = self._call("GET", f"/models/{quote(check_name(name))}/alias-history", params=params)
        return Page([AliasMove.from_json(m) for m in data["items"]], data.get("next_page_token"))

    # --- gate reports and exports ---------------------------------------------------------

    def put_gate_report(
        self,
        ref: Ref,
        report: Mapping[str, Any],
        *,
        target: str,
        passed: bool,
        actor: str | None = None,
    ) -> GateReportInfo:
        body = {
            "target": target,
            "passed": passed,
            "report": json.loads(json.dumps(report, allow_nan=False, default=str)),
            "actor": check_actor(actor, self._actor),
        }
        path = self._version_path(ref, "/gate-reports")
        return GateReportInfo.from_json(self._call("POST", path, json=body))

    def list_gate_reports(self, name: str, *, version: int | None = None) -> list[GateReportInfo]:
        params = {} if version is None else {"version": version}
        data = self._call("GET", f"/models/{quote(check_name(name))}/gate-reports", params=params)
        return [GateReportInfo.from_json(g) for g in data["items"]]

    def get_gate_report(self, name: str, digest: str) -> dict[str, Any]:
        path = f"/models/{quote(check_name(name))}/gate-reports/{quote(digest)}"
        report: dict[str, Any] = self._call("GET", path)
        return report

    def export_onnx(self, ref: Ref, *, tolerance: float = 1e-4) -> OnnxExport:
        path = self._version_path(ref, "/exports/onnx")
        data = self._call(
            "POST",
            path,
            content=json.dumps({"tolerance": tolerance}),
            headers={"Content-Type": "application/json"},
            timeout=EXPORT_TIMEOUT_S,
        )
        return OnnxExport.from_json(data)

    def find_export(self, ref: Ref) -> OnnxExport | None:
        data = self._call("GET", self._version_path(ref, "/exports/onnx"))["export"]
        return None if data is None else OnnxExport.from_json(data)

    # --- transport ------------------------------------------------------------------------

    def _upload(self, path: Path) -> tuple[Digest, int]:
        def chunks() -> Iterator[bytes]:
            with Path(path).open("rb") as fh:
                while chunk := fh.read(1024 * 1024):
                    yield chunk

        data = self._call(
            "POST",
            "/model-blobs",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return Digest(data["digest"]), int(data["size"])

    def _download(self, name: str, digest: Digest, dest: Path) -> Path:
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.partial")
        url = f"/api/v1/models/{quote(check_name(name))}/blobs/{quote(digest)}"
        http = self._http
        try:
            with http._translated(), http._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    with _registry_errors():
                        http._decode(response)
                hashed = hashlib.sha256()
                with tmp.open("wb") as out:
                    for chunk in response.iter_bytes(1024 * 1024):
                        hashed.update(chunk)
                        out.write(chunk)
            actual = "sha256:" + hashed.hexdigest()
            if actual != digest:
                raise ArtifactCorruptedError(
                    f"A file of model '{name}' arrived corrupted ({actual} != {digest}).",
                    hint="Retry; if it fails again the stored blob is damaged.",
                    details={"digest": digest, "actual": actual},
                )
            tmp.replace(dest)
        finally:
            tmp.unlink(missing_ok=True)
        return dest
