"""Inferring a table suite from a reference table."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from pomona.datasets.checks._suites import ColumnSpec, Dtype, Scalar, TableSuite
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["infer_table_suite"]

_MIN_ROWS_FOR_UNIQUE = 20


def infer_table_suite(
    df: pd.DataFrame,
    *,
    label: str | None = None,
    range_margin: float = 0.1,
    missing_margin: float = 0.05,
    class_tolerance: float = 0.1,
    max_categories: int = 50,
) -> TableSuite:
    """A suite that ``df`` passes, to review and edit.

    Numeric ranges are the observed ones widened by ``range_margin`` of their span (never
    across zero); a column with missing values allows ``missing_margin`` more of them;
    text columns with at most ``max_categories`` values get that list; the ``label``
    column gets its classes and their shares +- ``class_tolerance``; text and integer
    columns whose values are all distinct (20 rows or more) are marked unique.
    """
    if label is not None and label not in df.columns:
        raise InvalidInputError(
            f"The label column '{label}' is not in the table.",
            hint=f"Pick one of: {', '.join(map(str, df.columns))}.",
            details={"field": "label"},
        )
    columns = {}
    for column in df.columns:
        values = df[column]
        spec: dict[str, Any] = {"dtype": _dtype(values.dtype)}
        missing = float(values.isna().mean()) if len(values) else 0.0
        spec["nullable"] = missing > 0
        if missing > 0:
            spec["max_missing_fraction"] = round(min(1.0, missing + missing_margin), 6)
        present = values.dropna()
        if column == label:
            spec.update(_classes(present, class_tolerance))
        elif spec["dtype"] in ("int", "float") and len(present):
            spec.update(_range(present, range_margin, integer=spec["dtype"] == "int"))
        elif spec["dtype"] in ("str", "bool") and 0 < present.nunique() <= max_categories:
            spec["categories"] = _sorted_values(present.unique())
        if (
            column != label
            and spec["dtype"] in ("int", "str")
            and len(values) >= _MIN_ROWS_FOR_UNIQUE
            and missing == 0
            and values.is_unique
        ):
            spec["unique"] = True
        columns[str(column)] = ColumnSpec(**spec)
    return TableSuite(columns=columns)


def _dtype(dtype: Any) -> Dtype:
    kind = getattr(dtype, "kind", "O")
    if kind == "b" or str(dtype) == "boolean":
        return "bool"
    if kind in "iu":
        return "int"
    if kind == "f":
        return "float"
    if kind == "M":
        return "datetime"
    return "str"


def _python(value: Any) -> Scalar:
    item = value.item() if hasattr(value, "item") else value
    if isinstance(item, str | bool | int | float):
        return item
    return str(item)


def _sorted_values(values: Any) -> list[Scalar]:
    return sorted((_python(v) for v in values), key=lambda v: (str(type(v)), str(v)))


def _range(values: pd.Series, margin: float, *, integer: bool) -> dict[str, int | float]:
    """The observed range widened by ``margin`` of its span, rounded outwards to 3 digits."""
    low, high = float(values.min()), float(values.max())
    span = high - low
    new_low, new_high = low - span * margin, high + span * margin
    if low >= 0:
        new_low = max(new_low, 0.0)
    if high <= 0:
        new_high = min(new_high, 0.0)
    digits = 0 if integer else 2 - math.floor(math.log10(span or abs(high) or 1.0))
    step = 10.0**-digits
    new_low = round(math.floor(new_low / step) * step, max(digits, 0))
    new_high = round(math.ceil(new_high / step) * step, max(digits, 0))
    low, high = min(new_low, low), max(new_high, high)
    return {"min": int(low), "max": int(high)} if integer else {"min": low, "max": high}


def _classes(values: pd.Series, tolerance: float) -> dict[str, Any]:
    shares = values.value_counts(normalize=True)
    classes = _sorted_values(shares.index)
    share = {str(_python(k)): float(v) for k, v in shares.items()}
    balance = {
        str(c): (
            math.floor(max(0.0, share[str(c)] - tolerance) * 1e4) / 1e4,
            math.ceil(min(1.0, share[str(c)] + tolerance) * 1e4) / 1e4,
        )
        for c in classes
    }
    return {"categories": classes, "class_balance": balance}
