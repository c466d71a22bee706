"""Model quality on labelled data, overall and per time window: the evidence for concept drift.

Counts are summed batch by batch (confusion matrices for classification, error
sums for regression), per window of the time column, so the numbers are exact
for data of any size. Classification metrics follow scikit-learn's definitions
(via :mod:`nbmlops.evaluate.groups`); a prediction that is a probability in
[0, 1] for 0/1 labels is cut at 0.5 and also gives the ROC AUC (in memory only).
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ..errors import InvalidInput
from ..evaluate import groups as G
from ..evaluate.labels import task_of
from .columns import numeric_values

CLASSIFICATION = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION = ("mean_absolute_error", "root_mean_squared_error", "r2")
HIGHER_IS_BETTER = {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
ALIASES = {
    "auc": "roc_auc",
    "mae": "mean_absolute_error",
    "rmse": "root_mean_squared_error",
    "f1_score": "f1",
    "tpr": "recall",
    "true_positive_rate": "recall",
}
UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
# the window of rows whose time is missing: counted overall, never shown as a window
NO_TIME = -(2**62)
MONDAY = 4 * 86_400  # 1970-01-05 was a Monday: week windows start on Mondays


def metric_name(text: str) -> str:
    """The canonical metric for a name or alias (``rmse`` -> ``root_mean_squared_error``)."""
    key = str(text).strip().lower()
    key = ALIASES.get(key, key)
    if key not in CLASSIFICATION + REGRESSION:
        raise InvalidInput(
            f"Unknown metric {text!r}; use one of {', '.join(CLASSIFICATION + REGRESSION)}."
        )
    return key


def parse_window(text: str | None) -> float | None:
    """Window length in seconds from ``7d``, ``12h``, ``30min``, ``2w`` (None stays None).

    Example:
        >>> parse_window("7d"), parse_window("12h")
        (604800.0, 43200.0)
    """
    if text is None or str(text).strip().lower() in ("", "none"):
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|min|h|d|w)\s*", str(text).lower())
    if not match or float(match.group(1)) <= 0:
        raise InvalidInput(
            f"The window {text!r} is not understood; write a length such as 7d, 12h, 30min or 2w."
        )
    return float(match.group(1)) * UNITS[match.group(2)]


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum (Mann-Whitney) formula, ties averaged."""
    from scipy.stats import rankdata  # lazy: start-up time

    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


