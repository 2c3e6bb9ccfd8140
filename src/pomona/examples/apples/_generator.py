"""Apple photos: one at a time or many, deterministic by seed and index."""

from __future__ import annotations

import bisect
import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError
from pomona.examples.apples._conditions import VARIETIES, PhotoConditions, Variety
from pomona.examples.apples._defects import Defects, paint_defects, plan_defects
from pomona.examples.apples._scene import expose, surface
from pomona.examples.apples._shape import Apple, draw_stem, make_apple, shade, skin
from pomona.examples.apples._textures import F32, crop, grid, smooth_bank

__all__ = ["ApplePhotoMeta", "apple_rng", "generate_apple", "generate_apples"]

_LIGHT = (-0.45, -0.6, 0.66)


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
    """Exposure factor used (1 = well lit)."""
    blur_sigma: float
    """Gaussian blur sigma used, in pixels of this image (0 = none)."""
    noise_std: float
    """Camera noise standard deviation, in grey levels."""

    def to_dict(self) -> dict[str, str | float | int | bool]:
        """The fields as a plain dict (one row of a table)."""
        return asdict(self)


def apple_rng(seed: int, index: int) -> np.random.Generator:
    """The random generator of photo ``index`` in the stream of ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


class _Choices:
    """Categorical draws of one ``PhotoConditions``, prepared once (bisect on cumulative sums)."""

    def __init__(self, cond: PhotoConditions) -> None:
        self.tables = [
            (list(probs), list(itertools.accumulate(probs.values())))
            for probs in (cond.grade_probs, cond.variety_probs(), cond.backgrounds)
        ]

    def draw(self, rng: np.random.Generator) -> list[str]:
        """A grade, a variety and a background."""
        out = []
        for u, (names, cum) in zip(rng.random(3).tolist(), self.tables, strict=True):
            i = bisect.bisect_right(cum, u * cum[-1])
            out.append(names[min(i, len(names) - 1)])
        return out


def _draw_apple(
    rng: np.random.Generator, size: int, variety: Variety, grade: str
) -> tuple[F32, Apple, Defects]:
    """The lit apple (3 x h x w, in ``apple.box``), its geometry and its defects."""
    g = grid(size)
    coarse_bank, fine_bank = smooth_bank(size)
    apple = make_apple(g, rng, variety)
    shape = apple.alpha.shape
    coarse, fine = crop(coarse_bank, shape, rng), crop(fine_bank, shape, rng)
    albedo = skin(apple, rng, variety, coarse, fine)
    plan = plan_defects(grade, rng)
    noise = (crop(coarse_bank, shape, rng), crop(fine_bank, shape, rng))
    defects = paint_defects(apple, albedo, variety.gloss, plan, rng, noise, g.pixel / apple.radius)
    z = rng.normal(size=3).tolist()
    light = [c + 0.08 * d for c, d in zip(_LIGHT, z, strict=True)]
    norm = math.sqrt(sum(c * c for c in light))
    lit = shade(
        apple, defects.albedo, defects.gloss, (light[0] / norm, light[1] / norm, light[2] / norm)
    )
    return lit, apple, defects


def _render(
    rng: np.random.Generator, size: int, cond: PhotoConditions, choices: _Choices
) -> tuple[NDArray[np.uint8], ApplePhotoMeta]:
    """One photo: an apple on a surface, through the camera; ``rng`` is consumed."""
    grade, variety_name, surface_name = choices.draw(rng)
    lit, apple, defects = _draw_apple(rng, size, VARIETIES[variety_name], grade)
    g = grid(size)
    coarse_bank, fine_bank = smooth_bank(size)
    ground = (crop(coarse_bank, (size, size), rng), crop(fine_bank, (size, size), rng))
    scene = surface(surface_name, g, rng, apple, ground)
    under = scene[:, apple.box[0], apple.box[1]]
    lit -= under
    lit *= apple.alpha
    under += lit
    draw_stem(g, apple, rng, scene)
    z = rng.normal(size=2).tolist()
    brightness = max(0.05, cond.brightness + cond.brightness_jitter * z[0])
    sigma = max(0.0, cond.blur + cond.blur_jitter * z[1]) * size / 64.0
    sigma = sigma if sigma >= 0.3 else 0.0  # too little to see: skip the work
    image = expose(scene, g, rng, brightness=brightness, blur_sigma=sigma, noise_std=cond.noise)

    body = apple.alpha > 0.5
    area = max(int(np.count_nonzero(body)), 1)
    fraction = int(np.count_nonzero(body & (defects.mask > 0.5))) / area
    meta = ApplePhotoMeta(
        grade=grade,
        variety=variety_name,
        background=surface_name,
        defect_fraction=round(fraction, 4),
        n_blemishes=defects.n_blemishes,
        has_bruise=defects.has_bruise,
        has_rot=defects.has_rot,
        brightness=round(brightness, 4),
        blur_sigma=round(sigma, 4),
        noise_std=cond.noise,
    )
    return image, meta


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
        conditions: how the photo is taken; the farm's (``day0_conditions()``) when None.
    """
    _check_size(size)
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    cond = conditions if conditions is not None else PhotoConditions()
    image, meta = _render(rng, size, cond, _Choices(cond))
    return np.ascontiguousarray(image), meta


def generate_apples(
    n: int,
    *,
    seed: int,
    size: int = 64,
    conditions: PhotoConditions | None = None,
    start: int = 0,
) -> tuple[NDArray[np.uint8], list[ApplePhotoMeta]]:
    """``n`` apple photos (n x size x size x 3, uint8) and their metadata.

    Photo ``i`` is drawn with ``apple_rng(seed, start + i)``: it depends only on the
    seed, its index, the size and the conditions, so a stream can be made in chunks.
    """
    if n < 0:
        raise InvalidInputError(f"n must be >= 0, got {n}.", details={"field": "n"})
    _check_size(size)
    cond = conditions if conditions is not None else PhotoConditions()
    choices = _Choices(cond)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    metas: list[ApplePhotoMeta] = []
    for i in range(n):
        images[i], meta = _render(apple_rng(seed, start + i), size, cond, choices)
        metas.append(meta)
    return images, metas
