"""Defects on the skin: blemishes (small dark spots), bruises and rot; the grade decides them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from pomona.examples.apples._shape import Apple
from pomona.examples.apples._textures import F32, clip01, rgb

__all__ = ["DefectPlan", "Defects", "paint_defects", "plan_defects"]

_SPOT = rgb(0.08, 0.06, 0.04)
_BRUISE = rgb(0.40, 0.29, 0.16)
_ROT_INNER = rgb(0.20, 0.12, 0.05)
_ROT_EDGE = rgb(0.40, 0.25, 0.10)
_MOULD = rgb(0.80, 0.76, 0.62)


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


def _radii(rng: np.random.Generator, n: int, low: float, high: float) -> tuple[float, ...]:
    return tuple(float(r) for r in rng.uniform(low, high, size=n))


def plan_defects(grade: str, rng: np.random.Generator) -> DefectPlan:
    """Random defects consistent with the grade (good: none or one faint speck)."""
    u = float(rng.random())
    if grade == "good":
        return DefectPlan(spots=_radii(rng, 1, 0.03, 0.045)) if u < 0.2 else DefectPlan()
    if grade == "ok":
        if u < 0.45:
            return DefectPlan(spots=_radii(rng, int(rng.integers(3, 7)), 0.08, 0.12))
        if u < 0.8:
            return DefectPlan(bruise=float(rng.uniform(0.28, 0.38)))
        return DefectPlan(spots=_radii(rng, int(rng.integers(1, 4)), 0.08, 0.11), bruise=0.25)
    if u < 0.55:
        return DefectPlan(rot=float(rng.uniform(0.45, 0.85)))
    if u < 0.75:
        spots = _radii(rng, int(rng.integers(0, 4)), 0.06, 0.1)
        return DefectPlan(spots=spots, bruise=float(rng.uniform(0.55, 0.8)))
    return DefectPlan(spots=_radii(rng, int(rng.integers(12, 25)), 0.07, 0.13))


def _centres(rng: np.random.Generator, n: int, reach: float) -> F32:
    """``n`` unit vectors (n x 3) on the visible side, within ``reach`` of the middle."""
    out = []
    for u, v in rng.random((n, 2)).tolist():
        r, a = reach * math.sqrt(u), 2.0 * math.pi * v
        x, y = r * math.cos(a), r * math.sin(a)
        out.append((x, y, math.sqrt(1.0 - x * x - y * y)))
    return np.asarray(out, dtype=np.float32)


def _distance(apple: Apple, rng: np.random.Generator, reach: float) -> F32:
    """Chord distance on the unit sphere from each pixel's normal to a random centre."""
    dot = apple.facing(_centres(rng, 1, reach))[0]
    dot *= -2.0
    dot += 2.0
    return cast(F32, np.sqrt(dot.clip(0.0, 4.0)))


def _rot(
    apple: Apple, albedo: F32, radius: float, rng: np.random.Generator, noise: tuple[F32, F32]
) -> tuple[F32, F32]:
    """Large dark-brown region with an irregular edge, rings and pale mould."""
    coarse, fine = noise
    dist = _distance(apple, rng, 0.55)
    dist += coarse * (0.22 * radius)
    dist += fine * (0.08 * radius)
    t = clip01(dist * (1.0 / radius))
    a = clip01((1.0 - t) * (1.0 / 0.08))
    colour = _ROT_INNER + (_ROT_EDGE - _ROT_INNER) * (t * t)
    colour *= 1.0 + 0.12 * np.cos(t * (9 * np.pi))
    mould = clip01((fine - 1.6) * 2.0)
    mould *= t < 0.5
    colour += (_MOULD - colour) * mould
    albedo += (colour - albedo) * a
    return albedo, a


def _bruise(
    apple: Apple, albedo: F32, radius: float, rng: np.random.Generator, coarse: F32
) -> tuple[F32, F32]:
    """Soft brownish, darker patch."""
    dist = _distance(apple, rng, 0.6)
    dist += coarse * (0.2 * radius)
    a = clip01((radius - dist) * (1.0 / (0.5 * radius)) + 0.4)
    target = albedo * 0.15
    target += _BRUISE * 0.7
    target -= albedo
    target *= a * (0.9 + 0.08 * coarse)
    albedo += target
    return albedo, a


def _spots(
    apple: Apple, albedo: F32, radii: tuple[float, ...], rng: np.random.Generator, pixel: float
) -> tuple[F32, F32]:
    """Small, sharp, nearly black spots.

    Near a spot's edge its distance ``d`` from the centre satisfies
    ``r - d ~ (r**2 - d**2) / 2r`` and ``d**2 = 2 - 2 n.c``: the coverage is affine in
    the normal, so all spots are one product with the normals and a max.
    """
    r = np.asarray(radii, np.float32)[:, None]
    scale = 1.0 / (r * pixel)
    centres = _centres(rng, len(radii), 0.8) * scale
    flat = apple.facing(centres).reshape(len(radii), -1)
    flat += (r * r - 2.0) * (0.5 * scale) + 0.5
    a = clip01(flat.max(axis=0).reshape(apple.alpha.shape))
    albedo += (_SPOT - albedo) * (a * 0.92)
    return albedo, a


def paint_defects(
    apple: Apple,
    albedo: F32,
    gloss: float,
    plan: DefectPlan,
    rng: np.random.Generator,
    noise: tuple[F32, F32],
    pixel: float,
) -> Defects:
    """Paints the planned defects onto the skin, in place; ``pixel`` is one pixel in radii."""
    masks = []
    if plan.rot > 0:
        albedo, a = _rot(apple, albedo, plan.rot, rng, noise)
        masks.append(a)
    if plan.bruise > 0:
        albedo, a = _bruise(apple, albedo, plan.bruise, rng, noise[0])
        masks.append(a)
    if plan.spots:
        albedo, a = _spots(apple, albedo, plan.spots, rng, pixel)
        masks.append(a)
    if not masks:
        mask = np.zeros_like(apple.alpha)
        gloss_map = np.full_like(apple.alpha, gloss * 0.9)
    else:
        mask = masks[0] if len(masks) == 1 else np.maximum.reduce(masks)
        gloss_map = (1.0 - mask) * (gloss * 0.9)
    return Defects(
        albedo=albedo,
        gloss=gloss_map,
        mask=mask,
        n_blemishes=len(plan.spots),
        has_bruise=plan.bruise > 0,
        has_rot=plan.rot > 0,
    )
