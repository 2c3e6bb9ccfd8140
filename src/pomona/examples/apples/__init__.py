"""Procedural apple photos, graded good / ok / bad: the running example's data.

Varieties, backgrounds, lighting, blur and camera noise are drawn from
:class:`PhotoConditions`, whose knobs make the data drift (a new variety, darker,
blurrier phone photos, another class balance). Every photo is drawn from its own
random stream (seed + index), so results do not depend on batch size.

>>> from pomona.examples import apples
>>> images, metas = apples.generate_apples(8, seed=0)
>>> images.shape, metas[0].grade in apples.GRADES
((8, 64, 64, 3), True)
"""

from __future__ import annotations

from pomona.examples.apples._conditions import (
    BACKGROUNDS,
    GRADES,
    VARIETIES,
    PhotoConditions,
    Variety,
    day0_conditions,
    townsfolk_day1,
    townsfolk_day2,
)
from pomona.examples.apples._files import (
    DEFECTIVE_FILE_KINDS,
    AppleFolderSummary,
    DefectiveFile,
    write_apple_folder,
)
from pomona.examples.apples._generator import (
    ApplePhotoMeta,
    apple_rng,
    generate_apple,
    generate_apples,
)
from pomona.examples.apples._sheet import contact_sheet

# Plain sorted() order, as tests/test_exported_members.py checks (ruff's RUF022 wants another).
__all__ = [  # noqa: RUF022
    "AppleFolderSummary",
    "ApplePhotoMeta",
    "BACKGROUNDS",
    "DEFECTIVE_FILE_KINDS",
    "DefectiveFile",
    "GRADES",
    "PhotoConditions",
    "VARIETIES",
    "Variety",
    "apple_rng",
    "contact_sheet",
    "day0_conditions",
    "generate_apple",
    "generate_apples",
    "townsfolk_day1",
    "townsfolk_day2",
    "write_apple_folder",
]
