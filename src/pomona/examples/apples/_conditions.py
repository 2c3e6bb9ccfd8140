"""Varieties, photo conditions (the drift knobs) and the demo's day presets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pomona.errors import InvalidInputError

__all__ = [
    "BACKGROUNDS",
    "GRADES",
    "VARIETIES",
    "PhotoConditions",
    "Variety",
    "day0_conditions",
    "townsfolk_day1",
    "townsfolk_day2",
]

GRADES: tuple[str, ...] = ("good", "ok", "bad")
"""The labels, best first."""

BACKGROUNDS: tuple[str, ...] = ("table", "grass", "crate")
"""Surfaces an apple can be photographed on."""

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class Variety:
    """How one apple variety looks (colours are RGB in 0..1)."""

    name: str
    base: RGB
    blush: RGB
    blush_cover: float  # 0: no blush, 1: blush all over
    streaks: float  # strength of stem-to-calyx streaks in the blush
    gloss: float  # strength of the specular highlight
    size: float  # relative radius


_VARIETY_LIST = (
    Variety("red_delicious", (0.62, 0.10, 0.10), (0.45, 0.03, 0.07), 0.9, 0.35, 0.55, 1.0),
    Variety("granny_smith", (0.50, 0.78, 0.26), (0.60, 0.80, 0.30), 0.2, 0.0, 0.45, 1.02),
    Variety("golden", (0.95, 0.82, 0.32), (0.95, 0.62, 0.25), 0.25, 0.0, 0.40, 0.97),
    Variety("gala", (0.95, 0.74, 0.30), (0.84, 0.20, 0.10), 0.7, 1.0, 0.40, 0.92),
    Variety("pink_lady", (0.84, 0.88, 0.48), (0.98, 0.44, 0.58), 0.7, 0.15, 0.50, 0.95),
    Variety("russet", (0.66, 0.48, 0.24), (0.58, 0.34, 0.18), 0.4, 0.0, 0.08, 1.0),
)

VARIETIES: Mapping[str, Variety] = MappingProxyType({v.name: v for v in _VARIETY_LIST})
"""Every variety by name; ``pink_lady`` and ``russet`` are unseen on the farm (drift)."""

_FARM_MIX = {"red_delicious": 0.3, "granny_smith": 0.25, "golden": 0.2, "gala": 0.25}


def _normalised(name: str, probs: Mapping[str, float], known: tuple[str, ...]) -> dict[str, float]:
    unknown = sorted(set(probs) - set(known))
    if unknown:
        raise InvalidInputError(
            f"PhotoConditions.{name} has unknown keys {unknown}.",
            hint=f"Use some of {list(known)}.",
            details={"field": name},
        )
    values = [float(p) for p in probs.values()]
    if any(not math.isfinite(p) or p < 0 for p in values) or sum(values) <= 0:
        raise InvalidInputError(
            f"PhotoConditions.{name} must hold non-negative weights with a positive sum, "
            f"got {dict(probs)}.",
            details={"field": name},
        )
    total = sum(values)
    return {k: float(v) / total for k, v in probs.items()}


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise InvalidInputError(
            f"PhotoConditions.{name} must be in [{low}, {high}], got {value}.",
            details={"field": name},
        )


@dataclass(frozen=True)
class PhotoConditions:
    """How a batch of apple photos is taken: the knobs that make data drift.

    Weights (``grade_probs``, ``variety_mix``, ``backgrounds``) need not sum to 1;
    they are normalised. Blur and noise are given for 64 px images and scaled
    with the image size.
    """

    grade_probs: Mapping[str, float] = field(
        default_factory=lambda: {"good": 0.5, "ok": 0.3, "bad": 0.2}
    )
    """Class balance: probability of each grade."""
    variety_mix: Mapping[str, float] = field(default_factory=lambda: dict(_FARM_MIX))
    """Weights of the varieties photographed (before ``new_variety_share``)."""
    new_variety: str = "pink_lady"
    """The variety that appears with probability ``new_variety_share``."""
    new_variety_share: float = 0.0
    """Fraction of apples of ``new_variety``, on top of ``variety_mix``."""
    brightness: float = 1.0
    """Mean exposure factor (1 = well lit farm photo, 0.5 = dim phone photo)."""
    brightness_jitter: float = 0.08
    """Standard deviation of the exposure factor between photos."""
    blur: float = 0.2
    """Mean Gaussian blur sigma in pixels (at 64 px)."""
    blur_jitter: float = 0.15
    """Standard deviation of the blur sigma between photos."""
    noise: float = 2.0
    """Camera noise standard deviation, in 0..255 grey levels."""
    backgrounds: Mapping[str, float] = field(
        default_factory=lambda: {"table": 0.3, "grass": 0.2, "crate": 0.5}
    )
    """Weights of the backgrounds."""

    def __post_init__(self) -> None:
        grades = _normalised("grade_probs", self.grade_probs, GRADES)
        object.__setattr__(self, "grade_probs", MappingProxyType(grades))
        mix = _normalised("variety_mix", self.variety_mix, tuple(VARIETIES))
        object.__setattr__(self, "variety_mix", MappingProxyType(mix))
        bgs = _normalised("backgrounds", self.backgrounds, BACKGROUNDS)
        object.__setattr__(self, "backgrounds", MappingProxyType(bgs))
        if self.new_variety not in VARIETIES:
            raise InvalidInputError(
                f"PhotoConditions.new_variety {self.new_variety!r} is not a variety.",
                hint=f"Use one of {sorted(VARIETIES)}.",
                details={"field": "new_variety"},
            )
        _check_range("new_variety_share", self.new_variety_share, 0.0, 1.0)
        _check_range("brightness", self.brightness, 0.05, 3.0)
        _check_range("brightness_jitter", self.brightness_jitter, 0.0, 1.0)
        _check_range("blur", self.blur, 0.0, 10.0)
        _check_range("blur_jitter", self.blur_jitter, 0.0, 10.0)
        _check_range("noise", self.noise, 0.0, 100.0)

    def variety_probs(self) -> dict[str, float]:
        """Probability of each variety once ``new_variety_share`` is mixed in."""
        share = self.new_variety_share
        probs = {name: (1.0 - share) * p for name, p in self.variety_mix.items()}
        probs[self.new_variety] = probs.get(self.new_variety, 0.0) + share
        return {name: p for name, p in probs.items() if p > 0}


def day0_conditions() -> PhotoConditions:
    """The farmer's own photos: farm varieties, good light, sharp, on crates and tables."""
    return PhotoConditions()


def townsfolk_day1() -> PhotoConditions:
    """Townsfolk's first day of uploads: the same distribution as the farm's photos."""
    return PhotoConditions()


def townsfolk_day2() -> PhotoConditions:
    """Townsfolk's second day: a new variety, darker, blurrier, noisier phone photos, more rot."""
    return PhotoConditions(
        grade_probs={"good": 0.3, "ok": 0.3, "bad": 0.4},
        new_variety="pink_lady",
        new_variety_share=0.4,
        brightness=0.55,
        brightness_jitter=0.1,
        blur=1.3,
        blur_jitter=0.35,
        noise=7.0,
        backgrounds={"table": 0.6, "grass": 0.3, "crate": 0.1},
    )
