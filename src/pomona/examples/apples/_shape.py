"""The apple itself: silhouette, surface normals, skin colour, shading, stem."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from pomona.examples.apples._conditions import Variety
from pomona.examples.apples._textures import Grid

__all__ = ["Apple", "draw_stem", "make_apple", "shade", "skin"]

F32 = NDArray[np.float32]


@dataclass
class Apple:
    """Geometry of one apple; normals are in the apple's own frame (stem up, unit length)."""

    alpha: F32  # coverage of each pixel, 0..1 (anti-aliased edge)
    nx: F32
    ny: F32
    nz: F32
    px: F32  # apple-frame coordinates, 1 = the apple's radius
    py: F32
    cx: float  # centre, grid units
    cy: float
    radius: float  # vertical radius, grid units
    width: float  # horizontal radius, grid units
    tilt: float  # rotation, radians
    top: float  # apple-frame distance from centre to the stem cavity


def make_apple(g: Grid, rng: np.random.Generator, variety: Variety) -> Apple:
    """Random silhouette: slightly wide ellipse, tapered bottom, dimples at stem and calyx."""
    radius = float(rng.uniform(0.56, 0.68)) * variety.size
    aspect = float(rng.uniform(1.02, 1.12))
    taper = float(rng.uniform(0.04, 0.14))
    tilt = float(rng.normal(0.0, 0.12))
    cx, cy = (float(v) for v in rng.normal(0.0, 0.04, size=2))
    cy += 0.03
    lobe, lobe2 = (float(v) for v in rng.normal(0.0, 0.025, size=2))
    dimple = float(rng.uniform(0.05, 0.1))

    c, s = np.float32(np.cos(tilt)), np.float32(np.sin(tilt))
    dx, dy = g.x - np.float32(cx), g.y - np.float32(cy)
    py = (dy * c - dx * s) / np.float32(radius)
    px = (dx * c + dy * s) / np.float32(radius * aspect) / (1.0 - np.float32(taper) * py)
    rho = np.sqrt(px * px + py * py) + np.float32(1e-6)
    up = -py / rho  # cosine of the angle from the stem direction
    r = 1.0 + np.float32(lobe) * (px / rho) + np.float32(lobe2) * (up * up)
    r -= np.float32(dimple) * np.exp((up - 1.0) * np.float32(30.0))
    r -= np.float32(0.03) * np.exp((-up - 1.0) * np.float32(25.0))
    edge_pixels = np.float32(radius / g.pixel)
    alpha = np.clip((1.0 - rho / r) * edge_pixels + 0.5, 0.0, 1.0)
    m = np.maximum(rho, r)
    nx, ny = px / m, py / m
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    return Apple(alpha, nx, ny, nz, px, py, cx, cy, radius, radius * aspect, tilt, 1.0 - dimple)


def skin(apple: Apple, rng: np.random.Generator, variety: Variety, coarse: F32, fine: F32) -> F32:
    """Skin colour (albedo) HxWx3: base colour, a blush on one side, streaks, mottling."""
    theta = rng.uniform(-np.pi, np.pi)
    bz = rng.uniform(0.0, 0.9)
    bxy = np.sqrt(1.0 - bz * bz)
    bx, by = np.float32(bxy * np.cos(theta)), np.float32(bxy * np.sin(theta))
    facing = apple.nx * bx + apple.ny * by + apple.nz * np.float32(bz)
    cut = np.float32(1.0 - 2.0 * variety.blush_cover)
    weight = np.clip((facing - cut) * 1.6 + 0.5, 0.0, 1.0)
    if variety.streaks > 0:
        horiz = np.sqrt(np.clip(1.0 - apple.ny * apple.ny, 1e-4, 1.0))
        longitude = np.arcsin(np.clip(apple.nx / horiz, -1.0, 1.0))
        freq = np.float32(rng.uniform(20.0, 28.0))
        warp = coarse * np.float32(1.5) + fine * np.float32(0.5)
        wave = np.cos(longitude * freq + warp + np.float32(rng.uniform(0, 6.3)))
        weight = weight * (1.0 - np.float32(0.5 * variety.streaks) * (0.5 - 0.5 * wave))
    base = np.asarray(variety.base, dtype=np.float32) * np.float32(rng.uniform(0.92, 1.06))
    blush = np.asarray(variety.blush, dtype=np.float32) * np.float32(rng.uniform(0.92, 1.06))
    w = weight[..., None]
    albedo = base + (blush - base) * w
    rough = np.float32(0.025 + max(0.0, 0.2 - variety.gloss) * 0.6)
    albedo *= (1.0 + np.float32(0.06) * coarse + rough * fine)[..., None]
    # The stem cavity is greenish-brown and in shadow.
    cavity = np.exp(-(apple.px * apple.px + (apple.py + np.float32(apple.top)) ** 2) * 30.0)
    albedo += (np.asarray((0.5, 0.45, 0.2), np.float32) - albedo) * (0.5 * cavity)[..., None]
    return albedo.astype(np.float32, copy=False)


