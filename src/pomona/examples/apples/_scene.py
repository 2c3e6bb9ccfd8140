"""What surrounds the apple: the surface it lies on, its shadow, and the camera."""

from __future__ import annotations

import math
from typing import cast

import numpy as np
from numpy.typing import NDArray

from pomona.examples.apples._shape import Apple
from pomona.examples.apples._textures import F32, Grid, clip01, crop, noise_bank, rgb

__all__ = ["blur", "expose", "surface"]

_WOODS = ((0.72, 0.55, 0.36), (0.80, 0.68, 0.50), (0.62, 0.60, 0.56))  # oak, birch, grey
_GRASS = (0.25, 0.46, 0.15)
_PINE = (0.80, 0.65, 0.43)


def _tint(colour: tuple[float, float, float], z: list[float], spread: float) -> F32:
    r, g, b = (c * (1.0 + spread * d) for c, d in zip(colour, z, strict=True))
    return rgb(r, g, b)


def _texture(name: str, g: Grid, rng: np.random.Generator, coarse: F32, fine: F32) -> F32:
    """A table, grass or crate slats (3 x H x W): a tinted colour times a brightness pattern."""
    u = rng.random(4).tolist()
    z = rng.normal(size=3).tolist()
    angle = 0.6 * (u[0] - 0.5)
    c, s = math.cos(angle), math.sin(angle)
    if name == "table":
        freq = (8.0 + 8.0 * u[2]) * math.pi
        grain = g.y * (c * freq)
        grain += g.x * (s * freq)
        grain += coarse * 2.5
        value = np.sin(grain)
        value *= 0.08
        value += fine * 0.04
        value += 0.9
        return cast(F32, _tint(_WOODS[int(u[1] * len(_WOODS))], z, 0.05) * value)
    if name == "grass":
        value = fine * 0.22
        value += coarse * 0.08
        value += 0.85
        out = _tint(_GRASS, z, 0.08) * value
        out[0] += coarse * 0.04  # yellowish patches
        return out
    period = 1.0 / (0.5 + 0.3 * u[2])
    across = g.x * (c * period)
    across -= g.y * (s * period)
    across += u[3]
    phase = across - np.floor(across)
    phase -= 0.5
    gap = np.abs(phase)
    gap -= 0.46
    gap *= -30.0
    gap += 1.0
    value = np.sin(across * (60.0 / period) + coarse * 3.0)  # grain along the slats
    value *= 0.05
    value += fine * 0.04
    value += 0.9
    value *= gap.clip(0.55, 1.0)  # darker slits between the slats
    return cast(F32, _tint(_PINE, z, 0.05) * value)


def surface(
    name: str, g: Grid, rng: np.random.Generator, apple: Apple, noise: tuple[F32, F32]
) -> F32:
    """The background (3 x H x W), darkened below-right of the apple (light from top left)."""
    ex = g.x - (apple.cx + 0.15 * apple.radius)
    ex *= 1.0 / (apple.width * 1.05)
    ex *= ex
    ey = g.y - (apple.cy + 0.7 * apple.radius)
    ey *= 1.0 / (apple.radius * 0.5)
    ey *= ey
    ex += ey
    shadow = clip01(1.0 - ex)
    shadow *= shadow * -0.4
    shadow += 1.0
    tex = _texture(name, g, rng, noise[0], noise[1])
    tex *= shadow
    return tex


def blur(img: F32, sigma: float) -> F32:
    """Separable Gaussian blur over the last two axes; edges renormalised."""
    size = img.shape[-1]
    r = min(max(1, math.ceil(1.5 * sigma)), size // 2)  # +-1.5 sigma, renormalised
    weights = [math.exp(-k * k / (2.0 * sigma * sigma)) for k in range(r + 1)]
    norm = np.full(size, weights[0], dtype=np.float32)
    for k in range(1, r + 1):
        norm[k:] += weights[k]
        norm[:-k] += weights[k]
    inv = 1.0 / norm
    out = img * weights[0]
    for k in range(1, r + 1):
        out[..., k:] += img[..., :-k] * weights[k]
        out[..., :-k] += img[..., k:] * weights[k]
    out *= inv
    res = out * weights[0]
    for k in range(1, r + 1):
        res[..., k:, :] += out[..., :-k, :] * weights[k]
        res[..., :-k, :] += out[..., k:, :] * weights[k]
    res *= inv[:, None]
    return res


def expose(
    scene: F32,
    g: Grid,
    rng: np.random.Generator,
    *,
    brightness: float,
    blur_sigma: float,
    noise_std: float,
) -> NDArray[np.uint8]:
    """The camera: exposure with uneven light, white balance, lens blur, sensor noise.

    ``scene`` (3 x H x W, 0..1) is overwritten; returns the photo, H x W x 3 uint8 (a view).
    """
    u = rng.random(1).tolist()
    z = rng.normal(size=3).tolist()
    tilt = 2.0 * math.pi * u[0]
    gradient = g.x * (0.1 * math.cos(tilt))
    gradient += g.y * (0.1 * math.sin(tilt))
    gradient += 1.0
    r, gr, b = (brightness * 255.0 * (1.0 + 0.03 * d) for d in z)
    scene *= rgb(r, gr, b) * gradient
    if blur_sigma > 0:
        scene = blur(scene, blur_sigma)
    if noise_std > 0:
        scene += crop(noise_bank(g.size), (g.size, g.size), rng) * noise_std
    scene.clip(0.0, 255.0, out=scene)
    return scene.astype(np.uint8).transpose(1, 2, 0)
