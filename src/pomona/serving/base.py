"""The deployments interface both transports implement (``ws.deployments``)."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from pomona.serving.records import Decision, Deployment, Feedback, PredictionLogFile
from pomona.serving.strategies import Strategy
from pomona.types import Page

__all__ = ["DeploymentsAPI"]


class DeploymentsAPI(ABC):
    """Deployments: where models are served, how traffic is split, and what was decided."""

    @abstractmethod
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
        """Serve ``model`` (``apples@champion``, ``apples:3``) as deployment ``name``.

        Raises:
            AlreadyExistsError: a deployment has this name.
            ModelNotFoundError, ModelVersionNotFoundError: the reference resolves to nothing.
        """

    @abstractmethod
    def get(self, name: str) -> Deployment:
        """The deployment, or ``DeploymentNotFoundError``."""

    @abstractmethod
    def list(
        self,
        *,
        environment: str | None = None,
        region: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Deployment]:
        """Deployments across environments and regions, by name, with what each serves."""

    @abstractmethod
    def update(
        self,
        name: str,
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> Deployment:
        """Change the served model (takes effect on running servers without a restart) or
        merge options."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove a deployment and its decisions (idempotent); logs and feedback stay."""

    @abstractmethod
    def rollout(
        self,
        name: str,
        *,
        model: str,
        strategy: Strategy | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> Deployment:
        """Start rolling ``model`` out next to the deployment's model (default ``Canary()``).

        Raises:
            ConflictError: a rollout is already running; promote or roll it back first.
        """

    @abstractmethod
    def promote(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        """Make the challenger the deployment's model (moving the alias it serves, if any)."""

    @abstractmethod
    def rollback(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        """End the rollout; all traffic goes back to the deployment's model."""

    @abstractmethod
    def pause(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        """Hold the rollout at its current split; the analysis stops moving it."""

    @abstractmethod
    def resume(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        """Let the analysis move a paused rollout again."""

    @abstractmethod
    def decisions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[Decision]:
        """Every stored decision of the deployment's rollouts, newest first."""

    @abstractmethod
    def predict(self, name: str, inputs: Any, *, key: str | None = None) -> dict[str, Any]:
        """Predictions for ``inputs``: records (list of dicts), columns (dict of lists), a
        nested list for a tensor model, or encoded image bytes (a list of them).

        Returns:
            ``{"request_id", "request_ids", "deployment", "model", "variant",
            "predictions", "probabilities", "confidence"}``.
        """

    @abstractmethod
    def status(self, name: str) -> dict[str, Any]:
        """Readiness of the deployment where it is served (the server for a remote
        workspace; this process for an embedded one): ``ready``, ``revision``, ``models``
        (each loaded variant: model, engine, queued, batches, requests, errors) and
        ``versions`` (requests and failed requests per model version and variant)."""

    @abstractmethod
    def feedback(
        self, name: str, request_id: str, label: object, *, source: str = "api"
    ) -> Feedback:
        """Store the true label of the prediction ``request_id`` (replacing an earlier one)."""

    @abstractmethod
    def get_feedback(self, request_id: str) -> Feedback:
        """The stored label of a prediction, or ``NotFoundError``."""

    @abstractmethod
    def log_files(
        self,
        name: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> builtins.list[PredictionLogFile]:
        """The prediction-log files whose rows may fall in ``[start_ms, end_ms)``."""
