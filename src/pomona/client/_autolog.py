"""Autologging of scikit-learn ``fit``: params, the training score and the model (skops)."""

from __future__ import annotations

import functools
import logging
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pomona.errors import ConflictError
from pomona.types import RunStatus

if TYPE_CHECKING:
    from pomona.client.workspace import Workspace

__all__ = ["disable_sklearn_autolog", "enable_sklearn_autolog"]

log = logging.getLogger("pomona.autolog")
_originals: dict[type, Callable[..., Any]] = {}
_inside = threading.local()
_MAX_PARAM = 500


def enable_sklearn_autolog(ws: Workspace, *, log_models: bool = True) -> int:
    """Wrap the ``fit`` of every scikit-learn estimator; returns how many were wrapped.

    A ``fit`` outside any run starts (and ends) a run of its own; inside an active run it
    logs into that run. Fits nested in another fit (a Pipeline's steps) are not logged.
    """
    from sklearn.utils import all_estimators

    disable_sklearn_autolog()
    for _, cls in all_estimators():
        fit = cls.__dict__.get("fit")
        if callable(fit):
            _originals[cls] = fit
            cls.fit = _wrap(fit, ws, log_models)
    return len(_originals)


def disable_sklearn_autolog() -> None:
    """Restore every wrapped ``fit``."""
    for cls, fit in _originals.items():
        cls.fit = fit  # type: ignore[attr-defined]
    _originals.clear()


def _wrap(fit: Callable[..., Any], ws: Workspace, log_models: bool) -> Callable[..., Any]:
    @functools.wraps(fit)
    def fit_and_log(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, "active", False):
            return fit(self, *args, **kwargs)
        run = ws.active_run()
        own = run is None
        if run is None:
            run = ws.start_run(type(self).__name__, tags={"autolog": "sklearn"})
        _inside.active = True
        try:
            result = fit(self, *args, **kwargs)
        except BaseException:
            if own:
                run.end(RunStatus.FAILED)
            raise
        finally:
            _inside.active = False
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        try:
            _log_fit(run, self, X, y, log_models)
        finally:
            if own:
                run.end()
        return result

    return fit_and_log


def _log_fit(run: Any, model: Any, X: Any, y: Any, log_models: bool) -> None:
    params = {k: str(v)[:_MAX_PARAM] for k, v in model.get_params(deep=False).items()}
    try:
        run.log_params(params)
    except ConflictError as exc:  # the run already holds other values: keep the user's
        log.info("autolog kept the run's params: %s", exc.message)
    run.set_tag("estimator", f"{type(model).__module__}.{type(model).__name__}")
    if y is not None and hasattr(model, "score"):
        try:
            run.log_metric("training_score", float(model.score(X, y)))
        except (TypeError, ValueError) as exc:
            log.info("autolog could not score the model: %s", exc)
    if log_models:
        import skops.io

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.skops"
            skops.io.dump(model, path)
            run.log_artifact(path, "model/model.skops")
