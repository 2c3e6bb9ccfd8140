"""What a training call accepts as data, normalised into one train/test split."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from pomona.errors import InvalidInputError

__all__ = ["Split", "Task", "TrainingData", "data_digest", "infer_task", "prepare_data"]

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")


@dataclass(frozen=True)
class Split:
    """An explicit train/test split, with the dataset versions it came from.

    Args:
        X_train, y_train, X_test, y_test: features (array, DataFrame or image batch
            ``n x h x w x c``) and targets.
        dataset: the dataset version ref (``"apples:3"``), or one ref per role
            (``{"train": ..., "test": ...}``), recorded as the run's inputs.
        attributes: per test row, columns to slice metrics by (``{"variety": [...]}``).
    """

    X_train: Any
    y_train: Any
    X_test: Any
    y_test: Any
    dataset: str | Mapping[str, str] | None = None
    attributes: Mapping[str, Sequence[Any]] | None = None


@dataclass(frozen=True)
class TrainingData:
    """One normalised split: what ``train``, ``tune`` and ``evaluate`` work on."""

    X_train: Any
    y_train: NDArray[Any]
    X_test: Any
    y_test: NDArray[Any]
    task: Task
    feature_names: list[str]
    attributes: dict[str, NDArray[Any]] = field(default_factory=dict)
    datasets: dict[str, str] = field(default_factory=dict)

    @property
    def is_images(self) -> bool:
        return isinstance(self.X_train, np.ndarray) and self.X_train.ndim == 4

    def lineage(self) -> dict[str, str]:
        """``dataset.<role>`` params: the version ref where known, else the content digest."""
        out = {f"dataset.{role}": ref for role, ref in self.datasets.items()}
        for role, (X, y) in {
            "train": (self.X_train, self.y_train),
            "test": (self.X_test, self.y_test),
        }.items():
            out.setdefault(f"dataset.{role}", data_digest(X, y))
        return out


def _is_frame(x: Any) -> bool:
    return hasattr(x, "columns") and hasattr(x, "iloc")


def _as_target(y: Any, what: str) -> NDArray[Any]:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InvalidInputError(
            f"The {what} must be one value per row (1-D); got shape {arr.shape}.",
            details={"field": what},
        )
    return arr


def _rows(X: Any) -> int:
    return len(X) if _is_frame(X) else int(np.shape(X)[0])


def _check_rows(X: Any, y: NDArray[Any], what: str) -> None:
    if _rows(X) != len(y):
        raise InvalidInputError(
            f"The {what} features have {_rows(X)} rows but the targets have {len(y)}.",
            hint="Pass one target per row.",
            details={"field": what},
        )
    if len(y) == 0:
        raise InvalidInputError(f"The {what} data is empty.", details={"field": what})


def _as_features(X: Any) -> Any:
    if _is_frame(X) or isinstance(X, np.ndarray):
        return X
    return np.asarray(X)


def feature_names(X: Any) -> list[str]:
    if _is_frame(X):
        return [str(c) for c in X.columns]
    shape = np.shape(X)
    if len(shape) == 2:
        return [f"x{i}" for i in range(shape[1])]
    return ["image"] if len(shape) == 4 else [f"x{i}" for i in range(int(np.prod(shape[1:])))]


def infer_task(y: NDArray[Any]) -> Task:
    """Classification for labels (strings, booleans, few distinct integers), else regression."""
    if y.dtype.kind in "OUSb":
        return "classification"
    if y.dtype.kind in "iu" and len(np.unique(y)) <= max(20, int(len(y) ** 0.5)):
        return "classification"
    return "regression"


def _check_task(task: str | None, y: NDArray[Any]) -> Task:
    if task is None:
        return infer_task(y)
    if task not in TASKS:
        raise InvalidInputError(
            f"Unknown task '{task}'.",
            hint=f"Use one of {', '.join(TASKS)}.",
            details={"field": "task"},
        )
    return task


def data_digest(X: Any, y: Any) -> str:
    """A content digest of features and targets (``sha256:…``), for lineage."""
    h = hashlib.sha256()
    for part in (X, y):
        if _is_frame(part) or hasattr(part, "to_numpy"):
            import pandas as pd  # type: ignore[import-untyped]

            h.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            arr = np.ascontiguousarray(np.asarray(part))
            h.update(str((arr.dtype.str, arr.shape)).encode())
            h.update(arr.tobytes() if arr.dtype.kind != "O" else repr(arr.tolist()).encode())
    return "sha256:" + h.hexdigest()


def _refs(dataset: Any) -> dict[str, str]:
    if dataset is None:
        return {}
    if isinstance(dataset, Mapping):
        return {str(role): str(getattr(ref, "ref", ref)) for role, ref in dataset.items()}
    ref = str(getattr(dataset, "ref", dataset))
    return {"train": ref, "test": ref}


def _attributes(attrs: Mapping[str, Sequence[Any]] | None, n: int) -> dict[str, NDArray[Any]]:
    out = {}
    for name, values in (attrs or {}).items():
        arr = np.asarray(values)
        if len(arr) != n:
            raise InvalidInputError(
                f"Attribute '{name}' has {len(arr)} values for {n} test rows.",
                details={"field": f"attributes.{name}"},
            )
        out[str(name)] = arr
    return out


def _take(X: Any, idx: NDArray[np.intp]) -> Any:
    return X.iloc[idx] if _is_frame(X) else X[idx]


def _split_xy(
    X: Any, y: NDArray[Any], task: Task, test_size: float, seed: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise InvalidInputError(
            f"test_size must be between 0 and 1, got {test_size}.",
            details={"field": "test_size"},
        )
    idx = np.arange(len(y))
    stratify = (
        y if task == "classification" and np.unique(y, return_counts=True)[1].min() > 1 else None
    )
    train_idx, test_idx = train_test_split(
        idx, test_size=test_size, random_state=seed, stratify=stratify
    )
    return np.asarray(train_idx), np.asarray(test_idx)


def prepare_data(
    data: Any,
    *,
    task: str | None = None,
    target: str | None = None,
    test_size: float = 0.25,
    seed: int = 0,
    dataset: str | Mapping[str, str] | None = None,
    attributes: Mapping[str, Sequence[Any]] | None = None,
) -> TrainingData:
    """Normalise ``data`` into a train/test split.

    Args:
        data: a :class:`Split`; ``(X, y)`` (split here, stratified for classification);
            ``(X_train, y_train, X_test, y_test)``; a DataFrame with a ``target`` column;
            or a :class:`TrainingData` (returned as is).
        attributes: for ``(X, y)`` data, per-row slice columns (split along with X).
    Raises:
        InvalidInputError: the data has another shape, mismatched rows, or an unknown task.
    """
    if isinstance(data, TrainingData):
        return data
    if isinstance(data, Split):
        return _from_split(data, task, dataset)
    if _is_frame(data):
        if target is None or target not in data.columns:
            raise InvalidInputError(
                "A DataFrame needs target='<column>' naming the column to predict.",
                details={"field": "target"},
            )
        data = (data.drop(columns=[target]), data[target])
    if isinstance(data, tuple) and len(data) == 4:
        return _from_split(Split(*data, attributes=attributes), task, dataset)
    if not (isinstance(data, tuple) and len(data) == 2):
        raise InvalidInputError(
            f"Cannot train on a {type(data).__name__}.",
            hint="Pass (X, y), (X_train, y_train, X_test, y_test), a pomona.training.Split, "
            "or a DataFrame with target='<column>'.",
            details={"field": "data"},
        )
    X, y = _as_features(data[0]), _as_target(data[1], "targets")
    _check_rows(X, y, "training")
    kind = _check_task(task, y)
    attrs = _attributes(attributes, len(y))
    train_idx, test_idx = _split_xy(X, y, kind, test_size, seed)
    return TrainingData(
        X_train=_take(X, train_idx),
        y_train=y[train_idx],
        X_test=_take(X, test_idx),
        y_test=y[test_idx],
        task=kind,
        feature_names=feature_names(X),
        attributes={k: v[test_idx] for k, v in attrs.items()},
        datasets=_refs(dataset),
    )


def _from_split(split: Split, task: str | None, dataset: Any) -> TrainingData:
    X_train, X_test = _as_features(split.X_train), _as_features(split.X_test)
    y_train = _as_target(split.y_train, "training targets")
    y_test = _as_target(split.y_test, "test targets")
    _check_rows(X_train, y_train, "training")
    _check_rows(X_test, y_test, "test")
    return TrainingData(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=_check_task(task, y_train),
        feature_names=feature_names(X_train),
        attributes=_attributes(split.attributes, len(y_test)),
        datasets=_refs(split.dataset if split.dataset is not None else dataset),
    )
