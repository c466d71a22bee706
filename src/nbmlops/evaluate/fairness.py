"""Bias and fairness: metrics per group, disparities, the four-fifths rule, bootstrap intervals.

:func:`assess` works on labels and predictions you already have (it touches no
store); :func:`bias` predicts with a model, assesses, and stores the report with
the model version and the active run. The numbers are fairlearn's (see
``groups.py``); the report adds the sentences and charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..data.versions import reads_recorded_on_success
from ..errors import InvalidInput
from . import groups as G
from .bias_report import BiasReport
from .inputs import as_vector, feature_frame, load_model, load_table, predict, split_target
from .labels import BinaryLabels, binarize, regression_values, task_of
from .reports import record_report

if TYPE_CHECKING:
    from ..store import Store

MAX_GROUPS = 200
DEFAULT_MIN_GROUP = 30


def sensitive_columns(
    sensitive: Any, frame: Any = None, rows: int | None = None, label: str = "X"
) -> dict[str, Any]:
    """The sensitive values by column name: names of the table's columns, a mapping, a DataFrame or
    one array.

    Example:
        >>> list(sensitive_columns("sex,band", pd.DataFrame({"sex": ["F"],
        ...      "band": ["a"]})))  # doctest: +SKIP
        ['sex', 'band']
    """
    import pandas as pd  # lazy: start-up time

    if isinstance(sensitive, str):
        sensitive = [s.strip() for s in sensitive.split(",") if s.strip()]
    if isinstance(sensitive, pd.DataFrame):
        columns = {str(c): sensitive[c].to_numpy() for c in sensitive.columns}
    elif isinstance(sensitive, pd.Series):
        columns = {str(sensitive.name or "group"): sensitive.to_numpy()}
    elif isinstance(sensitive, Mapping):
        columns = {str(k): np.asarray(v) for k, v in sensitive.items()}
    elif (
        isinstance(sensitive, (list, tuple))
        and sensitive
        and all(isinstance(s, str) for s in sensitive)
    ):
        if not isinstance(frame, pd.DataFrame):
            raise InvalidInput(
                f"Sensitive columns are named, so {label} must be a table with those columns."
            )
        missing = [s for s in sensitive if s not in frame.columns]
        if missing:
            shown = ", ".join(map(str, list(frame.columns)[:15]))
            raise InvalidInput(
                f"Sensitive column {missing[0]!r} is not in {label}; its columns are {shown}."
            )
        columns = {s: frame[s].to_numpy() for s in dict.fromkeys(sensitive)}
    elif isinstance(sensitive, (np.ndarray, list, tuple)) and len(sensitive):
        columns = {"group": np.asarray(sensitive)}
    else:
        raise InvalidInput("Name at least one sensitive column, e.g. --sensitive gender,age_band.")
    for name, values in columns.items():
        if rows is not None and len(values) != rows:
            raise InvalidInput(
                f"Sensitive column {name!r} has {len(values)} values but there are {rows} rows."
            )
    return columns


def _check_grouping(grouping: G.Grouping, feature: str) -> None:
    if grouping.size < 2:
        only = grouping.labels[0][0] if grouping.labels else "nothing"
        raise InvalidInput(
            f"Sensitive column {feature!r} has the same value ({only}) in every row; fairness "
            "compares groups, "
            "so it needs at least two."
        )
    if grouping.size > MAX_GROUPS:
        raise InvalidInput(
            f"Sensitive column {feature!r} has {grouping.size} distinct values; group it into at "
            "most "
            f"{MAX_GROUPS} bands first (for example with pandas.cut)."
        )


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _section(
    grouping: G.Grouping, task: str, arrays: tuple[np.ndarray, np.ndarray], min_group: int
) -> tuple[dict[str, Any], np.ndarray]:
    """One grouping's table and disparities, plus its raw counts (or sums) for the overall
    numbers."""
    k, (yt, yp) = grouping.size, arrays
    if task == "classification":
        raw = G.confusion_cube(grouping.codes, yt, yp, k)
        by = G.rates(raw)
        empty = G.undefined(raw)
        disp = G.disparities(by)
        metrics: tuple[str, ...] = G.CLASSIFICATION
    else:
        raw = G.regression_sums(grouping.codes, yt, yp, k)
        by = G.errors(raw)
        empty = {}
        disp = _regression_disparities(by)
        metrics = G.REGRESSION
    names = grouping.names()
    rows = []
    for g in range(k):
        row: dict[str, Any] = {"group": names[g], "values": [_plain(v) for v in grouping.labels[g]]}
        row.update({m: (int(by[m][g]) if m == "count" else float(by[m][g])) for m in metrics})
        row["small"] = bool(by["count"][g] < min_group)
        row["undefined"] = [m for m, flags in empty.items() if flags[g]]
        rows.append(row)
    return {
        "features": list(grouping.features),
        "groups": rows,
        "disparities": disp,
        "ci": None,
    }, raw


def _regression_disparities(by: Mapping[str, np.ndarray]) -> dict[str, float]:
    return {
        "mean_absolute_error_difference": G.difference(by["mean_absolute_error"]),
        "mean_absolute_error_ratio": G.ratio(by["mean_absolute_error"]),
        "root_mean_squared_error_difference": G.difference(by["root_mean_squared_error"]),
        "mean_prediction_difference": G.difference(by["mean_prediction"]),
    }


def _overall(task: str, raw: np.ndarray) -> dict[str, float]:
    """Metrics over all rows, from the per-group counts (or sums) added up."""
    values = (G.rates if task == "classification" else G.errors)(raw.sum(axis=0))
    return {m: (int(v) if m == "count" else float(v)) for m, v in values.items()}


def _bootstrap(
    groupings: list[G.Grouping],
    sections: list[dict[str, Any]],
    task: str,
    arrays: tuple[np.ndarray, np.ndarray],
    n_boot: int,
    seed: int,
    confidence: float,
) -> dict[str, Any]:
    """Confidence intervals from ``n_boot`` resamples drawn exactly as fairlearn draws them.

    Per-group intervals skip resamples in which a group has no rows (NaN-aware
    quantiles); overall values and disparities use plain quantiles, as fairlearn does.
    """
    from tqdm.auto import tqdm  # lazy: start-up time

    yt, yp = arrays
    n = len(yt)
    qs = [(1 - confidence) / 2, (1 + confidence) / 2]
    classify = task == "classification"
    metrics = G.RATES if classify else G.REGRESSION[1:]
    derive = G.rates if classify else G.errors
    cells = [g.codes * 4 + yt * 2 + yp for g in groupings] if classify else []
    weights = (np.ones(n), yp, yp - yt, np.abs(yp - yt), (yp - yt) ** 2) if not classify else ()
    by_samples: list[dict[str, list[np.ndarray]]] = [{m: [] for m in metrics} for _ in groupings]
    disp_samples: list[dict[str, list[float]]] = [{} for _ in groupings]
    overall_samples: dict[str, list[float]] = {m: [] for m in metrics}
    seeds = G.bootstrap_seeds(n_boot, seed)
    for seed_i in tqdm(
        seeds, desc="bootstrap", unit="sample", leave=False, disable=n_boot * n < 5_000_000
    ):
        idx = G.resample(n, seed_i)
        for s, grouping in enumerate(groupings):
            k = grouping.size
            if classify:
                raw = np.bincount(cells[s][idx], minlength=4 * k).reshape(k, 2, 2)
            else:
                codes = grouping.codes[idx]
                raw = np.stack(
                    [np.bincount(codes, weights=w[idx], minlength=k) for w in weights], axis=-1
                )
            by = derive(raw)
            present = by["count"] > 0
            masked = {m: np.where(present, by[m], np.nan) for m in metrics}
            for m in metrics:
                by_samples[s][m].append(masked[m])
            disp = G.disparities(masked) if classify else _regression_disparities(masked)
            for name, value in disp.items():
                disp_samples[s].setdefault(name, []).append(value)
            if s == 0:
                whole = derive(raw.sum(axis=0))
                for m in metrics:
                    overall_samples[m].append(float(whole[m]))
    for s, section in enumerate(sections):
        section["ci"] = {
            "groups": {
                m: G.quantiles(np.array(by_samples[s][m]), qs, skip_nan=True).tolist()
                for m in metrics
            },
            "disparities": {
                d: G.quantiles(np.array(v), qs, skip_nan=False).tolist()
                for d, v in disp_samples[s].items()
            },
        }
    return {
        m: G.quantiles(np.array(v), qs, skip_nan=False).tolist() for m, v in overall_samples.items()
    }


def assess(
    y_true: Any,
    y_pred: Any,
    sensitive: Any,
    *,
    task: str = "auto",
    model: Any = None,
    positive: Any = None,
    classes: Any = None,
    outcome: str = "selection",
    min_group_size: int = DEFAULT_MIN_GROUP,
    threshold: float = 0.8,
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    y_label: str = "y",
) -> BiasReport:
    """Fairness of predictions you already have: per-group metrics, disparities, four-fifths rule.

    ``sensitive`` is a mapping of column name to values, a DataFrame, or one array.
    With several columns, groups are their intersections (as in fairlearn), and
    each column is also reported on its own. Nothing is stored.

    Example:
        >>> report = assess(y_test, clf.predict(X_test), X_test[["gender"]])  # doctest: +SKIP
        >>> report.summary["demographic_parity_ratio"]  # doctest: +SKIP
        0.71
    """

    yt_raw, yp_raw = as_vector(y_true, y_label), as_vector(y_pred, "the predictions")
    if len(yt_raw) != len(yp_raw):
        raise InvalidInput(
            f"{y_label} has {len(yt_raw)} labels but there are {len(yp_raw)} predictions."
        )
    if not len(yt_raw):
        raise InvalidInput("There are no rows to evaluate.")
    _check_options(min_group_size, threshold, n_boot, confidence)
    columns = sensitive_columns(sensitive, rows=len(yt_raw))
    task = task_of(model, yt_raw, yp_raw, task)
    labels: BinaryLabels | None = None
    if task == "classification":
        if classes is None:
            classes = getattr(model, "classes_", None)
        labels = binarize(yt_raw, yp_raw, positive=positive, classes=classes, y_label=y_label)
        arrays = (labels.y_true, labels.y_pred)
    else:
        arrays = regression_values(yt_raw, yp_raw, y_label)
    singles = {name: G.encode_groups({name: values}) for name, values in columns.items()}
    for name, grouping in singles.items():
        _check_grouping(grouping, name)
    groupings = list(singles.values())
    if len(columns) > 1:
        groupings.insert(0, G.encode_groups(columns))
    computed = [_section(g, task, arrays, min_group_size) for g in groupings]
    sections = [section for section, _ in computed]
    overall_ci = (
        _bootstrap(groupings, sections, task, arrays, n_boot, seed, confidence) if n_boot else None
    )
    return BiasReport(
        task=task,
        features=list(columns),
        rows=len(yt_raw),
        outcome=outcome,
        positive=_plain(labels.positive) if labels else None,
        one_vs_rest=bool(labels and labels.one_vs_rest),
        overall=_overall(task, computed[0][1]),
        overall_ci=overall_ci,
        sections=sections,
        min_group_size=min_group_size,
        threshold=threshold,
        bootstrap={"n_boot": n_boot, "seed": seed, "confidence": confidence} if n_boot else None,
    )


def _check_options(min_group_size: int, threshold: float, n_boot: int, confidence: float) -> None:
    if not isinstance(min_group_size, int) or min_group_size < 1:
        raise InvalidInput("The smallest reliable group size must be a whole number of at least 1.")
    if not 0 < threshold <= 1:
        raise InvalidInput(
            "The ratio threshold must be between 0 and 1 (the four-fifths rule is 0.8), not "
            f"{threshold}."
        )
    if not isinstance(n_boot, int) or n_boot < 0:
        raise InvalidInput(
            "The number of bootstrap samples must be a whole number (0 turns them off)."
        )
    if not 0 < confidence < 1:
        raise InvalidInput(
            f"The confidence level must be between 0 and 1 (e.g. 0.95), not {confidence}."
        )


@reads_recorded_on_success()
def bias(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    sensitive: Any,
    positive: Any = None,
    outcome: str = "selection",
    task: str = "auto",
    min_group_size: int = DEFAULT_MIN_GROUP,
    threshold: float = 0.8,
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
    labels: Sequence[str] = ("model", "X", "y"),
    record: bool = True,
    store: Store | None = None,
) -> BiasReport:
    """Predict with ``model`` on ``X``, assess fairness across ``sensitive`` columns, and store the
    report.

    ``model`` is a fitted model, a saved model file or a registry reference
    (``churn@3``); ``X`` a DataFrame, a CSV/Parquet file or a dataset reference;
    ``y`` the true labels or the name of a column of ``X``. The report is attached
    to the model version (when the model is registered) and to the active run.

    Example:
        >>> mo.evaluate.bias(clf, X_test, y_test, sensitive=["gender",
        ...                  "age_band"])  # doctest: +SKIP
    """

    model_input = load_model(model, labels[0], store=store)
    table = load_table(X, labels[1])
    frame, y_true, y_label = split_target(table, y, labels[2] if not isinstance(y, str) else y)
    columns = sensitive_columns(sensitive, frame, len(frame), table.label)
    y_pred = predict(model_input, feature_frame(model_input, frame, drop=list(columns)))
    report = assess(
        y_true,
        y_pred,
        columns,
        task=task,
        model=model_input.model,
        positive=positive,
        outcome=outcome,
        min_group_size=min_group_size,
        threshold=threshold,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
        y_label=y_label,
    )
    report.subject = {
        "model": model_input.label,
        "model_ref": model_input.ref,
        "data": table.description,
        "target": y_label,
        "sensitive": list(columns),
    }
    if record:
        report.evaluation_id = record_report("bias", report, model_input, store=store)
    return report
