"""Table transforms on pandas DataFrames; a single record (a mapping) goes through the same
code as a one-row frame, so serving computes exactly what training computed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, cast

from pomona.datasets.transforms._base import Transform
from pomona.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped]

__all__ = ["Clip", "DropColumns", "Impute", "Scale", "TableTransform"]

D = TypeVar("D")


def _frame(data: object) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pd.DataFrame([dict(data)])
    raise InvalidInputError(
        f"A table transform takes a pandas DataFrame or one record (a mapping), "
        f"got {type(data).__name__}.",
        details={"field": "data"},
    )


def _python(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


class TableTransform(Transform):
    """Base of table transforms: ``columns`` (None: the default ones) and one code path."""

    def __init__(self, columns: Sequence[str] | None = None) -> None:
        self.columns = None if columns is None else [str(c) for c in columns]

    def _targets(self, df: pd.DataFrame, numeric_only: bool) -> list[str]:
        if self.columns is not None:
            absent = [c for c in self.columns if c not in df.columns]
            if absent:
                raise InvalidInputError(
                    f"{type(self).__name__}: column '{absent[0]}' is not in the data.",
                    hint=f"The data has: {', '.join(map(str, df.columns))}.",
                    details={"field": "columns"},
                )
            return list(self.columns)
        if not numeric_only:
            return [str(c) for c in df.columns]
        return [str(c) for c in df.columns if getattr(df[c].dtype, "kind", "O") in "iuf"]

    def fit(self, data: object) -> Self:
        self._fit(_frame(data))
        return self

    def transform(self, data: D) -> D:
        self._require_fitted()
        frame = _frame(data)
        out = self._apply(frame.copy())
        if isinstance(data, Mapping):
            return cast(D, {str(k): _python(v) for k, v in out.to_dict("records")[0].items()})
        return cast(D, out)

    def _fit(self, df: pd.DataFrame) -> None:
        """Learns the state (stateless transforms: nothing)."""

    def _apply(self, df: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def _need(self, df: pd.DataFrame, columns: Sequence[str]) -> None:
        absent = [c for c in columns if c not in df.columns]
        if absent:
            raise InvalidInputError(
                f"{type(self).__name__}: the data has no column '{absent[0]}' (fitted on it).",
                hint="Pass every column the transform was fitted on.",
                details={"field": absent[0]},
            )


class Impute(TableTransform):
    """Fills missing values with each column's mean, median, most frequent value or a constant.

    A record without a column gets it, filled.
    """

    name = "Impute"
    params = ("strategy", "columns", "fill_value")
    stateful = True

    def __init__(
        self,
        strategy: Literal["mean", "median", "most_frequent", "constant"] = "mean",
        columns: Sequence[str] | None = None,
        fill_value: str | float | int | bool | None = None,
    ) -> None:
        super().__init__(columns)
        if strategy not in ("mean", "median", "most_frequent", "constant"):
            raise InvalidInputError(
                f"Unknown impute strategy '{strategy}'.",
                hint="Use mean, median, most_frequent or constant.",
                details={"field": "strategy"},
            )
        if strategy == "constant" and fill_value is None:
            raise InvalidInputError(
                "Impute(strategy='constant') needs a fill_value.", details={"field": "fill_value"}
            )
        self.strategy = strategy
        self.fill_value = fill_value
        self.values_: dict[str, Any] | None = None

    def _fit(self, df: pd.DataFrame) -> None:
        values: dict[str, Any] = {}
        for column in self._targets(df, numeric_only=self.strategy in ("mean", "median")):
            series = df[column].dropna()
            if self.strategy == "constant":
                values[column] = self.fill_value
                continue
            if series.empty:
                raise InvalidInputError(
                    f"Impute: column '{column}' has no values to compute a {self.strategy} from.",
                    hint="Use strategy='constant' for it, or leave it out of columns.",
                    details={"field": column},
                )
            if self.strategy == "most_frequent":
                counts = series.value_counts()
                top = counts[counts == counts.max()].index
                values[column] = _python(sorted(top, key=str)[0])
            else:
                values[column] = float(getattr(series, self.strategy)())
        self.values_ = values

    def _apply(self, df: pd.DataFrame) -> pd.DataFrame:
        assert self.values_ is not None
        for column, value in self.values_.items():
            if column not in df.columns:
                df[column] = value
                continue
            series = df[column]
            if isinstance(value, str) and getattr(series.dtype, "kind", "O") in "biuf":
                series = series.astype(object)  # e.g. one record whose text column is None
            df[column] = series.fillna(value)
        return df

    def _state(self) -> dict[str, Any] | None:
        return None if self.values_ is None else {"values": self.values_}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self.values_ = dict(state["values"])


class Clip(TableTransform):
    """Clips numeric columns to bounds: fixed ``bounds`` or the fitted quantiles."""

    name = "Clip"
    params = ("lower", "upper", "bounds", "columns")
    stateful = True

    def __init__(
        self,
        lower: float | None = 0.01,
        upper: float | None = 0.99,
        bounds: Mapping[str, Sequence[float | None]] | None = None,
        columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__(columns)
        for field, q in (("lower", lower), ("upper", upper)):
            if q is not None and not 0.0 <= q <= 1.0:
                raise InvalidInputError(
                    f"Clip {field} quantile must be within [0, 1], got {q}.",
                    details={"field": field},
                )
        self.lower, self.upper = lower, upper
        self.bounds = None if bounds is None else {str(k): list(v) for k, v in bounds.items()}
        self.bounds_: dict[str, list[float | None]] | None = None

    def _fit(self, df: pd.DataFrame) -> None:
        fixed = self.bounds or {}
        learned: dict[str, list[float | None]] = {}
        for column in self._targets(df, numeric_only=True):
            if column in fixed:
                learned[column] = [_maybe_float(v) for v in fixed[column]]
                continue
            series = df[column].dropna().astype(float)
            low = float(series.quantile(self.lower)) if self.lower is not None else None
            high = float(series.quantile(self.upper)) if self.upper is not None else None
            learned[column] = [low, high]
        self.bounds_ = learned

    def _apply(self, df: pd.DataFrame) -> pd.DataFrame:
        assert self.bounds_ is not None
        self._need(df, list(self.bounds_))
        for column, (low, high) in self.bounds_.items():
            df[column] = df[column].clip(lower=low, upper=high)
        return df

    def _state(self) -> dict[str, Any] | None:
        return None if self.bounds_ is None else {"bounds": self.bounds_}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self.bounds_ = {str(k): [_maybe_float(x) for x in v] for k, v in state["bounds"].items()}


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


class Scale(TableTransform):
    """Standardises (``standard``: zero mean, unit variance) or rescales to [0, 1] (``minmax``)."""

    name = "Scale"
    params = ("method", "columns")
    stateful = True

    def __init__(
        self,
        method: Literal["standard", "minmax"] = "standard",
        columns: Sequence[str] | None = None,
    ) -> None:
        super().__init__(columns)
        if method not in ("standard", "minmax"):
            raise InvalidInputError(
                f"Unknown scaling method '{method}'.",
                hint="Use standard or minmax.",
                details={"field": "method"},
            )
        self.method = method
        self.scales_: dict[str, list[float]] | None = None

    def _fit(self, df: pd.DataFrame) -> None:
        scales = {}
        for column in self._targets(df, numeric_only=True):
            series = df[column].dropna().astype(float)
            if self.method == "standard":
                offset, spread = float(series.mean()), float(series.std(ddof=0))
            else:
                offset, spread = float(series.min()), float(series.max() - series.min())
            scales[column] = [offset, spread if spread > 0 else 1.0]
        self.scales_ = scales

    def _apply(self, df: pd.DataFrame) -> pd.DataFrame:
        assert self.scales_ is not None
        self._need(df, list(self.scales_))
        for column, (offset, spread) in self.scales_.items():
            df[column] = (df[column].astype(float) - offset) / spread
        return df

    def _state(self) -> dict[str, Any] | None:
        return None if self.scales_ is None else {"scales": self.scales_}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self.scales_ = {str(k): [float(x) for x in v] for k, v in state["scales"].items()}


class DropColumns(TableTransform):
    """Removes columns (those absent from the data are ignored)."""

    name = "DropColumns"
    params = ("columns",)

    def __init__(self, columns: Sequence[str]) -> None:
        if isinstance(columns, str) or not columns:
            raise InvalidInputError(
                "DropColumns needs a list of column names.", details={"field": "columns"}
            )
        super().__init__(columns)

    def _apply(self, df: pd.DataFrame) -> pd.DataFrame:
        return df.drop(columns=[c for c in self.columns or [] if c in df.columns])
