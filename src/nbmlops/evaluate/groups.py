"""Per-group metrics from one ``np.bincount``: the arithmetic behind the bias report.

Every number follows fairlearn's definitions exactly (``MetricFrame`` with
``selection_rate``, ``true_positive_rate``, ... and its ``difference``/``ratio``
between groups), so a report can be checked against fairlearn line by line:

- a group is a combination of the sensitive columns' values that occurs in the data
  (fairlearn's intersections; combinations with no rows have no numbers);
- rates with an empty denominator are 0, as fairlearn's confusion-matrix rates and
  scikit-learn's ``zero_division`` default give;
- bootstrap samples draw the same rows as fairlearn's ``MetricFrame(n_boot=...,
  random_state=seed)``, so the confidence intervals match too.

Instead of a Python call per group and metric, the rows are encoded as one integer
(``group * 4 + y_true * 2 + y_pred``) and counted once; every rate is a vector
operation on the resulting ``groups x 2 x 2`` confusion cube.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MISSING = "(missing)"
CLASSIFICATION = (
    "count",
    "selection_rate",
    "accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
    "base_rate",
)
REGRESSION = (
    "count",
    "mean_prediction",
    "mean_error",
    "mean_absolute_error",
    "root_mean_squared_error",
)
RATES = CLASSIFICATION[1:]


@dataclasses.dataclass
class Grouping:
    """Rows encoded as group numbers; ``labels[g]`` holds group g's value of each sensitive
    column."""

    features: list[str]
    codes: np.ndarray
    labels: list[tuple[Any, ...]]

    @property
    def size(self) -> int:
        return len(self.labels)

    def names(self) -> list[str]:
        """Display names: ``F`` for one column, ``F & 30-50`` for an intersection."""
        return [" & ".join(str(v) for v in label) for label in self.labels]


def _factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    import pandas as pd  # lazy: start-up time

    codes, uniques = pd.factorize(
        np.asarray(values) if not hasattr(values, "dtype") else values, sort=True
    )
    levels = [v.item() if hasattr(v, "item") else v for v in np.asarray(uniques, dtype=object)]
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():  # NaN/None: their own group, since fairlearn would silently drop the rows
        codes = np.where(codes < 0, len(levels), codes)
        levels.append(MISSING)
    return codes, levels


def encode_groups(columns: Mapping[str, Any]) -> Grouping:
    """Encode one or more sensitive columns as group numbers, intersections included.

    Example:
        >>> g = encode_groups({"sex": ["F", "M", "F"], "band": ["a", "a", "b"]})
        >>> g.names(), g.codes.tolist()
        (['F & a', 'F & b', 'M & a'], [0, 2, 1])
    """
    features = list(columns)
    encoded = [_factorize(columns[f]) for f in features]
    if len(encoded) == 1:
        codes, levels = encoded[0]
        return Grouping(features, codes, [(v,) for v in levels])
    sizes = [len(levels) for _, levels in encoded]
    combined = np.zeros(len(encoded[0][0]), dtype=np.int64)
    for codes, levels in encoded:
        combined *= len(levels)
        combined += codes
    total = int(np.prod(sizes, dtype=object))
    if total <= 1 << 24:  # counting beats sorting while the table of combinations is small
        present = np.flatnonzero(np.bincount(combined, minlength=total))
        remap = np.full(total, -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        codes = remap[combined]
    else:
        present, codes = np.unique(combined, return_inverse=True)
    labels = []
    for flat in present.tolist():
        parts = []
        for size in reversed(sizes):
            flat, rest = divmod(flat, size)
            parts.append(rest)
        labels.append(tuple(encoded[i][1][p] for i, p in enumerate(reversed(parts))))
    return Grouping(features, codes.astype(np.int64, copy=False), labels)


# ---------------------------------------------------------------- classification


def confusion_cube(
    codes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, groups: int
) -> np.ndarray:
    """``cube[g, t, p]`` = rows of group g with true label t and predicted label p (0/1 arrays)."""
    cells = codes * 4
    cells += y_true * 2
    cells += y_pred
    return np.bincount(cells, minlength=groups * 4).reshape(groups, 2, 2)


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    return np.where(den > 0, out, 0.0)


def rates(cube: np.ndarray) -> dict[str, np.ndarray]:
    """Every classification metric per group, from a ``(..., 2, 2)`` confusion cube.

    Example:
        >>> cube = np.array([[[3, 1], [1, 5]]])        # tn, fp / fn, tp
        >>> float(rates(cube)["true_positive_rate"][0])
        0.8333333333333334
    """
    tn, fp, fn, tp = cube[..., 0, 0], cube[..., 0, 1], cube[..., 1, 0], cube[..., 1, 1]
    n = tn + fp + fn + tp
    return {
        "count": n,
        "selection_rate": _rate(tp + fp, n),
        "accuracy": _rate(tp + tn, n),
        "true_positive_rate": _rate(tp, tp + fn),
        "false_positive_rate": _rate(fp, fp + tn),
        "precision": _rate(tp, tp + fp),
        "base_rate": _rate(tp + fn, n),
    }


def undefined(cube: np.ndarray) -> dict[str, np.ndarray]:
    """Which per-group rates had an empty denominator (reported as 0, like fairlearn)."""
    tn, fp, fn, tp = cube[:, 0, 0], cube[:, 0, 1], cube[:, 1, 0], cube[:, 1, 1]
    return {
        "true_positive_rate": tp + fn == 0,
        "false_positive_rate": fp + tn == 0,
        "precision": tp + fp == 0,
    }


# ---------------------------------------------------------------- regression


def regression_sums(
    codes: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, groups: int
) -> np.ndarray:
    """Per-group sums ``[count, sum pred, sum error, sum |error|, sum error^2]`` (shape groups x
    5)."""
    error = y_pred - y_true
    return np.stack(
        [
            np.bincount(codes, minlength=groups).astype(float),
            np.bincount(codes, weights=y_pred, minlength=groups),
            np.bincount(codes, weights=error, minlength=groups),
            np.bincount(codes, weights=np.abs(error), minlength=groups),
            np.bincount(codes, weights=error * error, minlength=groups),
        ],
        axis=-1,
    )


def errors(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Regression metrics per group from :func:`regression_sums` (any leading shape)."""
    n = sums[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "count": n,
            "mean_prediction": sums[..., 1] / n,
            "mean_error": sums[..., 2] / n,
            "mean_absolute_error": sums[..., 3] / n,
            "root_mean_squared_error": np.sqrt(sums[..., 4] / n),
        }


