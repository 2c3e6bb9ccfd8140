"""The embedded deployments service: policies, rollouts and decisions in the metadata store."""

from __future__ import annotations

import builtins
import json
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, update

from pomona._utils.clock import from_ms, now_ms
from pomona._utils.paging import decode_page_token, encode_page_token
from pomona.artifacts.base import ArtifactStore
from pomona.errors import AlreadyExistsError, ConflictError, InvalidInputError
from pomona.metadata import MetadataStore, insert_returning
from pomona.metadata.schema import deployment_decisions, deployments
from pomona.registry.base import ModelRegistry
from pomona.serving import _catalog, _feedback
from pomona.serving._catalog import check_name, check_place, deployment_from_row, policy_json
from pomona.serving.base import DeploymentsAPI
from pomona.serving.records import Decision, Deployment, DeploymentOptions, Rollout
from pomona.serving.strategies import Canary, Strategy
from pomona.types import ModelVersionRef, Page

if TYPE_CHECKING:
    from pomona.serving._enrich import FeatureHook, FeatureLookup
    from pomona.serving._local import LocalPredictor
    from pomona.serving.runtime import TransformHook

__all__ = ["DeploymentService"]


@dataclass
class _Change:
    """What a policy change writes: the new policy and the decision that explains it."""

    model: str
    options: DeploymentOptions
    rollout: Rollout | None
    action: str
    reason: str
    rollout_id: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    from_weight: int | None = None
    to_weight: int | None = None
    champion: str | None = None


