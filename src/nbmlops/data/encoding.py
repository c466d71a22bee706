"""One column chunk <-> Parquet bytes, and the dtype facts needed to get the exact pandas column
back.

A chunk is a single Arrow array written as a one-column Parquet file whose
field is always called ``v`` and carries no pandas metadata, so its bytes (and
digest) depend only on the values: the same values under another column name,
at another position or in another dataset are stored once.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# columns of these Arrow types come back from Parquet exactly; lists, structs and maps do not
CODEC = "lz4"
_OBJECT_KINDS = (
    "string",
    "large_string",
    "binary",
    "large_binary",
    "bool",
    "null",
    "date32",
    "decimal",
)


def column_spec(series: pd.Series, name: str) -> dict[str, Any]:
    """What the manifest records about a column's type, so loading restores it exactly.

    Example:
        >>> import pandas as pd
        >>> column_spec(pd.Series([1, None], dtype="Int64"), "n")["dtype"]
        'Int64'
    """
    import numpy as np  # lazy: start-up time
    import pandas as pd  # lazy: start-up time

    dtype = series.dtype
    spec: dict[str, Any] = {"name": name, "dtype": str(dtype)}
    if isinstance(dtype, pd.CategoricalDtype):
        spec["ordered"] = bool(dtype.ordered)
        spec["categories_dtype"] = str(dtype.categories.dtype)
        if len(dtype.categories) <= 10_000:
            spec["categories"] = [_plain(v) for v in dtype.categories]
    elif dtype == np.dtype(object):
        nulls = series.isna()
        if nulls.any():
            first = series[nulls.to_numpy()].iloc[0]
            spec["null"] = "None" if first is None else "NaN"
    return spec


def _plain(value: Any) -> Any:
    return (
        value.item()
        if hasattr(value, "item")
        else value
        if isinstance(value, (str, int, float, bool))
        else str(value)
    )


def to_arrow(series: pd.Series, name: str, arrow_type: pa.DataType | None = None) -> pa.Array:
    """An Arrow array of one column slice, or :class:`InvalidInput` naming a column Arrow cannot
    store.

    Object columns pass the type inferred from the whole column, so a slice of nulls only still gets
    it.
    """
    import pandas as pd  # lazy: start-up time
    import pyarrow as pa  # lazy: start-up time

    try:
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            # through UTC values: handing pyarrow the Series itself trips a pandas deprecation
            return pa.array(
                series.dt.tz_convert(None).to_numpy(),
                type=pa.timestamp(series.dt.unit, tz=str(series.dt.tz)),
                from_pandas=True,
            )
        array = pa.array(series, type=arrow_type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        kinds = sorted({type(v).__name__ for v in series.dropna().head(1000)})
        if len(kinds) > 1:
            raise InvalidInput(
                f"Column {name!r} mixes types ({', '.join(kinds[:4])}); convert it to one type "
                "first, "
                f"e.g. df[{name!r}].astype(str)."
            ) from None
        raise InvalidInput(
            f"Column {name!r} holds {', '.join(kinds) or 'values'} that cannot be stored as a "
            "table "
            f"column ({str(e).splitlines()[0]})."
        ) from None
    if series.dtype == object and not str(array.type).startswith(_OBJECT_KINDS):
        raise InvalidInput(
            f"Column {name!r} holds Python objects ({array.type}) that would not load back as they "
            "are; store text, numbers or dates, or convert the column first."
        )
    return array


def encode(array: pa.Array) -> bytes:
    """Parquet bytes of one chunk: LZ4 (decodes fastest); floats, which rarely repeat, skip the
    dictionary."""
    import pyarrow as pa  # lazy: start-up time
    import pyarrow.parquet as pq  # lazy: start-up time

    buf = io.BytesIO()
    floating = pa.types.is_floating(array.type)
    pq.write_table(
        pa.table({"v": array}),
        buf,
        compression=CODEC,
        use_dictionary=not floating,
        write_statistics=False,
    )
    return buf.getvalue()


def decode(data: bytes) -> pa.ChunkedArray:
    """The values of one chunk's Parquet bytes (callers read many chunks on threads of their
    own)."""
    import pyarrow as pa  # lazy: start-up time
    import pyarrow.parquet as pq  # lazy: start-up time

    return pq.read_table(pa.BufferReader(data), use_threads=False).column(0)


def join(pieces: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    """Consecutive chunks of one column as one column, without copying."""
    import pyarrow as pa  # lazy: start-up time

    return pa.chunked_array([a for piece in pieces for a in piece.chunks], type=pieces[0].type)


def to_series(array: pa.Array | pa.ChunkedArray, spec: dict[str, Any]) -> pd.Series:
    """The pandas column with the exact dtype recorded in ``spec``."""
    import numpy as np  # lazy: start-up time
    import pandas as pd  # lazy: start-up time
    from pandas.api.extensions import ExtensionDtype  # lazy: start-up time

    recorded = spec["dtype"]
    if recorded == "object":
        values = array.to_numpy(zero_copy_only=False)
        if values.dtype != object:
            values = values.astype(object)
        series = pd.Series(values, dtype=object, name=spec["name"])
        if spec.get("null") == "NaN":
            series[series.isna().to_numpy()] = np.nan
        return series
    if recorded == "category":
        series = array.to_pandas()
        categories = spec.get("categories")
        if categories is not None and len(series) == 0:
            index = pd.Index(categories, dtype=spec.get("categories_dtype"))
            series = series.astype(pd.CategoricalDtype(index, ordered=spec["ordered"]))
        if series.cat.ordered != spec["ordered"]:
            series = series.cat.as_ordered() if spec["ordered"] else series.cat.as_unordered()
        return series.rename(spec["name"])
    dtype = pd.api.types.pandas_dtype(recorded)
    mapper = (
        (lambda _t: dtype)
        if isinstance(dtype, ExtensionDtype) and hasattr(dtype, "__from_arrow__")
        else None
    )
    series = array.to_pandas(types_mapper=mapper)
    if series.dtype != dtype:
        series = series.astype(dtype)
    return series.rename(spec["name"])
