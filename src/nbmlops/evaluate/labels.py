"""Which task a model does, and labels turned into the 0/1 arrays the rates need.

Selection rate, true- and false-positive rates and precision are defined for two
labels, one of them the favourable outcome. Labels 0/1, -1/1 and False/True need
no help; anything else needs ``positive=`` to say which label is favourable, and
with more than two labels that one is compared against all the others.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .inputs import check_finite

TASKS = ("auto", "classification", "regression")


@dataclasses.dataclass
class BinaryLabels:
    """``y_true`` and ``y_pred`` as 0/1 integers, and the label that counts as positive."""

    y_true: np.ndarray
    y_pred: np.ndarray
    positive: Any
    labels: list[Any]

    @property
    def one_vs_rest(self) -> bool:
        return len(self.labels) > 2


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _shown(values: list[Any]) -> str:
    return ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")


def _sorted(values: set[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def task_of(model: Any, y_true: np.ndarray, y_pred: np.ndarray, task: str = "auto") -> str:
    """``classification`` or ``regression``, from the model when it says, else from the values.

    Example:
        >>> task_of(None, np.array([1.5, 2.0]), np.array([1.2, 2.4]))
        'regression'
    """
    if task not in TASKS:
        raise InvalidInput(f"Unknown task {task!r}; use one of {', '.join(TASKS)}.")
    if task != "auto":
        return task
    if model is not None:
        tags = getattr(model, "__sklearn_tags__", None)
        if callable(tags):
            try:
                kind = tags().estimator_type
            except Exception:  # noqa: BLE001 - third-party estimators with incomplete tags
                kind = None
            if kind in ("classifier", "regressor"):
                return "classification" if kind == "classifier" else "regression"
        if hasattr(model, "classes_") or hasattr(model, "predict_proba"):
            return "classification"
    for values in (y_pred, y_true):
        if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
            return "regression"
    return "classification"


def _is_01(values: np.ndarray) -> bool:
    if values.dtype.kind == "b":
        return True
    if values.dtype.kind not in "iu" or not len(values):
        return False
    return bool(values.min() >= 0 and values.max() <= 1)


def binarize(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    positive: Any = None,
    classes: Any = None,
    y_label: str = "y",
) -> BinaryLabels:
    """Check the labels and encode them as 0/1 with the favourable outcome as 1.

    Example:
        >>> b = binarize(np.array(["no", "yes"]), np.array(["yes", "yes"]), positive="yes")
        >>> b.y_true.tolist(), b.y_pred.tolist()
        ([0, 1], [1, 1])
    """
    check_finite(y_true, f"{y_label} has")
    if positive in (None, 1, True) and classes is None and _is_01(y_true) and _is_01(y_pred):
        # the common case, kept free of hashing so a million rows cost a few milliseconds
        return BinaryLabels(y_true.astype(np.int64), y_pred.astype(np.int64), 1, [0, 1])
    import pandas as pd  # lazy: start-up time

    seen_true = {_plain(v) for v in pd.unique(y_true)}
    seen_pred = {_plain(v) for v in pd.unique(y_pred)}
    if classes is not None:
        known = {_plain(v) for v in np.asarray(classes).tolist()}
        source = f"the model never predicts (its classes are {_shown(_sorted(known))})"
    else:
        known = set(seen_pred)
        for pair in ({0, 1}, {-1, 1}):
            if seen_true | seen_pred <= pair:
                known |= pair
        source = f"the predictions never contain (they use {_shown(_sorted(seen_pred))})"
    labels = _sorted(known | seen_true)
    positive = _match_positive(positive, labels)
    unknown = _sorted(seen_true - known - {positive})
    if unknown:
        raise InvalidInput(
            f"{y_label} has label(s) {_shown(unknown)} that {source}; encode {y_label} the way "
            "the model was trained."
        )
    if positive is None:
        if set(labels) <= {0, 1} or set(labels) <= {-1, 1}:
            positive = True if any(isinstance(v, bool) for v in labels) else 1
        elif len(labels) == 2:
            raise InvalidInput(
                f"The labels are {_shown(labels)}; say which one is the favourable outcome with "
                "--positive "
                f"(positive= in Python), e.g. --positive {labels[1]}."
            )
        else:
            raise InvalidInput(
                "Selection rate, true/false-positive rates and precision need two labels, but "
                "there are "
                f"{len(labels)} ({_shown(labels)}); pass --positive <label> to compare one label "
                "against the rest."
            )
    return BinaryLabels(
        (y_true == positive).astype(np.int64),
        (y_pred == positive).astype(np.int64),
        positive,
        labels,
    )


def _match_positive(positive: Any, labels: list[Any]) -> Any:
    """The label meant by ``positive``; the command line passes text, so ``"1"`` matches the
    label 1."""
    if positive is None:
        return None
    if positive in labels:
        return next(v for v in labels if v == positive)
    text = str(positive)
    for v in labels:
        if str(v) == text or (isinstance(v, bool) and text.lower() == str(v).lower()):
            return v
    raise InvalidInput(
        f"The positive label {positive!r} is not one of the labels ({_shown(labels)})."
    )


def regression_values(
    y_true: np.ndarray, y_pred: np.ndarray, y_label: str = "y"
) -> tuple[np.ndarray, np.ndarray]:
    """Targets and predictions as floats, refused when either is not numeric."""
    for values, what in ((y_true, y_label), (y_pred, "the predictions")):
        if values.dtype.kind not in "iufb":
            raise InvalidInput(
                f"Regression metrics need numbers, but {what} holds {values.dtype} values."
            )
    true, pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    check_finite(true, f"{y_label} has")
    return true, pred
