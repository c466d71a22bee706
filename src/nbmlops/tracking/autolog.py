"""Autologging: record what ``fit`` did, for every fit inside a run.

For scikit-learn, every estimator class that defines ``fit`` is wrapped: when a
run is active, a top-level ``fit`` (not the inner fits of a pipeline or a grid
search) records the estimator's parameters, its class as the ``estimator`` tag,
and the metrics ``fit_time_s`` and ``training_score`` (``score`` on the
training data, when the estimator has one and labels were given). Outside a
run nothing is recorded and ``fit`` costs one extra function call.
"""

from __future__ import annotations

import contextvars
import functools
import sys
import time
from typing import Any

from ..errors import Conflict, InvalidInput, MissingDependency
from ..result import Message
from .runs import active_run

_originals: dict[type, Any] = {}
_inside_fit: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "nbmlops_inside_fit", default=False
)


def _record(estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], fit_time: float) -> None:

    run = active_run()
    if run is None:
        return
    cls = type(estimator)
    try:
        values = estimator.get_params(deep=False)
    except Exception:  # noqa: BLE001 - an estimator with a broken get_params still trains
        values = {}
    for attempt in (values, {f"{cls.__name__}.{k}": v for k, v in values.items()}):
        try:
            run.log_params(attempt)
            break
        except Conflict:
            continue
    else:
        print(
            f"nbmlops: autolog kept the first parameters of {cls.__name__} in this run; "
            "start a run per model to record each one.",
            file=sys.stderr,
        )
    run.set_tag("estimator", f"{cls.__module__}.{cls.__qualname__}")
    run.log_metric("fit_time_s", fit_time)
    X = kwargs.get("X", args[0] if args else None)
    y = kwargs.get("y", args[1] if len(args) > 1 else None)
    if y is not None and X is not None and hasattr(estimator, "score"):
        try:
            run.log_metric("training_score", float(estimator.score(X, y)))
        except Exception:  # noqa: BLE001 - not every estimator can score its own training data
            pass


def _wrap(cls: type) -> None:
    original = cls.__dict__["fit"]

    @functools.wraps(original)
    def fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _inside_fit.get():
            return original(self, *args, **kwargs)
        token = _inside_fit.set(True)
        try:
            start = time.perf_counter()
            result = original(self, *args, **kwargs)
            elapsed = time.perf_counter() - start
        finally:
            _inside_fit.reset(token)
        _record(self, args, kwargs, elapsed)
        return result

    fit.__nbmlops_autolog__ = True  # type: ignore[attr-defined]
    _originals[cls] = original
    cls.fit = fit  # type: ignore[attr-defined]


def _sklearn_classes() -> list[type]:
    try:
        from sklearn.utils import all_estimators  # lazy: start-up time
    except ImportError:
        raise MissingDependency("scikit-learn", "sklearn", "Autologging sklearn") from None
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # lazy: start-up time
    from sklearn.pipeline import FeatureUnion, Pipeline  # lazy: start-up time

    public = {cls for _, cls in all_estimators()} | {
        Pipeline,
        FeatureUnion,
        GridSearchCV,
        RandomizedSearchCV,
    }
    # wrap the class that defines fit (RandomForestClassifier inherits it from BaseForest)
    defining = {next((k for k in cls.__mro__ if "fit" in k.__dict__), None) for cls in public}
    return sorted(
        (c for c in defining if c is not None), key=lambda c: (c.__module__, c.__qualname__)
    )


def autolog(flavor: str = "sklearn", *, disable: bool = False) -> Message:
    """Turn autologging on (or off with ``disable=True``) for a library.

    Example:
        >>> import nbmlops as mo
        >>> mo.autolog("sklearn")  # doctest: +SKIP
        Autologging sklearn: 212 estimator classes record params, fit time and training score inside
        runs.
    """
    if flavor != "sklearn":
        raise InvalidInput(f"Autologging knows 'sklearn', not {flavor!r}.")
    if disable:
        for cls, original in _originals.items():
            cls.fit = original  # type: ignore[attr-defined]
        count = len(_originals)
        _originals.clear()
        return Message(f"Autologging sklearn is off ({count} estimator classes restored).")
    for cls in _sklearn_classes():
        if cls not in _originals:
            _wrap(cls)
    return Message(
        f"Autologging sklearn: {len(_originals)} estimator classes record params, fit time and "
        "training score for fit() calls inside runs.",
        "ok",
    )
