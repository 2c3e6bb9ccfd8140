"""Suites: what the checks expect, as YAML a person can read and edit."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pomona.errors import InvalidInputError

__all__ = [
    "IMAGE_CHECKS",
    "TABLE_CHECKS",
    "ColumnSpec",
    "ImageSuite",
    "TableSuite",
]

TABLE_CHECKS = (
    "columns",
    "dtype",
    "not_null",
    "range",
    "categories",
    "unique",
    "missing_fraction",
    "class_balance",
)
"""The kinds of table checks, in report order."""

IMAGE_CHECKS = (
    "decodable",
    "format",
    "resolution",
    "aspect_ratio",
    "blur",
    "brightness",
    "contrast",
    "exact_duplicate",
    "near_duplicate",
)
"""The kinds of image checks, in report order."""

Scalar = str | bool | int | float
Dtype = Literal["int", "float", "bool", "str", "datetime"]


def _yaml() -> Any:
    import yaml  # type: ignore[import-untyped]

    return yaml


class _Suite(BaseModel):
    """Blocking and tolerance settings, YAML and dict round trips."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kinds: ClassVar[tuple[str, ...]] = ()
    header: ClassVar[str] = ""

    version: Literal[1] = 1
    blocking: tuple[str, ...] = ()
    """Checks that stop a pipeline when they fail: a kind (``range``) or a name (``range:age``)."""
    tolerance: dict[str, float] = Field(default_factory=dict)
    """Kind or name -> the fraction of records allowed to fail before the check fails."""

    @model_validator(mode="after")
    def _known_kinds(self) -> Self:
        for key in (*self.blocking, *self.tolerance):
            kind = key.split(":", 1)[0]
            if kind not in self.kinds:
                raise ValueError(f"unknown check {key!r}; the kinds are {', '.join(self.kinds)}")
        for key, value in self.tolerance.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"tolerance of {key!r} must be within [0, 1], got {value}")
        return self

    def is_blocking(self, name: str) -> bool:
        """Whether the check called ``name`` (e.g. ``range:age``) is blocking."""
        return any(key in self.blocking for key in _keys(name))

    def tolerance_for(self, name: str) -> float:
        """The fraction of records allowed to fail the check called ``name``."""
        return next((self.tolerance[k] for k in _keys(name) if k in self.tolerance), 0.0)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every setting (``from_dict`` reads it back)."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Reads a suite from a dict, naming the first wrong field if any."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise _invalid(cls.__name__, exc) from exc

    def to_yaml(self) -> str:
        """The suite as commented YAML (``from_yaml`` reads it back)."""
        body = _yaml().safe_dump(
            self.to_dict(), sort_keys=False, default_flow_style=None, allow_unicode=True
        )
        return self.header + str(body)

    @classmethod
    def from_yaml(cls, text: str) -> Self:
        """Reads a suite written by ``to_yaml`` (or by hand)."""
        yaml = _yaml()
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise InvalidInputError(
                f"The {cls.__name__} is not valid YAML: {exc}",
                hint="Fix the YAML syntax at the line it names.",
            ) from exc
        if not isinstance(data, Mapping):
            raise InvalidInputError(
                f"A {cls.__name__} must be a YAML mapping, got {type(data).__name__}.",
                hint="Start from the output of to_yaml() or 'pomona data profile'.",
            )
        return cls.from_dict(data)


def _keys(name: str) -> tuple[str, str, str]:
    return name, name.split("=", 1)[0], name.split(":", 1)[0]


def _invalid(what: str, exc: ValidationError) -> InvalidInputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return InvalidInputError(
        f"Invalid {what}: {where}: {first['msg']}.",
        hint="See docs/data-quality.md for the suite format.",
        details={"field": where},
    )


class ColumnSpec(BaseModel):
    """What one column of a table must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dtype: Dtype | None = None
    """int, float (any real number), bool, str or datetime; None: any type."""
    nullable: bool = True
    """False: a missing value fails the record (``not_null``)."""
    max_missing_fraction: float | None = Field(default=None, ge=0.0, le=1.0)
    """The largest share of missing values over the whole table (``missing_fraction``)."""
    min: int | float | None = None
    max: int | float | None = None
    categories: tuple[Scalar, ...] | None = None
    """The allowed values (``categories``); None: any value."""
    unique: bool = False
    """True: a value seen before fails the record (``unique``); the first one is kept."""
    class_balance: dict[str, tuple[float, float]] | None = None
    """Class (as text) -> allowed share of the non-missing values."""

    @field_validator("class_balance", mode="before")
    @classmethod
    def _class_text(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): v for k, v in value.items()}
        return value

    @field_validator("min", "max")
    @classmethod
    def _finite(cls, value: int | float | None) -> int | float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        for key, (low, high) in (self.class_balance or {}).items():
            if not 0.0 <= low <= high <= 1.0:
                raise ValueError(f"class_balance of {key!r} must satisfy 0 <= low <= high <= 1")
        return self


class TableSuite(_Suite):
    """The expectations of a table: one ``ColumnSpec`` per column."""

    kinds = TABLE_CHECKS
    header = (
        "# Pomona table suite: edit freely, see docs/data-quality.md.\n"
        "# columns.<name>: dtype (int|float|bool|str|datetime), nullable, max_missing_fraction,\n"
        "#   min, max, categories, unique, class_balance {class: [low, high] share}.\n"
        "# blocking: checks that stop a pipeline (a kind such as range, or range:<column>).\n"
        "# tolerance: {check: fraction of records allowed to fail}.\n"
    )

    blocking: tuple[str, ...] = ("columns", "missing_fraction", "class_balance")
    strict: bool = False
    """True: columns not listed here fail the ``columns`` check."""
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["columns"] = {
            name: {k: v for k, v in spec.items() if v is not None and (k != "unique" or v)}
            for name, spec in data["columns"].items()
        }
        return data


class ImageSuite(_Suite):
    """The expectations of a set of images (statistics of the grey image, 0..255)."""

    kinds = IMAGE_CHECKS
    header = "# Pomona image suite: edit freely, see docs/data-quality.md.\n"

    formats: tuple[str, ...] | None = ("PNG", "JPEG")
    """Accepted Pillow format names; None: any decodable format."""
    min_width: int = Field(default=32, ge=1)
    min_height: int = Field(default=32, ge=1)
    max_aspect_ratio: float | None = Field(default=4.0, ge=1.0)
    """Longer side / shorter side."""
    min_blur: float | None = Field(default=10.0, ge=0.0)
    """Smallest variance of the Laplacian (lower is blurrier)."""
    brightness: tuple[float, float] | None = (0.05, 0.95)
    """Allowed mean grey level, as a fraction of white."""
    contrast: tuple[float, float] | None = (0.02, 1.0)
    """Allowed standard deviation of the grey level, as a fraction of white."""
    exact_duplicates: bool = True
    """Flag files whose bytes (sha256) equal an earlier file's."""
    near_duplicate_distance: int | None = Field(default=16, ge=0, le=64)
    """Largest Hamming distance (of 256 bits) between the dHashes of near duplicates."""
    analysis_size: int = Field(default=256, ge=16)
    """Statistics are computed on the image shrunk to at most this many pixels per side."""

    @field_validator("formats")
    @classmethod
    def _upper(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        return tuple("JPEG" if f.upper() == "JPG" else f.upper() for f in value)

    @field_validator("brightness", "contrast")
    @classmethod
    def _interval(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not 0.0 <= value[0] <= value[1] <= 1.0:
            raise ValueError("must be [low, high] with 0 <= low <= high <= 1")
        return value
