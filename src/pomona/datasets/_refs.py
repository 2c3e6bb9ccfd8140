"""Dataset names and references (``apples``, ``apples:3``, ``apples:latest``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeAlias

from pomona.errors import InvalidInputError
from pomona.types import DatasetRef, parse_version_number

if TYPE_CHECKING:
    from pomona.datasets._model import DatasetSplit, DatasetVersion

__all__ = ["RefLike", "as_ref", "check_dataset_name", "check_label", "check_run_id", "parse_ref"]

RefLike: TypeAlias = "str | DatasetRef | DatasetVersion | DatasetSplit"
"""Anything naming a version: ``"apples:3"``, a ``DatasetRef``, a version or a split."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_LABEL = 250


def check_dataset_name(name: str) -> str:
    """Return ``name`` if it can name a dataset, else raise ``InvalidInputError``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"'{name}' is not a dataset name.",
            hint="Use 1-100 letters, digits, '_', '.' or '-', starting with a letter or digit.",
            details={"field": "name"},
        )
    return name


def parse_ref(text: str) -> DatasetRef:
    """``apples`` / ``apples:latest`` (newest version) or ``apples:3``."""
    name, sep, version = text.strip().partition(":")
    check_dataset_name(name)
    if not sep or version == "latest":
        return DatasetRef(name)
    number = parse_version_number(version)
    if number is None:
        raise InvalidInputError(
            f"'{text}' is not a dataset reference: the version must be a number from 1.",
            hint="Write 'name:3' for version 3, or 'name' for the newest version.",
            details={"field": "ref"},
        )
    return DatasetRef(name, number)


def as_ref(ref: RefLike) -> DatasetRef:
    """The ``DatasetRef`` that ``ref`` names."""
    if isinstance(ref, str):
        return parse_ref(ref)
    if isinstance(ref, DatasetRef):
        check_dataset_name(ref.name)
        return ref
    return ref.ref


def check_label(label: object, where: str) -> str:
    """A label is non-empty text of at most 250 characters."""
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        raise InvalidInputError(
            f"{where}: {label!r} is not a label.",
            hint=f"Labels are non-empty text of at most {MAX_LABEL} characters.",
            details={"field": "label"},
        )
    return label.strip()


def check_run_id(run_id: str | None) -> str | None:
    """A run id is 32 lowercase hex characters (``None``: no run)."""
    if run_id is None:
        return None
    if len(run_id) != 32 or not all(c in "0123456789abcdef" for c in run_id):
        raise InvalidInputError(
            f"'{run_id}' is not a run id (32 lowercase hex characters).",
            hint="Pass run.run_id of the run that made the version.",
            details={"field": "run_id"},
        )
    return run_id
