"""Deployments over the REST API (remote mode): management, predictions, feedback."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import orjson

from pomona.client._remote import RemoteTracking
from pomona.errors import PomonaError
from pomona.serving._catalog import check_name
from pomona.serving._local import body_from_python
from pomona.serving.base import DeploymentsAPI
from pomona.serving.errors import from_remote
from pomona.serving.records import Decision, Deployment, Feedback, PredictionLogFile
from pomona.serving.strategies import Strategy
from pomona.types import Page

__all__ = ["RemoteDeployments"]


@contextmanager
def _serving_errors() -> Iterator[None]:
    """Raise serving's and the registry's own error classes again."""
    from pomona.registry.errors import from_remote as registry_error

    try:
        yield
    except PomonaError as exc:
        rebuilt = from_remote(exc)
        if rebuilt is exc:
            rebuilt = registry_error(exc)
        if rebuilt is exc:
            raise
        raise rebuilt from None


class RemoteDeployments(DeploymentsAPI):
    """Implements ``DeploymentsAPI`` by calling a Pomona server."""

    def __init__(self, http: RemoteTracking, *, default_actor: str = "unknown") -> None:
        self._http = http
        self._actor = default_actor

    def _call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        with _serving_errors():
            if body is not None:
                return self._http._json(method, path, body)
            return self._http._request(method, path, **kwargs)

    def _path(self, name: str, tail: str = "") -> str:
        return f"/deployments/{quote(check_name(name), safe='')}{tail}"

    def create(
        self,
        name: str,
        *,
        model: str,
        environment: str = "production",
        region: str = "default",
        description: str = "",
        options: Mapping[str, Any] | None = None,
        actor: str | None = None,
    ) -> Deployment:
        body = {
            "name": check_name(name),
            "model": model,
            "environment": environment,
            "region": region,
            "description": description,
            "options": dict(options or {}),
            "actor": actor or self._actor,
        }
        return Deployment.from_json(self._call("POST", "/deployments", body))

    def get(self, name: str) -> Deployment:
        return Deployment.from_json(self._call("GET", self._path(name)))

    def list(
        self,
        *,
        environment: str | None = None,
        region: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Deployment]:
        params: dict[str, Any] = {"limit": limit}
        for key, value in (
            ("environment", environment),
            ("region", region),
            ("page_token", page_token),
        ):
            if value is not None:
                params[key] = value
        data = self._call("GET", "/deployments", params=params)
        return Page([Deployment.from_json(d) for d in data["items"]], data.get("next_page_token"))

    def update(
        self,
        name: str,
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> Deployment:
        body = {
            "model": model,
            "options": None if options is None else dict(options),
            "description": description,
            "actor": actor or self._actor,
        }
        return Deployment.from_json(self._call("PATCH", self._path(name), body))

    def delete(self, name: str) -> None:
        self._call("DELETE", self._path(name))

    def rollout(
        self,
        name: str,
        *,
        model: str,
        strategy: Strategy | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> Deployment:
        body = {
            "model": model,
            "strategy": None if strategy is None else strategy.to_json(),
            "actor": actor or self._actor,
            "reason": reason,
        }
        return Deployment.from_json(self._call("POST", self._path(name, "/rollout"), body))

    def _act(self, name: str, action: str, actor: str | None, reason: str) -> Deployment:
        body = {"actor": actor or self._actor, "reason": reason}
        return Deployment.from_json(self._call("POST", self._path(name, f"/{action}"), body))

    def promote(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        return self._act(name, "promote", actor, reason)

    def rollback(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        return self._act(name, "rollback", actor, reason)

    def pause(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        return self._act(name, "pause", actor, reason)

    def resume(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        return self._act(name, "resume", actor, reason)

    def decisions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[Decision]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._call("GET", self._path(name, "/decisions"), params=params)
        return Page([Decision.from_json(d) for d in data["items"]], data.get("next_page_token"))

    def predict(self, name: str, inputs: Any, *, key: str | None = None) -> dict[str, Any]:
        body = body_from_python(inputs)
        url = f"/v1/deployments/{quote(check_name(name), safe='')}/predict"
        headers = {"X-Request-Key": key} if key else {}
        with _serving_errors(), self._http._translated():
            if isinstance(body, builtins.list):
                files = [("file", (f"image-{i}", data)) for i, data in enumerate(body)]
                response = self._http._http.post(url, files=files, headers=headers)
            else:
                headers["Content-Type"] = "application/json"
                response = self._http._http.post(url, content=orjson.dumps(body), headers=headers)
        with _serving_errors():
            result: dict[str, Any] = self._http._decode(response)
        return result

    def status(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", self._path(name, "/status"))
        return result

    def feedback(
        self, name: str, request_id: str, label: object, *, source: str = "api"
    ) -> Feedback:
        url = f"/v1/deployments/{quote(check_name(name), safe='')}/feedback"
        body = {"request_id": request_id, "label": label, "source": source}
        with _serving_errors(), self._http._translated():
            response = self._http._http.post(
                url, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
            )
        with _serving_errors():
            return Feedback.from_json(self._http._decode(response))

    def get_feedback(self, request_id: str) -> Feedback:
        return Feedback.from_json(self._call("GET", f"/feedback/{quote(request_id, safe='')}"))

    def log_files(
        self,
        name: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> builtins.list[PredictionLogFile]:
        params: dict[str, Any] = {}
        for key, value in (("deployment", name), ("start_ms", start_ms), ("end_ms", end_ms)):
            if value is not None:
                params[key] = value
        data = self._call("GET", "/prediction-logs", params=params)
        return [PredictionLogFile.from_json(f) for f in data["items"]]
