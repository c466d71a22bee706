"""Compare two in-memory tables column by column.

Each column is handled on its own (its values extracted, sorted or counted,
compared, then dropped), so the extra memory is a few copies of one column, not
of the table. Columns run on a small thread pool: sorting and counting release
the GIL, so two cores do two columns at once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from . import stats
from .columns import (
    CATEGORICAL,
    NUMERIC,
    SMALL_RANGE,
    Counts,
    align,
    category_counts,
    numeric_values,
    whole_small_range,
)
from .methods import APPLIES, Options

HIST_BINS = 30
HIST_CATEGORIES = 20


def chart_edges(ref: np.ndarray, cur: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """Equal-width chart bins over the middle 99% of both samples, so one outlier cannot squash
    the bars."""

    def q(values: np.ndarray, p: float) -> float:
        return float(values[min(int(p * len(values)), len(values) - 1)])

    low = min(q(ref, 0.005), q(cur, 0.005)) if len(cur) else q(ref, 0.005)
    high = max(q(ref, 0.995), q(cur, 0.995)) if len(cur) else q(ref, 0.995)
    if high <= low:
        return np.array([low - 0.5, low + 0.5])
    return np.linspace(low, high, bins + 1)


def numeric_histogram(ref: np.ndarray, cur: np.ndarray, kind: str) -> dict[str, Any]:
    """Shares of each side per chart bin (values outside the range land in the end bins)."""
    edges = chart_edges(ref, cur)
    inner = edges[1:-1]
    ref_counts = stats.binned_counts(ref, inner)
    cur_counts = stats.binned_counts(cur, inner)
    return {
        "kind": kind,
        "edges": edges.tolist(),
        "reference": (ref_counts / max(len(ref), 1)).tolist(),
        "current": (cur_counts / max(len(cur), 1)).tolist(),
    }


def category_histogram(
    labels: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray
) -> dict[str, Any]:
    """Shares of the most frequent categories (the rest summed as 'other')."""
    p = ref_counts / max(ref_counts.sum(), 1)
    q = cur_counts / max(cur_counts.sum(), 1)
    order = np.argsort(-(p + q), kind="stable")
    top, rest = order[:HIST_CATEGORIES], order[HIST_CATEGORIES:]
    shown = [labels[i] for i in top]
    ref_share, cur_share = p[top].tolist(), q[top].tolist()
    if len(rest):
        shown.append(f"other ({len(rest)})")
        ref_share.append(float(p[rest].sum()))
        cur_share.append(float(q[rest].sum()))
    return {"kind": CATEGORICAL, "labels": shown, "reference": ref_share, "current": cur_share}


def numeric_stats(ref: np.ndarray, cur: np.ndarray) -> dict[str, Any]:
    """Every numeric statistic from two sorted samples."""
    ks = stats.ks_test(ref, cur)
    distance = stats.wasserstein(ref, cur)
    ref_spread = stats.spread(ref)
    edges = stats.quantile_edges(ref)
    psi = stats.psi(stats.binned_counts(ref, edges), stats.binned_counts(cur, edges))
    return {
        "ks": ks,
        "wasserstein": stats.normalised_wasserstein(distance, ref_spread),
        "wasserstein_raw": distance,
        "psi": psi,
        "mean": [float(ref.mean()), float(cur.mean())],
        "std": ref_spread,
    }


def categorical_stats(
    labels: list[str], ref_counts: np.ndarray, cur_counts: np.ndarray
) -> dict[str, Any]:
    """Every categorical statistic from the aligned counts."""
    new = [labels[i] for i in np.flatnonzero((ref_counts == 0) & (cur_counts > 0))]
    gone = [labels[i] for i in np.flatnonzero((ref_counts > 0) & (cur_counts == 0))]
    return {
        "chi2": stats.chi2_homogeneity(ref_counts, cur_counts),
        "jensenshannon": stats.jensen_shannon(ref_counts, cur_counts),
        "psi": stats.psi(ref_counts, cur_counts),
        "categories": len(labels),
        "new_categories": new[:20],
        "new_share": float(cur_counts[(ref_counts == 0)].sum() / max(cur_counts.sum(), 1)),
        "missing_categories": gone[:20],
    }


def score_of(method: str, found: dict[str, Any]) -> float:
    if method in ("ks", "chi2"):
        return float(found[method]["p_value"]) if found.get(method) else math.nan
    value = found.get(method)
    return math.nan if value is None else float(value)


def column_result(
    name: str,
    kind: str,
    dtypes: tuple[str, str],
    counts: tuple[int, int],
    missing: tuple[int, int],
    found: dict[str, Any] | None,
    options: Options,
    *,
    notes: list[str] | None = None,
    histogram: dict[str, Any] | None = None,
    compared_as: str | None = None,
) -> dict[str, Any]:
    """One column's verdict: the deciding method and score, the missing-share check, notes for
    the reader."""
    notes = list(notes or [])
    n_ref, n_cur = counts
    miss = stats.missing_share_test(missing[0], n_ref + missing[0], missing[1], n_cur + missing[1])
    miss["drifted"] = bool(
        miss["p_value"] < options.thresholds["chi2"]
        and abs(miss["current"] - miss["reference"]) >= options.thresholds["missing"]
    )
    effective = compared_as or kind
    method = options.method_for(name, effective, min(n_ref, n_cur))
    if method not in APPLIES[effective]:
        fallback = options.method_for("", effective, min(n_ref, n_cur))
        notes.append(
            f"{method} does not apply to a column compared as {effective}; {fallback} decides "
            "instead"
        )
        method = fallback
    score = score_of(method, found) if found is not None else math.nan
    threshold, value_drift = options.decide(method, score)
    reasons = []
    if value_drift:
        reasons.append(
            f"{method} {'p-value' if method in ('ks', 'chi2') else 'score'} "
            f"{score:.3g} {'<' if method in ('ks', 'chi2') else '>='} {threshold:g}"
        )
    if miss["drifted"]:
        reasons.append(f"missing share {miss['reference']:.1%} -> {miss['current']:.1%}")
    if dtypes[0] != dtypes[1]:
        notes.append(f"type {dtypes[0]} in the reference, {dtypes[1]} in the current data")
    if effective != kind:
        notes.append(f"whole numbers spanning at most {SMALL_RANGE} values: compared as categories")
    return {
        "column": name,
        "kind": kind,
        "compared_as": effective,
        "dtype": list(dtypes),
        "count": [n_ref, n_cur],
        "missing": miss,
        "stats": found or {},
        "method": method,
        "score": score,
        "threshold": threshold,
        "drifted": bool(value_drift or miss["drifted"]),
        "reasons": reasons,
        "notes": notes,
        "histogram": histogram,
    }


def _empty_side_note(n_ref: int, n_cur: int) -> str:
    side = "reference" if n_ref == 0 else "current data"
    return f"every value is missing in the {side}, so only the missing share is compared"


def compare_categorical_counts(
    name: str,
    kind: str,
    dtypes: tuple[str, str],
    ref: Counts,
    cur: Counts,
    options: Options,
    max_categories: int,
    compared_as: str | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """A categorical verdict from each side's counts (shared by in-memory and chunked
    comparisons)."""
    notes = list(notes or [])
    n_ref, n_cur = int(ref.counts.sum()), int(cur.counts.sum())
    if n_ref == 0 or n_cur == 0:
        notes.append(_empty_side_note(n_ref, n_cur))
        return column_result(
            name,
            kind,
            dtypes,
            (n_ref, n_cur),
            (ref.missing, cur.missing),
            None,
            options,
            notes=notes,
            compared_as=compared_as,
        )
    labels, ref_counts, cur_counts, pooled = align(ref, cur, max_categories)
    if pooled:
        notes.append(pooled)
    found = categorical_stats(labels, ref_counts, cur_counts)
    if found["new_categories"]:
        shown = ", ".join(found["new_categories"][:5]) + (
            ", ..." if len(found["new_categories"]) > 5 else ""
        )
        notes.append(f"new in the current data: {shown} ({found['new_share']:.1%} of its rows)")
    if found["chi2"]["small_expected"] > 0.2:
        notes.append(
            f"{found['chi2']['small_expected']:.0%} of expected counts are below 5: the chi-square "
            "p-value is approximate"
        )
    return column_result(
        name,
        kind,
        dtypes,
        (n_ref, n_cur),
        (ref.missing, cur.missing),
        found,
        options,
        notes=notes,
        histogram=category_histogram(labels, ref_counts, cur_counts),
        compared_as=compared_as,
    )


def compare_column(
    name: str,
    kind: str,
    dtypes: tuple[str, str],
    ref_series: Any,
    cur_series: Any,
    options: Options,
    max_categories: int,
) -> dict[str, Any]:
    """Compare one column of two in-memory tables."""
    if kind == CATEGORICAL:
        return compare_categorical_counts(
            name,
            kind,
            dtypes,
            category_counts(ref_series),
            category_counts(cur_series),
            options,
            max_categories,
        )
    ref, ref_missing = numeric_values(ref_series)
    if kind == NUMERIC and whole_small_range(ref):
        return compare_categorical_counts(
            name,
            kind,
            dtypes,
            category_counts(ref_series, as_numbers=True),
            category_counts(cur_series, as_numbers=True),
            options,
            max_categories,
            compared_as=CATEGORICAL,
        )
    cur, cur_missing = numeric_values(cur_series)
    if len(ref) == 0 or len(cur) == 0:
        return column_result(
            name,
            kind,
            dtypes,
            (len(ref), len(cur)),
            (ref_missing, cur_missing),
            None,
            options,
            notes=[_empty_side_note(len(ref), len(cur))],
        )
    ref = np.sort(ref)
    cur = np.sort(cur)
    notes = []
    if ref[0] == ref[-1]:
        notes.append(
            f"constant in the reference ({ref[0]:g})"
            if kind == NUMERIC
            else "constant in the reference"
        )
    found = numeric_stats(ref, cur)
    return column_result(
        name,
        kind,
        dtypes,
        (len(ref), len(cur)),
        (ref_missing, cur_missing),
        found,
        options,
        notes=notes,
        histogram=numeric_histogram(ref, cur, kind),
    )


def compare_frames(
    ref: Any,
    cur: Any,
    columns: list[str],
    kinds: dict[str, str],
    dtypes: dict[str, tuple[str, str]],
    options: Options,
    *,
    max_categories: int,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every listed column of two DataFrames, in the order given.

    Example:
        >>> compare_frames(ref_df, cur_df, ["income"], {"income": "numeric"}, {"income": ("float64",
        ...                "float64")},
        ...                Options())[0]["drifted"]  # doctest: +SKIP
    """

    def one(name: str) -> dict[str, Any]:
        result = compare_column(
            name, kinds[name], dtypes[name], ref[name], cur[name], options, max_categories
        )
        if progress is not None:
            progress(1)
        return result

    workers = workers or min(2, os.cpu_count() or 1)
    if workers <= 1 or len(columns) <= 1:
        return [one(c) for c in columns]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nbmlops-drift") as pool:
        return list(pool.map(one, columns))