class DeploymentService(_feedback.FeedbackOps, DeploymentsAPI):
    """Deployments on a metadata store; models resolved and aliases moved through the registry.

    Args:
        metadata: deployments, decisions, feedback and the prediction-log index.
        artifacts: where prediction logs are stored.
        registry: resolves model references, loads versions, moves aliases on promotion.
        default_actor: who acts when a call names no ``actor``.
        transforms: returns the preparation a version's inputs need (wired by the client).
        default_options: options of a new deployment that its ``options`` do not set
            (the ``[serving]`` settings: batch size, wait, queue, logging).
        features: returns a feature service's online features, for deployments with
            ``options.feature_service`` (wired by the client to the feature store).
    """

    def __init__(
        self,
        metadata: MetadataStore,
        artifacts: ArtifactStore,
        registry: ModelRegistry,
        *,
        default_actor: str = "unknown",
        transforms: TransformHook | None = None,
        default_options: Mapping[str, Any] | None = None,
        features: FeatureHook | None = None,
    ) -> None:
        self._db = metadata
        self._blobs = artifacts
        self.registry = registry
        self.transforms = transforms
        self.features = features
        self._default_actor = default_actor
        self._local: LocalPredictor | None = None
        self._local_lock = threading.Lock()
        self.default_options = dict(DeploymentOptions.from_json(default_options).to_json())

    @property
    def metadata_store(self) -> MetadataStore:
        return self._db

    @property
    def artifact_store(self) -> ArtifactStore:
        return self._blobs

    def _actor(self, actor: str | None) -> str:
        who = actor or self._default_actor
        if not isinstance(who, str) or len(who) > 250:
            raise InvalidInputError("actor must be a short string.", details={"field": "actor"})
        return who

    def _resolve(self, ref: str, field_name: str) -> str:
        """``name:N`` of the version ``ref`` names (raises the registry's not-found errors)."""
        if not isinstance(ref, str):
            raise InvalidInputError(
                f"{field_name} must be a model reference like 'apples@champion'.",
                details={"field": field_name},
            )
        return self.registry.get_version(ref).ref

    def feature_lookup(self, service: str) -> FeatureLookup:
        """The online features of feature service ``service`` (blocking: reads the store).

        Raises:
            NotFoundError: the feature store has no such service.
            InvalidInputError: this workspace has no feature store.
        """
        if self.features is None:
            raise InvalidInputError(
                f"Deployment option feature_service={service!r} needs a feature store, "
                "and this workspace has none wired to serving.",
                hint="Create the deployment from a workspace (pomona.connect) with features.",
                details={"field": "options.feature_service"},
            )
        return self.features(service)

    def served(self, deployment: Deployment) -> dict[str, str]:
        """The versions the deployment's references resolve to now."""
        out: dict[str, str] = {}
        refs = {"model": deployment.model}
        if deployment.rollout is not None:
            refs["challenger"] = deployment.rollout.challenger
        for key, ref in refs.items():
            try:
                out[key] = self.registry.get_version(ref).ref
            except Exception as exc:  # a moved or deleted alias: show it, do not fail a listing
                out[key] = f"unresolved: {getattr(exc, 'message', exc)}"
        return out

    # --- deployments --------------------------------------------------------------------

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
        name = check_name(name)
        check_place(environment, "environment")
        check_place(region, "region")
        self._resolve(model, "model")
        opts = DeploymentOptions.from_json({**self.default_options, **dict(options or {})})
        if opts.feature_service:
            self.feature_lookup(opts.feature_service)
        now = now_ms()
        row = {
            "name": name,
            "environment": environment,
            "region": region,
            "description": str(description or ""),
            "policy": policy_json(model, opts, None),
            "revision": 1,
            "created_by": self._actor(actor),
            "created_ms": now,
            "updated_ms": now,
        }
        with self._db.write() as conn:
            if insert_returning(conn, deployments, row, ["name"], deployments.c.pk) is None:
                raise AlreadyExistsError(
                    f"A deployment named '{name}' exists.",
                    hint="Change it with 'pomona deploy rollout' or pick another name.",
                    details={"deployment": name},
                )
        return self.get(name)

    def get(self, name: str) -> Deployment:
        name = check_name(name)
        with self._db.read() as conn:
            found = deployment_from_row(_catalog.deployment_row(conn, name))
        return _with_served(found, self.served(found))

    def find(self, name: str) -> Deployment | None:
        """The deployment, or ``None`` (no model resolution)."""
        with self._db.read() as conn:
            row = conn.execute(select(deployments).where(deployments.c.name == name)).first()
        return None if row is None else deployment_from_row(row)

    def list(
        self,
        *,
        environment: str | None = None,
        region: str | None = None,
        limit: int = 100,
        page_token: str | None = None,
    ) -> Page[Deployment]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidInputError("limit must be in 1..1000.", details={"field": "limit"})
        offset = decode_page_token(page_token)
        stmt = select(deployments).order_by(deployments.c.name).limit(limit + 1).offset(offset)
        if environment is not None:
            stmt = stmt.where(deployments.c.environment == environment)
        if region is not None:
            stmt = stmt.where(deployments.c.region == region)
        with self._db.read() as conn:
            rows = conn.execute(stmt).all()
        items = [deployment_from_row(r) for r in rows[:limit]]
        items = [_with_served(d, self.served(d)) for d in items]
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return Page(items, token)

    def all_deployments(self) -> builtins.list[Deployment]:
        """Every deployment, unresolved (what a server polls)."""
        with self._db.read() as conn:
            rows = conn.execute(select(deployments).order_by(deployments.c.name)).all()
        return [deployment_from_row(r) for r in rows]

    def update(
        self,
        name: str,
        *,
        model: str | None = None,
        options: Mapping[str, Any] | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> Deployment:
        if model is not None:
            self._resolve(model, "model")
        service = (options or {}).get("feature_service")
        if isinstance(service, str) and service:
            self.feature_lookup(service)

        def change(dep: Deployment) -> _Change:
            return _Change(
                model=model if model is not None else dep.model,
                options=dep.options.merged(options),
                rollout=dep.rollout,
                action="set_model" if model is not None else "set_options",
                reason=f"model set to {model}" if model is not None else "options changed",
                rollout_id=dep.rollout.rollout_id if dep.rollout else "",
                evidence={"options": dict(options or {})},
            )

        return self._change(name, change, actor=actor, description=description)

    def delete(self, name: str) -> None:
        name = check_name(name)
        with self._db.write() as conn:
            row = conn.execute(select(deployments.c.pk).where(deployments.c.name == name)).first()
            if row is not None:
                conn.execute(
                    delete(deployment_decisions).where(
                        deployment_decisions.c.deployment_pk == row.pk
                    )
                )
                conn.execute(delete(deployments).where(deployments.c.pk == row.pk))

    # --- rollouts -----------------------------------------------------------------------

    def rollout(
        self,
        name: str,
        *,
        model: str,
        strategy: Strategy | None = None,
        actor: str | None = None,
        reason: str = "",
    ) -> Deployment:
        chosen = strategy if strategy is not None else Canary()
        challenger = self._resolve(model, "model")

        def change(dep: Deployment) -> _Change:
            if dep.rollout is not None:
                raise ConflictError(
                    f"Deployment '{dep.name}' is already rolling out {dep.rollout.challenger}.",
                    hint="Promote it or roll it back first.",
                    details={"deployment": dep.name},
                )
            champion = self._resolve(dep.model, "model")
            if champion == challenger:
                raise InvalidInputError(
                    f"{model} is the version '{dep.name}' serves already ({champion}).",
                    details={"field": "model"},
                )
            now = from_ms(now_ms())
            assert now is not None
            rollout = Rollout(uuid.uuid4().hex, model, chosen, now, now)
            return _Change(
                dep.model,
                dep.options,
                rollout,
                "start",
                reason or f"{chosen.name} rollout of {challenger}",
                rollout.rollout_id,
                {"strategy": chosen.to_json()},
                0,
                rollout.weight,
            )

        return self._change(name, change, actor=actor)

    def advance(
        self,
        name: str,
        *,
        evidence: Mapping[str, Any],
        expected_revision: int | None = None,
        actor: str = "analysis",
    ) -> Deployment:
        """Move a canary to its next step (promote after the last one)."""

        def change(dep: Deployment) -> _Change:
            rollout = _running(dep)
            assert isinstance(rollout.strategy, Canary)
            now = from_ms(now_ms())
            assert now is not None
            nxt = rollout.with_(step=rollout.step + 1, step_started_at=now)
            return _Change(
                dep.model,
                dep.options,
                nxt,
                "advance",
                f"analysis passed at {rollout.weight}%: moving to {nxt.weight}%",
                rollout.rollout_id,
                dict(evidence),
                rollout.weight,
                nxt.weight,
            )

        return self._change(name, change, actor=actor, expected_revision=expected_revision)

    def hold(
        self,
        name: str,
        *,
        reason: str,
        evidence: Mapping[str, Any],
        expected_revision: int | None = None,
        actor: str = "analysis",
        restart: bool = True,
    ) -> Deployment:
        """Record an analysis that moved nothing; restarts the step's clock (the analysis
        window) unless ``restart`` is false (a window still short of samples keeps growing)."""

        def change(dep: Deployment) -> _Change:
            rollout = _running(dep)
            now = from_ms(now_ms())
            assert now is not None
            return _Change(
                dep.model,
                dep.options,
                rollout.with_(step_started_at=now) if restart else rollout,
                "hold",
                reason,
                rollout.rollout_id,
                dict(evidence),
                rollout.weight,
                rollout.weight,
            )

        return self._change(name, change, actor=actor, expected_revision=expected_revision)

    def promote(
        self,
        name: str,
        *,
        actor: str | None = None,
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        dep = self.get(name)
        rollout = _running(dep, paused_ok=True)
        target = self.registry.get_version(rollout.challenger)
        primary = _parse(dep.model)
        champion = dep.served.get("model")
        why = reason or f"promoted {target.ref} on deployment '{dep.name}'"
        if primary.alias is not None:
            self.registry.set_alias(
                primary.name, primary.alias, target.version, reason=why, actor=self._actor(actor)
            )
            model = dep.model
        else:
            model = target.ref

        def change(current: Deployment) -> _Change:
            now_rollout = _running(current, paused_ok=True)
            return _Change(
                model,
                current.options,
                None,
                "promote",
                why,
                now_rollout.rollout_id,
                dict(evidence or {}),
                now_rollout.weight,
                100,
                champion,
            )

        return self._change(name, change, actor=actor, expected_revision=expected_revision)

    def rollback(
        self,
        name: str,
        *,
        actor: str | None = None,
        reason: str = "",
        evidence: Mapping[str, Any] | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        def change(dep: Deployment) -> _Change:
            rollout = _running(dep, paused_ok=True)
            return _Change(
                dep.model,
                dep.options,
                None,
                "rollback",
                reason or f"rolled back {rollout.challenger}",
                rollout.rollout_id,
                dict(evidence or {}),
                rollout.weight,
                0,
            )

        return self._change(name, change, actor=actor, expected_revision=expected_revision)

    def pause(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        return self._set_state(name, "paused", actor, reason or "paused")

    def resume(self, name: str, *, actor: str | None = None, reason: str = "") -> Deployment:
        return self._set_state(name, "running", actor, reason or "resumed")

    def _set_state(self, name: str, state: str, actor: str | None, reason: str) -> Deployment:
        def change(dep: Deployment) -> _Change:
            rollout = _running(dep, paused_ok=True)
            now = from_ms(now_ms())
            assert now is not None
            return _Change(
                dep.model,
                dep.options,
                rollout.with_(state=state, step_started_at=now),
                "pause" if state == "paused" else "resume",
                reason,
                rollout.rollout_id,
                {},
                rollout.weight,
                rollout.weight,
            )

        return self._change(name, change, actor=actor)

    def decisions(
        self, name: str, *, limit: int = 100, page_token: str | None = None
    ) -> Page[Decision]:
        name = check_name(name)
        offset = decode_page_token(page_token)
        with self._db.read() as conn:
            pk = _catalog.deployment_row(conn, name).pk
            rows = conn.execute(
                select(deployment_decisions)
                .where(deployment_decisions.c.deployment_pk == pk)
                .order_by(deployment_decisions.c.pk.desc())
                .limit(limit + 1)
                .offset(offset)
            ).all()
        items = [_catalog.decision_from_row(name, r) for r in rows[:limit]]
        token = encode_page_token(offset + limit) if len(rows) > limit else None
        return Page(items, token)

    # --- the one way a policy changes ---------------------------------------------------

    def _change(
        self,
        name: str,
        fn: Callable[[Deployment], _Change],
        *,
        actor: str | None,
        description: str | None = None,
        expected_revision: int | None = None,
    ) -> Deployment:
        name = check_name(name)
        who = self._actor(actor)
        with self._db.write() as conn:
            row = _catalog.deployment_row(conn, name, lock=True)
            if expected_revision is not None and row.revision != expected_revision:
                raise ConflictError(
                    f"Deployment '{name}' changed meanwhile (revision {row.revision}, "
                    f"expected {expected_revision}).",
                    hint="Reload it and decide again.",
                    details={"deployment": name},
                )
            done = fn(deployment_from_row(row))
            now = now_ms()
            values: dict[str, Any] = {
                "policy": policy_json(done.model, done.options, done.rollout),
                "revision": row.revision + 1,
                "updated_ms": now,
            }
            if description is not None:
                values["description"] = str(description)
            conn.execute(update(deployments).where(deployments.c.pk == row.pk).values(**values))
            conn.execute(
                deployment_decisions.insert(),
                [
                    {
                        "deployment_pk": row.pk,
                        "rollout_id": done.rollout_id,
                        "action": done.action,
                        "from_weight": done.from_weight,
                        "to_weight": done.to_weight,
                        "champion": done.champion or _safe_ref(self, done.model),
                        "challenger": done.rollout.challenger
                        if done.rollout
                        else _prior_challenger(row),
                        "actor": who,
                        "reason": done.reason,
                        "evidence": json.dumps(done.evidence, default=str),
                        "created_ms": now,
                    }
                ],
            )
        return self.get(name)

    # --- predictions (embedded: run here, in the calling thread) --------------------------

    def predict(self, name: str, inputs: Any, *, key: str | None = None) -> dict[str, Any]:
        with self._local_lock:
            if self._local is None:
                from pomona.serving._local import LocalPredictor

                self._local = LocalPredictor(self)
            local = self._local
        return local.predict(name, inputs, key=key)

    def status(self, name: str) -> dict[str, Any]:
        """This process's view of the deployment (its embedded predictions)."""
        self.get(name)
        with self._local_lock:
            local = self._local
        if local is None:
            return {"ready": False, "revision": None, "models": {}, "versions": []}
        return local.status(name)

    def close(self) -> None:
        """Write pending prediction logs and release loaded models."""
        with self._local_lock:
            local, self._local = self._local, None
        if local is not None:
            local.close()


def _with_served(dep: Deployment, served: dict[str, str]) -> Deployment:
    from dataclasses import replace

    return replace(dep, served=served)


def _parse(ref: str) -> ModelVersionRef:
    try:
        return ModelVersionRef.parse(ref)
    except ValueError as exc:
        raise InvalidInputError(str(exc), details={"field": "model"}) from exc


def _running(dep: Deployment, *, paused_ok: bool = False) -> Rollout:
    rollout = dep.rollout
    if rollout is None:
        raise ConflictError(
            f"Deployment '{dep.name}' has no rollout in progress.",
            hint="Start one with 'pomona deploy rollout'.",
            details={"deployment": dep.name},
        )
    if rollout.state != "running" and not paused_ok:
        raise ConflictError(
            f"The rollout on '{dep.name}' is {rollout.state}.",
            hint="Resume it first.",
            details={"deployment": dep.name},
        )
    return rollout


def _safe_ref(service: DeploymentService, ref: str) -> str:
    try:
        return service.registry.get_version(ref).ref
    except Exception:  # the decision still records the reference as given
        return ref[:200]


def _prior_challenger(row: Any) -> str | None:
    rollout = json.loads(row.policy).get("rollout")
    return None if not rollout else str(rollout["challenger"])[:200]
