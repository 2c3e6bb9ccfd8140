"""Defects on the skin: blemishes (small dark spots), bruises and rot; the grade decides them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pomona.examples.apples._shape import Apple

__all__ = ["DefectPlan", "Defects", "paint_defects", "plan_defects"]

F32 = NDArray[np.float32]

_SPOT = np.asarray((0.14, 0.09, 0.05), np.float32)
_BRUISE = np.asarray((0.42, 0.27, 0.13), np.float32)
_ROT_INNER = np.asarray((0.20, 0.12, 0.05), np.float32)
_ROT_EDGE = np.asarray((0.40, 0.25, 0.10), np.float32)
_MOULD = np.asarray((0.80, 0.76, 0.62), np.float32)


@dataclass(frozen=True)
class DefectPlan:
    """What to paint: spot radii, bruise and rot radii (0 = none), in units of the apple radius."""

    spots: tuple[float, ...] = ()
    bruise: float = 0.0
    rot: float = 0.0


@dataclass(frozen=True)
class Defects:
    """Painted skin and what was painted."""

    albedo: F32
    gloss: F32
    mask: F32  # 0..1 coverage of all defects
    n_blemishes: int
    has_bruise: bool
    has_rot: bool


def _spots(rng: np.random.Generator, n: int, low: float, high: float) -> tuple[float, ...]:
    return tuple(float(r) for r in rng.uniform(low, high, size=n))


def plan_defects(grade: str, rng: np.random.Generator) -> DefectPlan:
    """Random defects consistent with the grade (good: none or one faint speck)."""
    u = float(rng.random())
    if grade == "good":
        return DefectPlan(spots=_spots(rng, 1, 0.03, 0.045)) if u < 0.2 else DefectPlan()
    if grade == "ok":
        if u < 0.45:
            return DefectPlan(spots=_spots(rng, int(rng.integers(2, 6)), 0.06, 0.1))
        if u < 0.8:
            return DefectPlan(bruise=float(rng.uniform(0.2, 0.3)))
        return DefectPlan(spots=_spots(rng, int(rng.integers(1, 3)), 0.06, 0.09), bruise=0.2)
    if u < 0.55:
        return DefectPlan(rot=float(rng.uniform(0.45, 0.85)))
    if u < 0.75:
        spots = _spots(rng, int(rng.integers(0, 4)), 0.06, 0.1)
        return DefectPlan(spots=spots, bruise=float(rng.uniform(0.5, 0.75)))
    return DefectPlan(spots=_spots(rng, int(rng.integers(10, 22)), 0.06, 0.13))


def _centres(rng: np.random.Generator, n: int, reach: float) -> NDArray[np.float32]:
    """``n`` unit vectors on the visible side of the apple, within ``reach`` of the middle."""
    r = reach * np.sqrt(rng.random(n))
    a = rng.uniform(0.0, 2.0 * np.pi, n)
    x, y = r * np.cos(a), r * np.sin(a)
    return np.stack([x, y, np.sqrt(1.0 - x * x - y * y)], axis=1).astype(np.float32)


def _distance(apple: Apple, centre: NDArray[np.float32]) -> F32:
    """Chord distance on the unit sphere from each pixel's normal to ``centre``."""
    dot = apple.nx * centre[0] + apple.ny * centre[1] + apple.nz * centre[2]
    return np.sqrt(np.clip(2.0 - 2.0 * dot, 0.0, 4.0))


def paint_defects(
    apple: Apple,
    albedo: F32,
    gloss: float,
    plan: DefectPlan,
    rng: np.random.Generator,
    noise: tuple[F32, F32],
    pixel: float,
) -> Defects:
    """Paints the planned defects onto the skin; ``pixel`` is one pixel in apple radii."""
    coarse, fine = noise
    mask = np.zeros_like(apple.alpha)
    gloss_map = np.full_like(apple.alpha, np.float32(gloss))
    px = np.float32(pixel)
    if plan.rot > 0:
        (centre,) = _centres(rng, 1, 0.55)
        radius = np.float32(plan.rot)
        dist = _distance(apple, centre) + radius * (0.22 * coarse + 0.08 * fine)
        a = np.clip((radius - dist) / (0.08 * radius + px) + 0.5, 0.0, 1.0)
        t = np.clip(dist / radius, 0.0, 1.0)
        colour = _ROT_INNER + (_ROT_EDGE - _ROT_INNER) * (t * t)[..., None]
        colour *= (1.0 + 0.12 * np.cos(t * np.float32(9 * np.pi)))[..., None]
        mould = ((fine > 1.3) & (t < 0.6)).astype(np.float32) * np.float32(0.8)
        colour += (_MOULD - colour) * mould[..., None]
        albedo = albedo + (colour - albedo) * a[..., None]
        mask = np.maximum(mask, a)
    if plan.bruise > 0:
        (centre,) = _centres(rng, 1, 0.6)
        radius = np.float32(plan.bruise)
        dist = _distance(apple, centre) + radius * 0.2 * coarse
        a = np.clip((radius - dist) / (0.3 * radius + px) + 0.5, 0.0, 1.0) * np.float32(0.9)
        target = (0.35 * albedo + 0.65 * _BRUISE) * np.float32(0.8)
        albedo = albedo + (target - albedo) * a[..., None]
        mask = np.maximum(mask, a / 0.9)
    if plan.spots:
        centres = _centres(rng, len(plan.spots), 0.8)
        dots = centres @ np.stack([apple.nx.ravel(), apple.ny.ravel(), apple.nz.ravel()])
        dists = np.sqrt(np.clip(2.0 - 2.0 * dots, 0.0, 4.0))
        radii = np.asarray(plan.spots, np.float32)[:, None]
        edge = np.max(radii - dists, axis=0).reshape(apple.alpha.shape)
        a = np.clip(edge / px + 0.5, 0.0, 1.0)
        albedo = albedo + (_SPOT - albedo) * (a * np.float32(0.92))[..., None]
        mask = np.maximum(mask, a)
    gloss_map *= 1.0 - mask
    return Defects(
        albedo=albedo,
        gloss=gloss_map,
        mask=mask,
        n_blemishes=len(plan.spots),
        has_bruise=plan.bruise > 0,
        has_rot=plan.rot > 0,
    )