# ---------------------------------------------------------------- disparities


def difference(values: np.ndarray) -> float:
    """Largest minus smallest group value (fairlearn's ``difference(method='between_groups')``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmax(values, axis=-1) - np.nanmin(values, axis=-1))


def ratio(values: np.ndarray) -> float:
    """Smallest over largest group value (fairlearn's ``ratio(method='between_groups')``); NaN
    when all are 0."""
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmin(values, axis=-1) / np.nanmax(values, axis=-1))


def disparities(by_group: Mapping[str, np.ndarray]) -> dict[str, float]:
    """The fairness measures fairlearn names, from per-group classification rates.

    Example:
        >>> d = disparities({"selection_rate": np.array([0.3, 0.5]),
        ...                  "true_positive_rate": np.array([0.8, 0.9]),
        ...                  "false_positive_rate": np.array([0.1, 0.1])})
        >>> round(d["demographic_parity_ratio"], 2), round(d["equalized_odds_difference"], 2)
        (0.6, 0.1)
    """
    tpr, fpr = by_group["true_positive_rate"], by_group["false_positive_rate"]
    return {
        "demographic_parity_difference": difference(by_group["selection_rate"]),
        "demographic_parity_ratio": ratio(by_group["selection_rate"]),
        "equalized_odds_difference": max(difference(tpr), difference(fpr)),
        "equalized_odds_ratio": min(ratio(tpr), ratio(fpr)),
        "equal_opportunity_difference": difference(tpr),
    }


# ---------------------------------------------------------------- bootstrap


def bootstrap_seeds(n_boot: int, seed: int) -> np.ndarray:
    """One seed per bootstrap sample, drawn as fairlearn draws them from ``random_state=seed``."""
    return np.random.default_rng(seed=int(seed)).integers(
        low=0, high=np.iinfo(np.uint32).max, size=n_boot, dtype=np.uint32
    )


def resample(n: int, seed: np.uint32) -> np.ndarray:
    """Row indices of one bootstrap sample: what ``DataFrame.sample(frac=1, replace=True,
    random_state=seed)`` picks."""
    return np.random.RandomState(seed).randint(0, n, size=n)


def quantiles(samples: np.ndarray, qs: Sequence[float], *, skip_nan: bool) -> np.ndarray:
    """Quantiles over the first axis: NaN-skipping for per-group values, plain for overall ones
    (as fairlearn)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        found = (
            np.nanquantile(samples, qs, axis=0) if skip_nan else np.quantile(samples, qs, axis=0)
        )
    return np.asarray(found)
