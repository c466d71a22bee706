"""Per-column statistics kept in a manifest: what ``show``, ``diff`` and ``validate`` read
without loading data."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from ..result import fmt

if TYPE_CHECKING:
    import pandas as pd

# a text column with at most this many distinct values keeps their counts (its "categories")
MAX_VALUES = 50
PROBE_ROWS = 65_536


def kind_of(series: pd.Series) -> str:
    """numeric, bool, datetime, timedelta, category, text or other.

    Example:
        >>> import pandas as pd
        >>> kind_of(pd.Series([1.5])), kind_of(pd.Series(["a"]))
        ('numeric', 'text')
    """
    import pandas as pd  # lazy: start-up time
    from pandas.api import types  # lazy: start-up time

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if types.is_bool_dtype(dtype):
        return "bool"
    if types.is_numeric_dtype(dtype):
        return "numeric"
    if types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if types.is_string_dtype(dtype):
        return "text"
    return "other"


def column_stats(series: pd.Series) -> dict[str, Any]:
    """Counts, nulls, range, mean/std, frequent values and uniqueness of one column.

    Example:
        >>> import pandas as pd
        >>> column_stats(pd.Series([1, 2, None], dtype="Int64"))["max"]
        2
    """
    kind = kind_of(series)
    nulls = int(series.isna().sum())
    out: dict[str, Any] = {"kind": kind, "count": len(series) - nulls, "nulls": nulls}
    if kind == "numeric" and out["count"]:
        values = series.dropna() if nulls else series
        # huge or infinite values: the mean/std is inf or NaN, said plainly
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out["min"], out["max"] = _number(values.min()), _number(values.max())
            out["mean"] = _number(values.mean())
            out["std"] = _number(values.std()) if out["count"] > 1 else None
    elif kind in ("datetime", "timedelta") and out["count"]:
        out["min"], out["max"] = str(series.min()), str(series.max())
    elif kind in ("category", "bool", "text") and out["count"]:
        out.update(_values(series, kind))
    if kind in ("numeric", "text", "datetime", "category") and nulls == 0 and len(series) > 1:
        out["unique"] = _unique(series, kind)
    return out


def _number(value: Any) -> float | int | None:
    value = value.item() if hasattr(value, "item") else value
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value) if isinstance(value, (int, bool)) else float(value)


def _values(series: pd.Series, kind: str) -> dict[str, Any]:
    if kind == "text" and series.head(PROBE_ROWS).nunique() > MAX_VALUES:
        return {"distinct": None}
    counts = series.value_counts(dropna=True, sort=False)
    if kind == "category":
        counts = counts[counts > 0]
    if len(counts) > MAX_VALUES:
        return {"distinct": int(len(counts))}
    return {
        "distinct": int(len(counts)),
        "values": {str(k): int(v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))},
    }


def _unique(series: pd.Series, kind: str) -> bool:
    import pandas as pd  # lazy: start-up time
    from pandas.api import types  # lazy: start-up time

    if kind == "numeric" and not types.is_integer_dtype(series.dtype):
        return False  # floats are measurements, not keys
    if kind == "category" and len(series.cat.categories) < len(series):
        return False
    if not series.head(PROBE_ROWS).is_unique:
        return False
    return bool(pd.Index(series).is_unique)


def describe(stats: dict[str, Any]) -> str:
    """One short line for tables: the range or the values of a column."""

    if "min" in stats:
        line = f"{fmt(stats['min'])} .. {fmt(stats['max'])}"
        if stats.get("mean") is not None:
            line += f", mean {fmt(stats['mean'])}"
        return line
    if stats.get("values"):
        shown = list(stats["values"])[:6]
        return ", ".join(shown) + (", ..." if len(stats["values"]) > 6 else "")
    if stats.get("distinct"):
        return f"{stats['distinct']:,} distinct"
    return ""
