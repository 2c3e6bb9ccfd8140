"""``ImageFeatures``: a scikit-learn step turning raw photos into the feature store's
image features, so a pipeline of it and a classifier takes images as serving sends them.

>>> from sklearn.ensemble import RandomForestClassifier
>>> from sklearn.pipeline import make_pipeline
>>> model = make_pipeline(ImageFeatures(), RandomForestClassifier())   # doctest: +SKIP
>>> model.fit(images, grades).predict(images[:2])                      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.base import BaseEstimator, TransformerMixin

from pomona.errors import InvalidInputError

__all__ = ["ImageFeatures"]

_MEMO_SIZE = 50_000
_memo: OrderedDict[bytes, NDArray[np.float64]] = OrderedDict()
_memo_lock = threading.Lock()


class ImageFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Colour histograms, texture and blemish statistics of each ``h x w x 3`` image
    (``pomona.features.image_vector``: the same code as the ``apple_images`` feature view).

    Stateless; results are memoised by the image's bytes (cross-validation folds and
    tuning trials reuse them), in a bounded process-wide cache.
    """

    def __init__(self, bins: int = 8) -> None:
        self.bins = bins

    def fit(self, X: Any, y: Any = None) -> ImageFeatures:
        _images(X)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True  # stateless: ready without fit, like FunctionTransformer

    def transform(self, X: Any) -> NDArray[np.float64]:
        from pomona.features import image_vector

        images = _images(X)
        rows = []
        for image in images:
            key = (
                hashlib.blake2b(image.tobytes(), digest_size=16, person=b"%d" % self.bins).digest()
                + repr(image.shape).encode()
            )
            with _memo_lock:
                row = _memo.get(key)
            if row is None:
                row = np.asarray(image_vector(image, self.bins), dtype=np.float64)
                with _memo_lock:
                    _memo[key] = row
                    if len(_memo) > _MEMO_SIZE:
                        _memo.popitem(last=False)
            rows.append(row)
        return np.stack(rows) if rows else np.zeros((0, 0))


def _images(X: Any) -> NDArray[Any]:
    arr = np.asarray(X)
    if arr.ndim != 4 or arr.shape[-1] not in (3, 4):
        raise InvalidInputError(
            f"ImageFeatures takes a batch of RGB images (n x h x w x 3), got shape {arr.shape}.",
            hint="Pass decoded photos, e.g. from a dataset version's records.",
            details={"field": "X"},
        )
    return arr
