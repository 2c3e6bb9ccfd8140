"""Table profiles: per-column statistics and class counts, built batch by batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pomona.datasets.profiling._columns import ColumnProfile
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["TableProfile", "TableProfiler", "profile_table"]


@dataclass(frozen=True)
class TableProfile:
    """Statistics of every column of a table; ``class_counts`` when a label is named."""

    rows: int
    columns: dict[str, ColumnProfile]
    label: str | None = None

    @property
    def class_counts(self) -> dict[str, int] | None:
        """Rows per class of the label column (as text), most frequent first."""
        if self.label is None or self.label not in self.columns:
            return None
        return dict(self.columns[self.label].top(len(self.columns[self.label].categories)))

    def merge(self, other: TableProfile) -> TableProfile:
        """The profile of both tables' rows (columns missing from one count as missing)."""
        columns = dict(self.columns)
        for name, column in other.columns.items():
            mine = columns.get(name)
            if mine is None:
                columns[name] = _with_missing(column, self.rows)
            else:
                columns[name] = mine.merge(column, column=name)
        for name in self.columns.keys() - other.columns.keys():
            columns[name] = _with_missing(columns[name], other.rows)
        return TableProfile(self.rows + other.rows, columns, self.label or other.label)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able; ``from_dict`` reads it back."""
        return {
            "kind": "table",
            "rows": self.rows,
            "label": self.label,
            "class_counts": self.class_counts,
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableProfile:
        """Rebuilds a profile written by ``to_dict``."""
        if data.get("kind") != "table" or not isinstance(data.get("columns"), Mapping):
            raise InvalidInputError(
                "Not a table profile: expected kind 'table' and a 'columns' map.",
                hint="Pass a dict written by TableProfile.to_dict().",
            )
        columns = {str(k): ColumnProfile.from_dict(v) for k, v in data["columns"].items()}
        return cls(int(data["rows"]), columns, data.get("label"))


def _with_missing(column: ColumnProfile, rows: int) -> ColumnProfile:
    empty = (
        ColumnProfile.categorical({}, rows)
        if column.kind == "categorical"
        else ColumnProfile.numeric(_no_values(), rows, integer=False)
    )
    return empty.merge(column)


def _no_values() -> Any:
    import numpy as np

    return np.empty(0, dtype=np.float64)


class TableProfiler:
    """Accumulates a ``TableProfile`` one batch (DataFrame) at a time."""

    def __init__(self, *, label: str | None = None) -> None:
        self.label = label
        self._profile: TableProfile | None = None

    def update(self, df: pd.DataFrame) -> None:
        """Adds a batch of rows."""
        if self.label is not None and self.label not in df.columns:
            raise InvalidInputError(
                f"The label column '{self.label}' is not in the table.",
                hint=f"Pick one of: {', '.join(map(str, df.columns))}.",
                details={"field": "label"},
            )
        columns = {
            str(name): ColumnProfile.of(df[name], categorical=name == self.label)
            for name in df.columns
        }
        batch = TableProfile(len(df), columns, self.label)
        self._profile = batch if self._profile is None else self._profile.merge(batch)

    def profile(self) -> TableProfile:
        """The profile of every batch so far."""
        return self._profile or TableProfile(0, {}, self.label)


def profile_table(
    data: pd.DataFrame | Iterable[pd.DataFrame], *, label: str | None = None
) -> TableProfile:
    """The profile of a table, or of an iterable of batches of one (memory: one batch)."""
    import pandas as pd

    profiler = TableProfiler(label=label)
    for batch in [data] if isinstance(data, pd.DataFrame) else data:
        profiler.update(batch)
    return profiler.profile()