def shade(apple: Apple, albedo: F32, gloss: F32, light: tuple[float, float, float]) -> F32:
    """Lit colour HxWx3 (diffuse + specular highlight), light given in the image frame."""
    c, s = np.cos(apple.tilt), np.sin(apple.tilt)
    lx = np.float32(light[0] * c + light[1] * s)
    ly = np.float32(light[1] * c - light[0] * s)
    lz = np.float32(light[2])
    ndotl = apple.nx * lx + apple.ny * ly + apple.nz * lz
    hx, hy, hz = lx, ly, lz + np.float32(1.0)
    hn = np.float32(np.sqrt(hx * hx + hy * hy + hz * hz))
    ndoth = np.clip((apple.nx * hx + apple.ny * hy + apple.nz * hz) / hn, 0.0, 1.0)
    cavity = np.exp(-(apple.px * apple.px + (apple.py + np.float32(apple.top)) ** 2) * 25.0)
    calyx = np.exp(-(apple.px * apple.px + (apple.py - np.float32(0.97)) ** 2) * 60.0)
    light_amount = 0.3 + 0.85 * np.clip(ndotl, 0.0, 1.0)
    light_amount *= 1.0 - 0.45 * cavity - 0.35 * calyx
    spec = ndoth**24 * gloss
    return albedo * light_amount[..., None] + (spec * 0.9)[..., None]


def draw_stem(
    g: Grid, apple: Apple, rng: np.random.Generator, rgb: F32, alpha: F32
) -> tuple[F32, F32]:
    """Paints a short brown stem sticking out of the cavity; returns the new rgb and alpha."""
    c, s = np.cos(apple.tilt), np.sin(apple.tilt)
    depth = apple.radius * (apple.top - 0.06)
    bx, by = apple.cx + depth * s, apple.cy - depth * c
    angle = apple.tilt + float(rng.normal(0.0, 0.35))
    length = apple.radius * float(rng.uniform(0.22, 0.38))
    ux, uy = np.sin(angle), -np.cos(angle)
    half = max(apple.radius * 0.045, float(g.pixel) * 0.6)
    qx, qy = g.x - np.float32(bx), g.y - np.float32(by)
    t = np.clip((qx * np.float32(ux) + qy * np.float32(uy)) / np.float32(length), 0.0, 1.0)
    dx, dy = qx - t * np.float32(ux * length), qy - t * np.float32(uy * length)
    dist = np.sqrt(dx * dx + dy * dy)
    width = np.float32(half) * (1.0 - 0.3 * t)
    stem = np.clip((width - dist) / g.pixel + 0.5, 0.0, 1.0)
    side = np.clip(0.5 + (dx * np.float32(-uy) + dy * np.float32(ux)) / width, 0.2, 1.0)
    colour = np.asarray((0.42, 0.28, 0.13), np.float32) * (0.55 + 0.45 * side)[..., None]
    out = rgb + (colour - rgb) * stem[..., None]
    return out.astype(np.float32, copy=False), np.maximum(alpha, stem)
