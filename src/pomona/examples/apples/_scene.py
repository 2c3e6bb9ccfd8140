"""What surrounds the apple: background surfaces, the apple's shadow, and the camera."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from pomona.examples.apples._shape import Apple
from pomona.examples.apples._textures import Grid, crop, noise_bank

__all__ = ["background", "cast_shadow", "expose"]

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

_WOODS = ((0.62, 0.44, 0.27), (0.42, 0.28, 0.17), (0.55, 0.40, 0.30))
_GRASS = (0.25, 0.46, 0.15)
_PINE = (0.80, 0.65, 0.43)


def _tint(rng: np.random.Generator, rgb: tuple[float, float, float], spread: float) -> F32:
    return (np.asarray(rgb, np.float32) * (1.0 + rng.normal(0.0, spread, 3))).astype(np.float32)


def background(name: str, g: Grid, rng: np.random.Generator, coarse: F32, fine: F32) -> F32:
    """A plain textured surface HxWx3: a wooden table, grass, or the slats of a crate."""
    angle = rng.normal(0.0, 0.3)
    c, s = np.float32(np.cos(angle)), np.float32(np.sin(angle))
    along = g.y * c + g.x * s  # across the grain
    if name == "table":
        base = _tint(rng, _WOODS[int(rng.integers(len(_WOODS)))], 0.05)
        freq = np.float32(rng.uniform(8.0, 16.0) * np.pi)
        grain = np.sin(along * freq + 2.5 * coarse)
        value = 0.9 + 0.08 * grain + 0.04 * fine
        return base * value[..., None]
    if name == "grass":
        base = _tint(rng, _GRASS, 0.08)
        value = 0.85 + 0.22 * fine + 0.08 * coarse
        out = base * value[..., None]
        out[..., 0] += 0.04 * coarse  # yellowish patches
        return out
    base = _tint(rng, _PINE, 0.05)
    across = g.x * c - g.y * s
    period = np.float32(rng.uniform(0.5, 0.8))
    phase = (across / period + np.float32(rng.random())) % 1.0
    gap = np.clip((np.abs(phase - 0.5) - 0.46) * 40.0, 0.0, 1.0)  # dark slits between slats
    grain = np.sin(across * np.float32(60.0) + 3.0 * coarse)
    value = (0.9 + 0.05 * grain + 0.04 * fine) * (1.0 - 0.75 * gap)
    return base * value[..., None]


def cast_shadow(bg: F32, g: Grid, apple: Apple) -> F32:
    """Darkens the surface below and right of the apple (light comes from the top left)."""
    sx = np.float32(apple.cx + 0.15 * apple.radius)
    sy = np.float32(apple.cy + 0.7 * apple.radius)
    ex = (g.x - sx) / np.float32(apple.width * 1.05)
    ey = (g.y - sy) / np.float32(apple.radius * 0.5)
    shadow = np.exp(-((ex * ex + ey * ey) ** 2)) * np.float32(0.55)
    return bg * (1.0 - shadow)[..., None]


def expose(
    rgb: F32,
    g: Grid,
    rng: np.random.Generator,
    *,
    brightness: float,
    blur_sigma: float,
    noise_std: float,
) -> U8:
    """The camera: exposure with an uneven light, white balance, lens blur, sensor noise."""
    tilt = rng.uniform(0.0, 2.0 * np.pi)
    gradient = 1.0 + np.float32(0.1) * (
        g.x * np.float32(np.cos(tilt)) + g.y * np.float32(np.sin(tilt))
    )
    gains = (1.0 + rng.normal(0.0, 0.03, 3)).astype(np.float32) * np.float32(brightness * 255.0)
    img = np.clip(rgb * gradient[..., None] * gains, 0.0, 255.0).astype(np.uint8)
    if blur_sigma > 0.2:
        img = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(blur_sigma)))
    if noise_std > 0:
        noise = crop(noise_bank(g.size), g.size, rng)
        noisy = img.astype(np.float32) + noise * np.float32(noise_std)
        img = np.clip(noisy + 0.5, 0.0, 255.0).astype(np.uint8)
    return img
