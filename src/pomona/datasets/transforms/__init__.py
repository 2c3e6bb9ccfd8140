"""Declared data preparation: table and image transforms, fitted once, saved as JSON.

Every transform stores its configuration in ``__init__``, learns its state in ``fit``
(attributes ending in ``_``) and applies it with ``transform`` to a batch or to a single
record: the object fitted in training is the one serving applies. ``to_dict()`` /
``to_json()`` save name, parameters and fitted state (no pickle); ``load_transform``
rebuilds an identical transform.
"""

from __future__ import annotations

from pomona.datasets.transforms._base import Chain, Transform, load_transform
from pomona.datasets.transforms._encode import EncodeCategories
from pomona.datasets.transforms._images import (
    AutoContrast,
    CenterCrop,
    ImageStandardize,
    ImageTransform,
    NormalizeBrightness,
    Resize,
)
from pomona.datasets.transforms._table import Clip, DropColumns, Impute, Scale, TableTransform

__all__ = [
    "AutoContrast",
    "CenterCrop",
    "Chain",
    "Clip",
    "DropColumns",
    "EncodeCategories",
    "ImageStandardize",
    "ImageTransform",
    "Impute",
    "NormalizeBrightness",
    "Resize",
    "Scale",
    "TableTransform",
    "Transform",
    "load_transform",
]
