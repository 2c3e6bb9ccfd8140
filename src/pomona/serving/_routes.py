"""A deployment's live traffic policy: which loaded model answers a request, which mirrors it."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass

from pomona.serving._batcher import Batcher
from pomona.serving._enrich import FeatureLookup
from pomona.serving.records import Deployment
from pomona.serving.strategies import ABTest, Canary, Shadow

__all__ = ["Route", "RouteKey", "Target"]

RouteKey = tuple[int, str, str | None, str]
"""(revision, primary version, challenger version, options) — a new key means a reload."""


@dataclass(frozen=True)
class Target:
    """A variant and the batcher that runs it."""

    variant: str
    batcher: Batcher


@dataclass
class Route:
    """What a server does with a deployment's requests now."""

    deployment: Deployment
    key: RouteKey
    primary: Batcher
    challenger: Batcher | None = None
    features: FeatureLookup | None = None
    """The deployment's feature service, when requests carry entity keys."""

    def choose(self, request_id: str, key: str | None) -> tuple[Target, Target | None]:
        """The variant that answers, and the one that gets a mirrored copy (shadow)."""
        rollout = self.deployment.rollout
        if rollout is None or self.challenger is None:
            return Target("primary", self.primary), None
        strategy = rollout.strategy
        if isinstance(strategy, Canary):
            if random.random() * 100 < rollout.weight:
                return Target("canary", self.challenger), None
            return Target("primary", self.primary), None
        if isinstance(strategy, ABTest):
            sticky = f"{rollout.rollout_id}:{key or request_id}".encode()
            if zlib.crc32(sticky) % 100 < strategy.split:
                return Target("b", self.challenger), None
            return Target("a", self.primary), None
        assert isinstance(strategy, Shadow)
        mirror = random.random() * 100 < strategy.percent
        return Target("primary", self.primary), Target(
            "shadow", self.challenger
        ) if mirror else None

    def batchers(self) -> list[Batcher]:
        return [b for b in (self.primary, self.challenger) if b is not None]