class PerformanceTally:
    """Per-window sums of one side, fed batch by batch with :meth:`add`."""

    def __init__(
        self,
        target: str,
        prediction: str,
        *,
        time_column: str | None = None,
        window: float | None = None,
        task: str | None = None,
        keep_scores: bool = True,
    ) -> None:
        self.target, self.prediction = target, prediction
        self.time_column, self.window = time_column, window
        self.task = task  # binary | scores | multiclass | regression, settled by the first batch
        self.keep_scores = keep_scores
        self.sums: dict[int, np.ndarray] = {}
        self.scores: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.unlabelled = 0
        self.rows = 0

    def _settle(self, y: np.ndarray, p: np.ndarray) -> str:

        labels = set(np.unique(y).tolist())
        if (
            labels <= {0, 1}
            and p.dtype.kind == "f"
            and len(p)
            and p.min() >= 0
            and p.max() <= 1
            and not np.array_equal(p, np.round(p))
        ):
            return "scores"
        if task_of(None, y, p) == "regression":
            return "regression"
        return "binary" if (labels | set(np.unique(p).tolist())) <= {0, 1} else "multiclass"

    def _windows(self, frame: Any, keep: np.ndarray) -> np.ndarray:
        if self.time_column is None or self.window is None or self.time_column not in frame.columns:
            return np.zeros(int(keep.sum()), dtype=np.int64)

        stamps = frame[self.time_column]
        seconds = np.full(len(frame), np.nan)
        present = ~stamps.isna().to_numpy()
        seconds[present] = numeric_values(stamps[present])[0]
        offset = MONDAY if self.window % (7 * 86_400) == 0 else 0
        index = np.floor((seconds[keep] - offset) / self.window)
        return np.where(np.isnan(index), NO_TIME, index).astype(np.int64)

    def add(self, frame: Any) -> None:
        """Count one batch (rows without a label or a prediction are skipped and counted)."""
        import pandas as pd  # lazy: start-up time

        for column in (self.target, self.prediction):
            if column not in frame.columns:
                raise InvalidInput(
                    f"The data has no column {column!r} for the "
                    f"{'labels' if column == self.target else 'predictions'}."
                )
        y_raw, p_raw = frame[self.target], frame[self.prediction]
        keep = (~(pd.isna(y_raw) | pd.isna(p_raw))).to_numpy()
        self.rows += len(frame)
        self.unlabelled += int(len(frame) - keep.sum())
        y, p = y_raw.to_numpy()[keep], p_raw.to_numpy()[keep]
        if y.dtype == object or p.dtype == object:
            y, p = np.asarray(y.tolist()), np.asarray(p.tolist())
        if not len(y):
            return
        if self.task is None:
            self.task = self._settle(y, p)
        windows = self._windows(frame, keep)
        for w in np.unique(windows).tolist():
            rows = windows == w
            self._add_window(int(w), y[rows], p[rows])

    def _add_window(self, w: int, y: np.ndarray, p: np.ndarray) -> None:
        zeros = np.zeros(len(y), dtype=np.int64)
        if self.task == "regression":
            yt, yp = y.astype(np.float64), p.astype(np.float64)
            sums = np.concatenate(
                [G.regression_sums(zeros, yt, yp, 1)[0], [yt.sum(), (yt * yt).sum()]]
            )
        elif self.task == "multiclass":
            sums = np.array([len(y), int((y == p).sum())], dtype=np.float64)
        else:
            yt = y.astype(np.int64)
            yp = (p >= 0.5).astype(np.int64) if self.task == "scores" else p.astype(np.int64)
            sums = G.confusion_cube(zeros, yt, yp, 1)[0].reshape(-1).astype(np.float64)
            if self.task == "scores" and self.keep_scores:
                self.scores.setdefault(w, []).append((yt, p.astype(np.float64)))
        self.sums[w] = self.sums[w] + sums if w in self.sums else sums

    def metrics(self, w: int | None = None) -> dict[str, float]:
        """Metrics of one window, or of all windows together (``None``)."""
        if not self.sums:
            return {}
        sums = self.sums[w] if w is not None else np.sum(list(self.sums.values()), axis=0)
        if self.task == "regression":
            n, _, _, abs_error, sq_error, sum_y, sum_y2 = sums
            total = sum_y2 - sum_y * sum_y / n if n else 0.0
            return {
                "count": n,
                "mean_absolute_error": abs_error / n,
                "root_mean_squared_error": math.sqrt(sq_error / n),
                "r2": 1 - sq_error / total if total > 0 else math.nan,
            }
        if self.task == "multiclass":
            return {"count": sums[0], "accuracy": sums[1] / sums[0]}
        cube = sums.reshape(1, 2, 2)
        r = G.rates(cube)
        precision, recall = float(r["precision"][0]), float(r["true_positive_rate"][0])
        out = {
            "count": float(r["count"][0]),
            "accuracy": float(r["accuracy"][0]),
            "precision": precision,
            "recall": recall,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        }
        if self.task == "scores" and self.keep_scores:
            parts = (
                self.scores.get(w, [])
                if w is not None
                else [x for v in self.scores.values() for x in v]
            )
            if parts:
                out["roc_auc"] = _roc_auc(
                    np.concatenate([y for y, _ in parts]), np.concatenate([s for _, s in parts])
                )
        return out

    def windows(self) -> list[dict[str, Any]]:
        """Each window's start (epoch seconds) and metrics, oldest first."""
        if self.window is None:
            return []
        offset = MONDAY if self.window % (7 * 86_400) == 0 else 0
        return [
            {"start": w * self.window + offset, "metrics": self.metrics(w)}
            for w in sorted(self.sums)
            if w != NO_TIME
        ]


def compare_performance(
    reference: PerformanceTally, current: PerformanceTally, tolerance: float
) -> dict[str, Any]:
    """Reference against current metrics: the change, and whether quality fell by more than
    ``tolerance``.

    Rates (accuracy, AUC, ...) compare by absolute points; errors (MAE, RMSE) relative to the
    reference.
    """
    ref, cur = reference.metrics(), current.metrics()
    rows, dropped = [], []
    for name in CLASSIFICATION + REGRESSION:
        if name not in cur:
            continue
        before, after = ref.get(name, math.nan), cur[name]
        change = after - before
        if name in HIGHER_IS_BETTER:
            worse = change < -tolerance
        else:
            worse = before > 0 and change / before > tolerance
        if worse:
            dropped.append(name)
        rows.append(
            {
                "metric": name,
                "reference": before,
                "current": after,
                "change": change,
                "worse": bool(worse),
            }
        )
    return {
        "task": current.task,
        "metrics": rows,
        "dropped": dropped,
        "windows": current.windows(),
        "rows": {"reference": reference.rows, "current": current.rows},
        "unlabelled": {"reference": reference.unlabelled, "current": current.unlabelled},
    }
