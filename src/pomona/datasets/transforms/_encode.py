"""Encoding categorical columns: one-hot (with unknown handling) or ordinal codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pomona.datasets.transforms._table import TableTransform, _python
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["EncodeCategories"]


class EncodeCategories(TableTransform):
    """Encodes categorical columns (default: every non-numeric column).

    ``onehot`` replaces column ``c`` with 0/1 columns ``c=<value>``, one per category
    seen in ``fit`` (at most ``max_categories``, the most frequent); ``ordinal`` replaces
    it with the category's index. A value not seen in ``fit`` (or missing) encodes as all
    zeros / -1 with ``handle_unknown="ignore"``, and fails with ``"error"``.
    """

    name = "EncodeCategories"
    params = ("method", "columns", "handle_unknown", "max_categories")
    stateful = True

    def __init__(
        self,
        method: Literal["onehot", "ordinal"] = "onehot",
        columns: Sequence[str] | None = None,
        handle_unknown: Literal["ignore", "error"] = "ignore",
        max_categories: int | None = None,
    ) -> None:
        super().__init__(columns)
        for field, value, allowed in (
            ("method", method, ("onehot", "ordinal")),
            ("handle_unknown", handle_unknown, ("ignore", "error")),
        ):
            if value not in allowed:
                raise InvalidInputError(
                    f"Unknown {field} '{value}'.",
                    hint=f"Use {' or '.join(allowed)}.",
                    details={"field": field},
                )
        if max_categories is not None and max_categories < 1:
            raise InvalidInputError(
                "max_categories must be at least 1.", details={"field": "max_categories"}
            )
        self.method = method
        self.handle_unknown = handle_unknown
        self.max_categories = max_categories
        self.categories_: dict[str, list[Any]] | None = None

    def _fit(self, df: pd.DataFrame) -> None:
        if self.columns is None:
            targets = [str(c) for c in df.columns if getattr(df[c].dtype, "kind", "O") not in "iuf"]
        else:
            targets = self._targets(df, numeric_only=False)
        learned = {}
        for column in targets:
            counts = df[column].value_counts(dropna=True)
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
            kept = ranked[: self.max_categories] if self.max_categories else ranked
            learned[column] = sorted((_python(v) for v, _ in kept), key=str)
        self.categories_ = learned

    def _apply(self, df: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        assert self.categories_ is not None
        self._need(df, list(self.categories_))
        for column, categories in self.categories_.items():
            values = df[column]
            lookup = {value: i for i, value in enumerate(categories)}
            codes = values.map(lookup).fillna(-1).to_numpy(dtype=np.int64)
            if self.handle_unknown == "error":
                _refuse_unknown(column, values, codes)
            if self.method == "ordinal":
                df[column] = codes
                continue
            names = [f"{column}={value}" for value in categories]
            onehot = (codes[:, None] == np.arange(len(categories))).astype(np.uint8)
            encoded = pd.DataFrame(onehot, columns=names, index=df.index)
            at = list(df.columns).index(column)
            df = pd.concat([df.iloc[:, :at], encoded, df.iloc[:, at + 1 :]], axis=1)
        return df

    def _state(self) -> dict[str, Any] | None:
        return None if self.categories_ is None else {"categories": self.categories_}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self.categories_ = {str(k): list(v) for k, v in state["categories"].items()}


def _refuse_unknown(column: str, values: pd.Series, codes: np.ndarray[Any, Any]) -> None:
    unknown = (codes == -1) & values.notna().to_numpy()
    if unknown.any():
        row = values.index[unknown][0]
        raise InvalidInputError(
            f"EncodeCategories: column '{column}' has a category not seen in fit: "
            f"{values[row]!r} (row {row}).",
            hint="Refit on data that has it, or use handle_unknown='ignore'.",
            details={"field": column},
        )
