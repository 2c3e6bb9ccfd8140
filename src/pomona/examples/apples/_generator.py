"""Apple photos: one at a time or many, deterministic by seed and index."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.examples.apples._conditions import VARIETIES, PhotoConditions
from pomona.examples.apples._defects import paint_defects, plan_defects
from pomona.examples.apples._scene import background, cast_shadow, expose
from pomona.examples.apples._shape import draw_stem, make_apple, shade, skin
from pomona.examples.apples._textures import crop, grid, smooth_bank

__all__ = ["ApplePhotoMeta", "apple_rng", "generate_apple", "generate_apples"]

_LIGHT = np.asarray((-0.45, -0.6, 0.66))


@dataclass(frozen=True)
class ApplePhotoMeta:
    """What one generated photo shows and how it was taken."""

    grade: str
    """``good``, ``ok`` or ``bad``: the label."""
    variety: str
    background: str
    defect_fraction: float
    """Share of the apple's visible area covered by defects."""
    n_blemishes: int
    has_bruise: bool
    has_rot: bool
    brightness: float
    """Exposure factor actually used (1 = well lit)."""
    blur_sigma: float
    """Gaussian blur sigma actually used, in pixels of this image."""
    noise_std: float
    """Camera noise standard deviation, in grey levels."""

    def to_dict(self) -> dict[str, str | float | int | bool]:
        """The fields as a plain dict (one row of a table)."""
        return asdict(self)


def apple_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of photo ``index`` in the stream of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _pick(rng: np.random.Generator, probs: Mapping[str, float]) -> str:
    names = list(probs)
    weights = np.asarray([probs[n] for n in names], dtype=np.float64)
    return names[int(np.searchsorted(np.cumsum(weights), rng.random() * weights.sum()))]


def _check_size(size: int) -> None:
    if not 16 <= size <= 1024:
        raise InvalidInputError(
            f"Apple photo size must be between 16 and 1024 pixels, got {size}.",
            details={"field": "size"},
        )


def generate_apple(
    rng: np.random.Generator | int,
    *,
    size: int = 64,
    conditions: PhotoConditions | None = None,
) -> tuple[NDArray[np.uint8], ApplePhotoMeta]:
    """One apple photo (``size`` x ``size`` x 3, uint8) and what it shows.

    Args:
        rng: a numpy Generator, or an int seed.
        size: side of the square image in pixels (16..1024).
        conditions: how the photo is taken; the farm's defaults when None.
    """
    _check_size(size)
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    cond = conditions if conditions is not None else PhotoConditions()
    grade = _pick(rng, cond.grade_probs)
    variety = VARIETIES[_pick(rng, cond.variety_probs())]
    surface = _pick(rng, cond.backgrounds)

    g = grid(size)
    coarse_bank, fine_bank = smooth_bank(size)
    coarse, fine = crop(coarse_bank, size, rng), crop(fine_bank, size, rng)
    apple = make_apple(g, rng, variety)
    albedo = skin(apple, rng, variety, coarse, fine)
    plan = plan_defects(grade, rng)
    pixel = float(g.pixel) / apple.radius
    noise = (crop(coarse_bank, size, rng), crop(fine_bank, size, rng))
    defects = paint_defects(apple, albedo, variety.gloss, plan, rng, noise, pixel)
    light = _LIGHT + rng.normal(0.0, 0.08, 3)
    light /= np.linalg.norm(light)
    rgb = shade(apple, defects.albedo, defects.gloss, (light[0], light[1], light[2]))
    rgb, alpha = draw_stem(g, apple, rng, rgb, apple.alpha)

    bg = cast_shadow(background(surface, g, rng, coarse.T, fine.T), g, apple)
    scene = bg + (rgb - bg) * alpha[..., None]
    brightness = max(0.05, float(rng.normal(cond.brightness, cond.brightness_jitter)))
    blur = max(0.0, float(rng.normal(cond.blur, cond.blur_jitter))) * size / 64.0
    image = expose(scene, g, rng, brightness=brightness, blur_sigma=blur, noise_std=cond.noise)

    body = apple.alpha > 0.5
    area = max(int(body.sum()), 1)
    fraction = float(np.count_nonzero(body & (defects.mask > 0.5))) / area
    meta = ApplePhotoMeta(
        grade=grade,
        variety=variety.name,
        background=surface,
        defect_fraction=round(fraction, 4),
        n_blemishes=defects.n_blemishes,
        has_bruise=defects.has_bruise,
        has_rot=defects.has_rot,
        brightness=round(brightness, 4),
        blur_sigma=round(blur if blur > 0.2 else 0.0, 4),
        noise_std=cond.noise,
    )
    return image, meta


def generate_apples(
    n: int,
    *,
    seed: int,
    size: int = 64,
    conditions: PhotoConditions | None = None,
    start: int = 0,
) -> tuple[NDArray[np.uint8], list[ApplePhotoMeta]]:
    """``n`` apple photos (N x size x size x 3, uint8) and their metadata.

    Photo ``i`` depends only on ``seed``, ``start + i``, ``size`` and ``conditions``,
    so a stream can be generated in chunks with ``start``.
    """
    if n < 0:
        raise InvalidInputError(f"n must be >= 0, got {n}.", details={"field": "n"})
    _check_size(size)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    metas: list[ApplePhotoMeta] = []
    for i in range(n):
        images[i], meta = generate_apple(
            apple_rng(seed, start + i), size=size, conditions=conditions
        )
        metas.append(meta)
    return images, metas
