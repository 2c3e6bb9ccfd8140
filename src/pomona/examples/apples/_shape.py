"""The apple itself: silhouette, surface normals, skin colour, shading, stem.

Every array op costs about a microsecond on a 64 x 64 image, so the formulas are
folded to few ops; dot products with the surface normals are one einsum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import numpy as np

from pomona.examples.apples._conditions import Variety
from pomona.examples.apples._textures import F32, Grid, clip01, rgb

__all__ = ["Apple", "draw_stem", "make_apple", "shade", "skin"]

_STEM = rgb(0.42, 0.28, 0.13)


@dataclass
class Apple:
    """Geometry of one apple, drawn in the ``box`` of the image that holds it.

    Arrays cover the box only (h x w); normals are in the apple's own frame (stem up).
    """

    box: tuple[slice, slice]  # rows, columns of the image
    alpha: F32  # h x w coverage of each pixel, 0..1 (anti-aliased edge)
    normals: F32  # 3 x h x w, unit length
    cavity: F32  # h x w, 0..1: how deep in the stem cavity
    cx: float  # centre, grid units
    cy: float
    radius: float  # vertical radius, grid units
    width: float  # horizontal radius, grid units
    tilt: float  # rotation, radians
    top: float  # distance from the centre to the stem cavity, in radii

    def facing(self, directions: F32) -> F32:
        """Dot products of each pixel's normal with K directions: K x h x w."""
        # einsum, not matmul: BLAS threads cost more than they save on arrays this small.
        flat = np.einsum("kc,cn->kn", directions, self.normals.reshape(3, -1))
        return cast(F32, flat.reshape(len(directions), *self.alpha.shape))


def _bump(x: F32, start: float, height: float) -> F32:
    """0 where ``x <= start``, rising quadratically to ``height`` at ``x = 1``."""
    t = np.maximum(x - start, 0.0)
    t *= t
    t *= height / (1.0 - start) ** 2
    return cast(F32, t)


def make_apple(g: Grid, rng: np.random.Generator, variety: Variety) -> Apple:
    """Random silhouette: slightly wide, tapered towards the calyx, dimpled at both poles."""
    u = rng.random(8).tolist()
    radius = (0.56 + 0.12 * u[0]) * variety.size
    aspect, taper, dimple = 1.02 + 0.1 * u[1], 0.04 + 0.1 * u[2], 0.05 + 0.05 * u[3]
    tilt, lobe = 0.4 * (u[4] - 0.5), 0.08 * (u[5] - 0.5)
    cx, cy = 0.14 * (u[6] - 0.5), 0.03 + 0.14 * (u[7] - 0.5)

    # Work only in the apple's bounding box (about half the image).
    half_w, half_h = radius * aspect * (1.0 + taper) * 1.06, radius * 1.06
    ct, st = abs(math.cos(tilt)), abs(math.sin(tilt))
    box = g.box(cx, cy, half_w * ct + half_h * st + g.pixel, half_w * st + half_h * ct + g.pixel)
    gx, gy = g.x[box], g.y[box]

    c, s = math.cos(tilt) / radius, math.sin(tilt) / radius
    py = gy * c - gx * s
    py -= cy * c - cx * s
    px = gx * (c / aspect) + gy * (s / aspect)
    px -= (cx * c + cy * s) / aspect
    px /= 1.0 - taper * py
    px2 = px * px
    rho = np.sqrt(px2 + py * py)
    rho += 1e-6
    up = py / -rho  # cosine of the angle from the stem direction
    r = px / rho
    r *= lobe
    r += 1.0
    r -= _bump(up, 0.9, dimple)
    r -= _bump(-up, 0.9, 0.03)
    d = rho / r
    alpha = clip01((radius / g.pixel + 0.5) - d * (radius / g.pixel))
    inv = 1.0 / np.maximum(rho, r)
    normals = np.empty((3, *gx.shape), np.float32)
    np.multiply(px, inv, out=normals[0])
    np.multiply(py, inv, out=normals[1])
    np.minimum(d, 1.0, out=d)
    np.sqrt(1.0 - d * d, out=normals[2])
    top = 1.0 - dimple
    cavity = clip01(1.0 - (px2 + (py + top) ** 2) * 12.0)
    cavity *= cavity
    return Apple(box, alpha, normals, cavity, cx, cy, radius, radius * aspect, tilt, top)


