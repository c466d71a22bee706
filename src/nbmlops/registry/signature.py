"""A model's input/output signature: the columns it reads and what it returns.

Taken from training rows when the user gives some (names, types, whether they
hold missing values), else from what the fitted model remembers
(``feature_names_in_``, ``n_features_in_``, ``classes_``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInput
from ..evaluate.inputs import ModelInput, feature_frame


def _output(model: Any, sample_prediction: Any | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "methods": [
            m
            for m in ("predict", "predict_proba", "decision_function")
            if callable(getattr(model, m, None))
        ]
    }
    if sample_prediction is not None:
        array = np.asarray(sample_prediction)
        out["type"] = str(array.dtype)
        out["shape"] = [-1, *array.shape[1:]]
    classes = getattr(model, "classes_", None)
    if classes is not None:
        out["classes"] = [
            c.item() if hasattr(c, "item") else c for c in np.asarray(classes).tolist()
        ]
    return out


def infer_signature(model: Any, example: Any = None, label: str = "the example") -> dict[str, Any]:
    """The signature of ``model``, read from ``example`` rows (training data) when given.

    Example:
        >>> infer_signature(clf, X_train)["inputs"][:1]  # doctest: +SKIP
        [{'name': 'age', 'type': 'int64', 'nullable': False}]
    """
    import pandas as pd  # lazy: start-up time

    names = getattr(model, "feature_names_in_", None)
    inputs: list[dict[str, Any]]
    if example is None:
        if names is not None:
            inputs = [{"name": str(n), "type": "unknown"} for n in names]
            return {
                "inputs": inputs,
                "named": True,
                "outputs": _output(model, None),
                "source": "model",
            }
        count = getattr(model, "n_features_in_", None)
        inputs = (
            [{"name": str(i), "type": "unknown"} for i in range(int(count))]
            if count is not None
            else []
        )
        return {
            "inputs": inputs,
            "named": False,
            "outputs": _output(model, None),
            "source": "model",
        }

    frame = (
        feature_frame(ModelInput(model, "the model"), example)
        if isinstance(example, pd.DataFrame)
        else example
    )
    if isinstance(frame, pd.DataFrame):
        inputs = [
            {"name": str(c), "type": str(frame[c].dtype), "nullable": bool(frame[c].isna().any())}
            for c in frame.columns
        ]
        named = True
    else:
        frame = np.asarray(frame)
        if frame.ndim != 2:
            raise InvalidInput(
                f"{label} must be a table of rows and columns, not an array of shape {frame.shape}."
            )
        inputs = [{"name": str(i), "type": str(frame.dtype)} for i in range(frame.shape[1])]
        named = False
    head = frame.iloc[:5] if hasattr(frame, "iloc") else frame[:5]
    try:
        prediction = model.predict(head)
    except Exception as e:  # noqa: BLE001 - the model's own error, as one line
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InvalidInput(
            f"The model could not predict on {label}: {message.rstrip('.')}."
        ) from None
    return {
        "inputs": inputs,
        "named": named,
        "outputs": _output(model, prediction),
        "source": "example",
        "example_rows": int(len(frame)),
    }
