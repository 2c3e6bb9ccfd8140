"""What the lifecycle steps pass around, turned back into objects: a stored split into
training data, a JSON model description into a spec, a run into its model."""

from __future__ import annotations

import importlib
import io
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pomona.errors import InvalidInputError

__all__ = ["load_split", "model_spec", "param_prefix", "run_model", "search_space"]

_ESTIMATOR_PACKAGES = ("sklearn.", "lightgbm.")
_IMAGE_PROPERTIES = ("brightness", "contrast", "blur")

Part = tuple[Any, Any, dict[str, list[Any]]]
"""Features, labels and slice attributes of one subset."""


def load_split(
    ws: Any,
    data: dict[str, Any],
    *,
    subsets: Sequence[str] = ("train", "test"),
    limit: int | None = None,
) -> Any:
    """A ``training.Split`` of a stored split: train and val records to fit on, test to
    evaluate on (at most ``limit`` records of each subset). Images are decoded to
    ``n x h x w x 3`` arrays, with their brightness, contrast and blur as slice attributes;
    tables come as DataFrames with the label column as the target."""
    from pomona.training import Split

    try:
        ref, split_id = str(data["dataset"]), str(data["split_id"])
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"Expected the output of the 'split' step ({{'dataset', 'split_id'}}), got {data!r}.",
            details={"field": "data"},
        ) from None
    split = next((s for s in ws.datasets.list_splits(ref) if s.split_id == split_id), None)
    if split is None:
        raise InvalidInputError(f"{ref} has no split '{split_id}'.", details={"field": "data"})
    version = ws.datasets.get_version(ref)
    roles = {"train": ("train", "val"), "test": ("test",)}
    parts: dict[str, Part] = {
        role: _concat([_read(ws, version, split, name, limit) for name in roles[role]])
        for role in subsets
    }
    empty: Part = (None, None, {})
    X_train, y_train, _ = parts.get("train", empty)
    X_test, y_test, attributes = parts.get("test", empty)
    return Split(
        X_train,
        y_train,
        X_test,
        y_test,
        dataset={"train": ref, "test": ref},
        attributes=attributes or None,
    )


def _read(ws: Any, version: Any, split: Any, subset: str, limit: int | None) -> Part:
    if version.kind == "table":
        frame = ws.datasets.load_table(split, subset=subset)
        frame = frame if limit is None else frame.head(limit)
        label = version.schema.get("label") if isinstance(version.schema, dict) else None
        if not label or label not in frame.columns:
            raise InvalidInputError(
                f"{version} has no label column to train on.",
                hint="Ingest the table with labels='<column>'.",
                details={"field": "data"},
            )
        return frame.drop(columns=[label]), frame[label].to_numpy(), {}
    from PIL import Image

    images: list[Any] = []
    labels: list[Any] = []
    attrs: dict[str, list[Any]] = {p: [] for p in _IMAGE_PROPERTIES}
    token = None
    while True:
        page = ws.datasets.list_records(
            split, subset=subset, limit=min(1000, limit or 1000), page_token=token
        )
        for record in page:
            raw = ws.datasets.read_record(version.ref, record.record_id)
            with Image.open(io.BytesIO(raw)) as im:
                images.append(np.asarray(im.convert("RGB")))
            labels.append(record.label)
            for prop in _IMAGE_PROPERTIES:
                attrs[prop].append(record.attributes.get(prop))
        token = page.next_page_token
        if token is None or (limit is not None and len(images) >= limit):
            break
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise InvalidInputError(
            f"{version} holds images of several sizes ({len(shapes)}).",
            hint="Prepare it first: ImageStandardize(size=…) makes them one size.",
            details={"field": "data"},
        )
    stacked = np.stack(images) if images else np.zeros((0, 1, 1, 3), np.uint8)
    numbers = {k: [np.nan if v is None else float(v) for v in vs] for k, vs in attrs.items()}
    return stacked, np.asarray([str(label) for label in labels]), numbers


def _concat(chunks: list[Part]) -> Part:
    Xs = [c[0] for c in chunks if len(c[1])]
    ys = [c[1] for c in chunks if len(c[1])]
    if not ys:
        raise InvalidInputError("The split's subset is empty.", details={"field": "data"})
    if isinstance(Xs[0], np.ndarray):
        X: Any = np.concatenate(Xs)
    else:
        import pandas as pd  # type: ignore[import-untyped]

        X = pd.concat(Xs, ignore_index=True)
    attrs: dict[str, list[Any]] = {}
    for _, _, a in chunks:
        for key, values in a.items():
            attrs.setdefault(key, []).extend(values)
    return X, np.concatenate(ys), attrs


