"""Slice stability: does the model score the same on every part of the data?

Two views. Random subsets: the rows are shuffled and cut into ``folds`` disjoint
parts (sampling without replacement), and each metric's spread across the parts
shows how much a score moves by chance alone. User slices: each value of a
column (numeric columns cut into quantile bins) is scored on its own. A spread
above ``max_spread`` is flagged: absolute for rates (0.05 = 5 points), relative
to the overall value for error metrics (0.05 = 5%). Slices with fewer than
``min_slice_size`` rows are shown and flagged as small but left out of the spread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.versions import reads_recorded_on_success
from ..errors import InvalidInput
from . import groups as G
from .inputs import as_vector, feature_frame, load_model, load_table, predict, split_target
from .labels import binarize, regression_values, task_of
from .reports import record_report
from .slice_report import RELATIVE, SliceReport

if TYPE_CHECKING:
    from ..store import Store

MAX_SLICES = 100


def _scores(
    codes: np.ndarray,
    k: int,
    task: str,
    arrays: tuple[np.ndarray, np.ndarray],
    metrics: Sequence[str],
) -> dict[str, np.ndarray]:
    yt, yp = arrays
    if task == "regression":
        sums = G.regression_sums(codes, yt, yp, k)
        by = G.errors(sums)
        n = sums[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.bincount(codes, weights=yt, minlength=k) / n
            total = np.bincount(codes, weights=(yt - mean[codes]) ** 2, minlength=k)
            # scikit-learn's r2_score convention for a constant target: 1 if perfect, else 0
            r2 = np.where(total > 0, 1 - sums[:, 4] / total, np.where(sums[:, 4] == 0, 1.0, 0.0))
        return {
            "count": n.astype(np.int64),
            "mean_absolute_error": by["mean_absolute_error"],
            "root_mean_squared_error": by["root_mean_squared_error"],
            "r2": r2,
        }
    if "precision" not in metrics:  # several labels: plain accuracy
        n = np.bincount(codes, minlength=k)
        right = np.bincount(codes, weights=(yt == yp).astype(np.float64), minlength=k)
        with np.errstate(divide="ignore", invalid="ignore"):
            return {"count": n, "accuracy": right / n}
    cube = G.confusion_cube(codes, yt, yp, k)
    by = G.rates(cube)
    precision, recall = by["precision"], by["true_positive_rate"]
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {
        "count": by["count"],
        "accuracy": by["accuracy"],
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def _spread(values: np.ndarray, overall: float, metric: str) -> float:
    if not len(values):
        return float("nan")
    span = float(np.max(values) - np.min(values))
    return span / abs(overall) if metric in RELATIVE and overall else span


def _binned(values: np.ndarray, bins: int) -> np.ndarray:
    """Numeric columns with many values become quantile bins such as ``(30.0, 45.0]``."""
    import pandas as pd  # lazy: start-up time

    if values.dtype.kind in "iuf" and len(np.unique(values[:100_000])) > max(bins, 12):
        cut = pd.qcut(values, q=bins, duplicates="drop")
        return np.asarray(cut.astype(str), dtype=object)
    return values


def stability(
    y_true: Any,
    y_pred: Any,
    *,
    by: Mapping[str, Any] | None = None,
    folds: int = 5,
    max_spread: float = 0.1,
    seed: int = 0,
    task: str = "auto",
    model: Any = None,
    positive: Any = None,
    min_slice_size: int = 30,
    bins: int = 4,
    y_label: str = "y",
) -> SliceReport:
    """Metric spread across random disjoint subsets and across the values of ``by`` columns (nothing
    stored).

    Example:
        >>> stability(y_test, clf.predict(X_test), by={"region": X_test["region"]},
        ...           folds=5)  # doctest: +SKIP
    """

    yt_raw, yp_raw = as_vector(y_true, y_label), as_vector(y_pred, "the predictions")
    n = len(yt_raw)
    if len(yp_raw) != n:
        raise InvalidInput(f"{y_label} has {n} labels but there are {len(yp_raw)} predictions.")
    if not isinstance(folds, int) or folds < 2 or folds > n:
        raise InvalidInput(
            f"--folds must be a whole number from 2 to the number of rows ({n}), not {folds}."
        )
    if not 0 < max_spread:
        raise InvalidInput(f"The largest allowed spread must be above 0, not {max_spread}.")
    task = task_of(model, yt_raw, yp_raw, task)
    notes: list[str] = []
    if task == "regression":
        arrays = regression_values(yt_raw, yp_raw, y_label)
        metrics = ["mean_absolute_error", "root_mean_squared_error", "r2"]
    else:
        try:
            labels = binarize(
                yt_raw,
                yp_raw,
                positive=positive,
                classes=getattr(model, "classes_", None),
                y_label=y_label,
            )
            arrays, metrics = (
                (labels.y_true, labels.y_pred),
                ["accuracy", "precision", "recall", "f1"],
            )
        except InvalidInput:
            if positive is not None:
                raise
            arrays, metrics = (yt_raw, yp_raw), ["accuracy"]
            notes.append(
                "Precision, recall and F1 need one label marked positive (--positive); only "
                "accuracy is shown."
            )
    whole = _scores(np.zeros(n, dtype=np.int64), 1, task, arrays, metrics)
    overall = {m: float(whole[m][0]) for m in metrics}
    assignment = np.empty(n, dtype=np.int64)
    assignment[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    fold_scores = _scores(assignment, folds, task, arrays, metrics)
    fold_rows = [
        {
            "slice": f"subset {i + 1}",
            "count": int(fold_scores["count"][i]),
            **{m: float(fold_scores[m][i]) for m in metrics},
        }
        for i in range(folds)
    ]
    fold_spread = {m: _spread(fold_scores[m], overall[m], m) for m in metrics}
    sections = []
    for name, values in (by or {}).items():
        column = as_vector(values, name)
        if len(column) != n:
            raise InvalidInput(
                f"Slice column {name!r} has {len(column)} values but there are {n} rows."
            )
        grouping = G.encode_groups({name: _binned(column, bins)})
        if grouping.size < 2:
            raise InvalidInput(
                f"Slice column {name!r} has one value in every row, so there is nothing to compare."
            )
        if grouping.size > MAX_SLICES:
            raise InvalidInput(
                f"Slice column {name!r} has {grouping.size} distinct values; slice by a column "
                "with at "
                f"most {MAX_SLICES}, or bin it first."
            )
        scores = _scores(grouping.codes, grouping.size, task, arrays, metrics)
        big = scores["count"] >= min_slice_size
        rows = []
        for i, label in enumerate(grouping.names()):
            rows.append(
                {
                    "slice": label,
                    "count": int(scores["count"][i]),
                    "small": not bool(big[i]),
                    **{m: float(scores[m][i]) for m in metrics},
                }
            )
        sections.append(
            {
                "feature": name,
                "slices": rows,
                "spread": {m: _spread(scores[m][big], overall[m], m) for m in metrics},
            }
        )
    return SliceReport(
        task=task,
        rows=n,
        folds=folds,
        seed=seed,
        max_spread=max_spread,
        metrics=metrics,
        overall=overall,
        fold_rows=fold_rows,
        fold_spread=fold_spread,
        sections=sections,
        min_slice_size=min_slice_size,
        notes=notes,
    )


@reads_recorded_on_success()
def slices(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    by: str | Sequence[str] | None = None,
    folds: int = 5,
    max_spread: float = 0.1,
    seed: int = 0,
    task: str = "auto",
    positive: Any = None,
    min_slice_size: int = 30,
    bins: int = 4,
    labels: Sequence[str] = ("model", "X", "y"),
    record: bool = True,
    store: Store | None = None,
) -> SliceReport:
    """Predict with ``model`` on ``X`` and report metric spread across random subsets and ``by``
    slices; stored.

    Example:
        >>> mo.evaluate.slices(clf, X_test, y_test, by="region", folds=5)  # doctest: +SKIP
    """

    model_input = load_model(model, labels[0], store=store)
    table = load_table(X, labels[1])
    frame, y_true, y_label = split_target(table, y, labels[2] if not isinstance(y, str) else y)
    names = (
        [s.strip() for s in by.split(",") if s.strip()] if isinstance(by, str) else list(by or [])
    )
    missing = [b for b in names if not hasattr(frame, "columns") or b not in frame.columns]
    if missing:
        raise InvalidInput(f"Slice column {missing[0]!r} is not a column of {table.label}.")
    y_pred = predict(model_input, feature_frame(model_input, frame, drop=names))
    report = stability(
        y_true,
        y_pred,
        by={b: frame[b].to_numpy() for b in names},
        folds=folds,
        max_spread=max_spread,
        seed=seed,
        task=task,
        model=model_input.model,
        positive=positive,
        min_slice_size=min_slice_size,
        bins=bins,
        y_label=y_label,
    )
    report.subject = {
        "model": model_input.label,
        "model_ref": model_input.ref,
        "data": table.description,
        "target": y_label,
        "by": names,
    }
    if record:
        report.evaluation_id = record_report("slices", report, model_input, store=store)
    return report