def skin(apple: Apple, rng: np.random.Generator, variety: Variety, coarse: F32, fine: F32) -> F32:
    """Skin colour (albedo, 3 x H x W): base colour, a blush on one side, streaks, mottling."""
    u = rng.random(6).tolist()
    theta, bz = 2.0 * math.pi * u[0], 0.9 * u[1]
    bxy = 1.6 * math.sqrt(1.0 - bz * bz)
    towards = np.asarray([[bxy * math.cos(theta), bxy * math.sin(theta), 1.6 * bz]], np.float32)
    weight = apple.facing(towards)[0]
    weight += 0.5 - 1.6 * (1.0 - 2.0 * variety.blush_cover)
    weight = clip01(weight)
    if variety.streaks > 0:
        # Streaks run from stem to calyx: a wave over the longitude (asin by its series).
        nx, ny = apple.normals[0], apple.normals[1]
        sin_lon = nx / np.sqrt(1.0001 - ny * ny)
        s2 = sin_lon * sin_lon
        s2 *= 0.075
        s2 += 0.1667
        s2 *= sin_lon * sin_lon
        s2 += 1.0
        s2 *= sin_lon
        s2 *= 20.0 + 8.0 * u[2]  # the longitude times the streak frequency
        s2 += coarse * 1.5
        s2 += fine * 0.5
        s2 += 6.3 * u[3]
        wave = np.cos(s2)
        k = 0.25 * variety.streaks
        wave *= k
        wave += 1.0 - k
        weight *= wave
    base = rgb(*variety.base) * (0.92 + 0.14 * u[4])
    blush = rgb(*variety.blush) * (0.92 + 0.14 * u[5])
    albedo = (blush - base) * weight
    albedo += base
    rough = 0.025 + max(0.0, 0.2 - variety.gloss) * 0.6
    mottle = coarse * 0.06
    mottle += fine * rough
    mottle += 1.0
    albedo *= mottle
    return cast(F32, albedo)


def shade(apple: Apple, albedo: F32, gloss: F32, light: tuple[float, float, float]) -> F32:
    """Lit colour (3 x H x W): diffuse + specular highlight; light is in the image frame."""
    c, s = math.cos(apple.tilt), math.sin(apple.tilt)
    lx, ly, lz = light[0] * c + light[1] * s, light[1] * c - light[0] * s, light[2]
    hn = math.sqrt(lx * lx + ly * ly + (lz + 1.0) ** 2)
    dirs = np.asarray([[lx, ly, lz], [lx / hn, ly / hn, (lz + 1.0) / hn]], np.float32)
    ndotl, ndoth = apple.facing(dirs)
    amount = ndotl.clip(0.0, 1.0)
    amount *= 0.75
    amount += 0.4
    amount *= 1.0 - 0.45 * apple.cavity
    spec = ndoth.clip(0.0, 1.0)
    spec *= spec
    spec *= spec
    spec *= spec
    spec *= spec * spec  # ndoth ** 24
    spec *= gloss
    lit = albedo * amount
    lit += spec
    return cast(F32, lit)


def draw_stem(g: Grid, apple: Apple, rng: np.random.Generator, image: F32) -> None:
    """Paints a short brown stem out of the cavity into ``image`` (3 x H x W), in place."""
    u = rng.random(2).tolist()
    depth = apple.radius * (apple.top - 0.06)
    bx, by = apple.cx + depth * math.sin(apple.tilt), apple.cy - depth * math.cos(apple.tilt)
    angle = apple.tilt + 0.6 * (u[0] - 0.5)
    length = apple.radius * (0.22 + 0.16 * u[1])
    ux, uy = math.sin(angle) * length, -math.cos(angle) * length
    half = max(apple.radius * 0.04, g.pixel * 0.6)
    pad = half + g.pixel  # work only in the stem's bounding box
    x0, x1 = g.index(min(bx, bx + ux) - pad), g.index(max(bx, bx + ux) + pad) + 1
    y0, y1 = g.index(min(by, by + uy) - pad), g.index(max(by, by + uy) + pad) + 1
    qx = g.axis[None, x0:x1] - bx
    qy = g.axis[y0:y1, None] - by
    t = (qx * (ux / length**2) + qy * (uy / length**2)).clip(0.0, 1.0)
    dx, dy = qx - t * ux, qy - t * uy
    stem = clip01((half + 0.5 * g.pixel) / g.pixel - np.sqrt(dx * dx + dy * dy) / g.pixel)
    shading = (0.7 + (dx * -uy + dy * ux) * (0.3 / (half * length))).clip(0.35, 1.0)
    window = image[:, y0:y1, x0:x1]
    window += (_STEM * shading - window) * stem