def model_spec(model: dict[str, Any]) -> Any:
    """A ``training`` spec from JSON: ``{"flavor": "sklearn", "estimator":
    "sklearn.ensemble.RandomForestClassifier", "params": {…}, "images": "features"}``
    (``images: "features"`` puts ``ImageFeatures`` before the estimator, for photos;
    ``scale: true`` a ``StandardScaler``),
    ``{"flavor": "torch", "params": {…}}`` or ``{"flavor": "lightgbm", "params": {…}}``."""
    from pomona import training

    flavor = model.get("flavor", "sklearn")
    params = dict(model.get("params") or {})
    if flavor == "torch":
        return training.torch(**params)
    if flavor == "lightgbm":
        return training.lightgbm(**params)
    if flavor != "sklearn":
        raise InvalidInputError(
            f"Unknown model flavor '{flavor}'.",
            hint="Use sklearn, torch or lightgbm.",
            details={"field": "model.flavor"},
        )
    estimator = _estimator(str(model.get("estimator", "")))
    before: list[tuple[str, Any]] = []
    if model.get("images") == "features":
        from pomona.training.image_features import ImageFeatures

        before.append(("features", ImageFeatures()))
    if model.get("scale"):
        from sklearn.preprocessing import StandardScaler

        before.append(("scale", StandardScaler()))
    if not before:
        return training.sklearn(estimator, **params)
    from sklearn.pipeline import Pipeline

    pipe = Pipeline([*before, ("model", estimator())])
    return training.sklearn(pipe, **{f"{param_prefix(model)}{k}": v for k, v in params.items()})


def param_prefix(model: dict[str, Any]) -> str:
    """How the estimator's parameters are named inside the spec: ``model__`` when steps
    (image features, scaling) come before it."""
    return "model__" if model.get("images") == "features" or model.get("scale") else ""


def _estimator(path: str) -> Any:
    module, _, name = path.rpartition(".")
    if not path.startswith(_ESTIMATOR_PACKAGES) or not module:
        raise InvalidInputError(
            f"'{path}' is not a scikit-learn or LightGBM estimator class.",
            hint="Name one by its path, e.g. sklearn.ensemble.RandomForestClassifier.",
            details={"field": "model.estimator"},
        )
    try:
        found = vars(importlib.import_module(module)).get(name)  # no attribute walk
    except ImportError:
        found = None
    if not _is_model_class(found):
        raise InvalidInputError(
            f"'{path}' is not an estimator class.",
            hint="Name a scikit-learn or LightGBM classifier or regressor class.",
            details={"field": "model.estimator"},
        )
    return found


def _is_model_class(found: object) -> bool:
    """A classifier or regressor class defined in scikit-learn or LightGBM: a description
    (a schedule's parameters) may not reach a function, a class some module merely imported,
    or a transformer whose parameters read files (``CountVectorizer(input="filename")``)."""
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    return (
        isinstance(found, type)
        and issubclass(found, BaseEstimator)
        and issubclass(found, ClassifierMixin | RegressorMixin)
        and found.__module__.startswith(_ESTIMATOR_PACKAGES)
    )


def search_space(space: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """``{"low": 10, "high": 200}`` (with ``"log": true``) → a range; a list → choices."""
    out: dict[str, Any] = {}
    for key, value in space.items():
        if isinstance(value, dict):
            try:
                low, high = value["low"], value["high"]
            except KeyError:
                raise InvalidInputError(
                    f"Search space '{key}': a range needs low and high.",
                    hint='Write {"low": 10, "high": 200} or a list of choices.',
                    details={"field": f"space.{key}"},
                ) from None
            out[prefix + key] = (low, high, "log") if value.get("log") else (low, high)
        elif isinstance(value, list) and value:
            out[prefix + key] = value
        else:
            raise InvalidInputError(
                f"Search space '{key}': {value!r} is neither a range nor a list of choices.",
                details={"field": f"space.{key}"},
            )
    return out


def run_model(ws: Any, run_id: str) -> Any:
    """The model a training run logged under ``model/`` (its flavor's safe format)."""
    from pomona.registry.flavors import get_flavor

    with tempfile.TemporaryDirectory(prefix="pomona-run-model-") as tmp:
        folder = Path(tmp)
        names = [a.path for a in ws.runs.list_artifacts(run_id) if a.path.startswith("model/")]
        if "model/flavor.json" not in names:
            raise InvalidInputError(
                f"Run {run_id} logged no model.",
                hint="Train with ws.train(...) (it logs the model) and pass its result.",
                details={"field": "candidate"},
            )
        for name in names:
            ws.runs.download_artifact(run_id, name, folder / name.removeprefix("model/"))
        info = json.loads((folder / "flavor.json").read_text())
        return get_flavor(info["flavor"]).load(folder)
