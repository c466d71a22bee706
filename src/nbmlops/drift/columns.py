"""What kind each column is, its values ready for the statistics, and how the two sides' schemas
differ.

Kinds decide the statistics: ``numeric`` (numbers and durations) and
``datetime`` columns are compared as sorted values; ``categorical`` columns
(text, categories, booleans) as counts per category. Numeric columns whose
reference values are whole numbers spanning at most ``SMALL_RANGE`` consecutive
values (flags, counts of a few, ratings, 0/1 labels) are compared as categories,
since their distribution is a handful of bars rather than a curve.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

NUMERIC, CATEGORICAL, DATETIME, EMPTY, UNSUPPORTED = (
    "numeric",
    "categorical",
    "datetime",
    "empty",
    "unsupported",
)
SMALL_RANGE = 10
MAX_CATEGORIES = 100  # beyond this, the most frequent categories are kept and the rest pooled


def dtype_name(series: Any) -> str:
    """The dtype as users know it (``float64``, ``str``, ``category``, ``datetime64[us, UTC]``)."""
    return str(series.dtype)


def kind_of(series: Any) -> str:
    """The family a column's dtype belongs to (before the small-integer rule, which needs the
    values).

    Example:
        >>> import pandas as pd
        >>> kind_of(pd.Series([1.5, 2.0])), kind_of(pd.Series(["a",
        ...                                         "b"])), kind_of(pd.Series([True]))
        ('numeric', 'categorical', 'categorical')
    """
    import pandas as pd  # lazy: start-up time
    from pandas.api import types as t  # lazy: start-up time

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype) or t.is_bool_dtype(dtype):
        return CATEGORICAL
    if t.is_datetime64_any_dtype(dtype):
        return DATETIME
    if t.is_timedelta64_dtype(dtype):
        return NUMERIC
    if t.is_complex_dtype(dtype):
        return UNSUPPORTED
    if t.is_numeric_dtype(dtype):
        return NUMERIC
    if t.is_string_dtype(dtype) or t.is_object_dtype(dtype):
        inferred = t.infer_dtype(series, skipna=True)
        if inferred == "empty":
            return EMPTY
        if inferred in ("integer", "floating", "mixed-integer-float", "decimal"):
            return NUMERIC
        if inferred in ("datetime", "datetime64"):
            return DATETIME
        return CATEGORICAL
    return UNSUPPORTED


def numeric_values(series: Any) -> tuple[np.ndarray, int]:
    """Non-missing values as float64 (datetimes as epoch seconds, durations as seconds) and the
    missing count."""
    from pandas.api import types as t  # lazy: start-up time

    dtype = series.dtype
    if t.is_datetime64_any_dtype(dtype) or (
        t.is_object_dtype(dtype) and kind_of(series) == DATETIME
    ):
        import pandas as pd  # lazy: start-up time

        stamps = pd.to_datetime(series, utc=getattr(dtype, "tz", None) is not None)
        if getattr(stamps.dtype, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        raw = stamps.to_numpy()
        present = ~np.isnat(raw)
        values = raw[present].astype("datetime64[us]").astype(np.int64) / 1e6
        return values, int(len(raw) - present.sum())
    if t.is_timedelta64_dtype(dtype):
        raw = series.to_numpy()
        present = ~np.isnat(raw)
        return raw[present].astype("timedelta64[us]").astype(np.int64) / 1e6, int(
            len(raw) - present.sum()
        )
    if t.is_object_dtype(dtype) or t.is_string_dtype(dtype):
        import pandas as pd  # lazy: start-up time

        series = pd.to_numeric(series, errors="coerce")
    if t.is_bool_dtype(series.dtype):
        series = series.astype("Int64")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    finite = ~np.isnan(values)
    if finite.all():
        return values, 0
    return values[finite], int(len(values) - finite.sum())


def whole_small_range(values: np.ndarray, span: int = SMALL_RANGE) -> bool:
    """True when the values are whole numbers spanning at most ``span`` consecutive values.

    Example:
        >>> whole_small_range(np.array([0.0, 1, 3])), whole_small_range(np.array([0.5, 1]))
        (True, False)
    """
    if not len(values):
        return False
    low, high = float(values.min()), float(values.max())
    if not (np.isfinite(low) and np.isfinite(high)) or high - low >= span:
        return False
    return bool(np.all(values == np.floor(values)))


@dataclasses.dataclass
class Counts:
    """Counts per category of one side; ``labels`` are display names (text)."""

    labels: list[str]
    counts: np.ndarray
    missing: int

    @property
    def total(self) -> int:
        return int(self.counts.sum()) + self.missing


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value.item() if hasattr(value, "item") else value)


def category_counts(series: Any, *, as_numbers: bool = False) -> Counts:
    """Counts per category of one column; ``as_numbers`` counts a small-range numeric column by
    value."""
    import pandas as pd  # lazy: start-up time

    if as_numbers:
        values, missing = numeric_values(series)
        if not len(values):
            return Counts([], np.zeros(0, dtype=np.int64), missing)
        whole = values == np.floor(values)
        if whole.all() and values.max() - values.min() < 10 * SMALL_RANGE:
            low = int(values.min())
            counts = np.bincount((values - low).astype(np.int64))
            keep = np.flatnonzero(counts)
            return Counts([str(low + int(i)) for i in keep], counts[keep], missing)
        uniques, counts = np.unique(values, return_counts=True)
        return Counts([_label(float(v)) for v in uniques], counts, missing)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        present = codes >= 0
        counts = np.bincount(codes[present], minlength=len(series.cat.categories))
        keep = np.flatnonzero(counts)
        categories = series.cat.categories
        return Counts(
            [_label(categories[i]) for i in keep], counts[keep], int(len(codes) - present.sum())
        )
    if series.dtype == bool:
        counts = np.bincount(series.to_numpy().astype(np.int64), minlength=2)
        keep = np.flatnonzero(counts)
        return Counts([["False", "True"][i] for i in keep], counts[keep], 0)
    found = series.value_counts(dropna=True, sort=False)
    missing = int(len(series) - int(found.sum()))
    return Counts([_label(v) for v in found.index], found.to_numpy(dtype=np.int64), missing)


def _order(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def align(
    ref: Counts, cur: Counts, max_categories: int = MAX_CATEGORIES
) -> tuple[list[str], np.ndarray, np.ndarray, str | None]:
    """Both sides' counts over the union of categories; past ``max_categories`` the rarest are
    pooled.

    Returns the labels, the two count vectors and a note when categories were pooled.
    """
    # sorted like pandas sorts them (numbers as numbers), so the table is the one pd.crosstab builds
    ordered = sorted({*ref.labels, *cur.labels}, key=_order)
    index = {label: i for i, label in enumerate(ordered)}
    k = len(index)
    ref_counts = np.zeros(k, dtype=np.int64)
    cur_counts = np.zeros(k, dtype=np.int64)
    if ref.labels:
        np.add.at(ref_counts, [index[label] for label in ref.labels], ref.counts)
    if cur.labels:
        np.add.at(cur_counts, [index[label] for label in cur.labels], cur.counts)
    labels = list(index)
    if k <= max_categories:
        return labels, ref_counts, cur_counts, None
    share = ref_counts / max(ref_counts.sum(), 1) + cur_counts / max(cur_counts.sum(), 1)
    top = np.sort(np.argsort(-share, kind="stable")[: max_categories - 1])
    rest = np.ones(k, dtype=bool)
    rest[top] = False
    pooled = int(rest.sum())
    note = (
        f"{k:,} categories: the {max_categories - 1} most frequent are compared one by one and "
        "the other "
        f"{pooled:,} pooled as one"
    )
    return (
        [labels[i] for i in top] + [f"(other {pooled:,})"],
        np.append(ref_counts[top], ref_counts[rest].sum()),
        np.append(cur_counts[top], cur_counts[rest].sum()),
        note,
    )


@dataclasses.dataclass
class Schema:
    """How the columns of the two sides line up."""

    compared: list[str]
    only_reference: list[str]
    only_current: list[str]
    type_changed: list[dict[str, str]]
    kinds: dict[str, str]
    dtypes: dict[str, tuple[str, str]]


def compare_schema(
    ref_kinds: dict[str, tuple[str, str]],
    cur_kinds: dict[str, tuple[str, str]],
    columns: list[str] | None = None,
    exclude: tuple[str, ...] | list[str] = (),
) -> Schema:
    """Line up the columns: ``*_kinds`` map column -> (kind, dtype) for each side.

    A column whose kind differs between the sides (numbers became text, say) is
    reported and not compared; a side that is entirely missing takes the other
    side's kind, so its missing share is still compared.
    """
    wanted = [c for c in (columns or list(ref_kinds)) if c not in exclude]
    compared, type_changed, kinds, dtypes = [], [], {}, {}
    for name in wanted:
        if name not in ref_kinds or name not in cur_kinds:
            continue
        (ref_kind, ref_dtype), (cur_kind, cur_dtype) = ref_kinds[name], cur_kinds[name]
        kind = cur_kind if ref_kind == EMPTY else ref_kind
        other = cur_kind if ref_kind != EMPTY else ref_kind
        if UNSUPPORTED in (ref_kind, cur_kind):
            type_changed.append(
                {
                    "column": name,
                    "reference": ref_dtype,
                    "current": cur_dtype,
                    "reason": "values of this type cannot be compared",
                }
            )
            continue
        if other not in (kind, EMPTY):
            type_changed.append(
                {
                    "column": name,
                    "reference": ref_dtype,
                    "current": cur_dtype,
                    "reason": f"{ref_kind} in the reference, {cur_kind} in the current data",
                }
            )
            continue
        compared.append(name)
        kinds[name] = kind
        dtypes[name] = (ref_dtype, cur_dtype)
    only_ref = [
        c
        for c in ref_kinds
        if c not in cur_kinds and c not in exclude and (columns is None or c in columns)
    ]
    only_cur = [
        c
        for c in cur_kinds
        if c not in ref_kinds and c not in exclude and (columns is None or c in columns)
    ]
    return Schema(compared, only_ref, only_cur, type_changed, kinds, dtypes)
