"""Where the two samples come from: a DataFrame, a CSV/Parquet file, a dataset version, or batches.

A :class:`Source` is either a table in memory or a way to read it batch by
batch. Data too large for memory (a big Parquet file or dataset version, or an
explicit iterator of DataFrames) is compared in batches; ``chunked=True``
forces that for any input.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import data
from ..data.committing import TABLE_SUFFIXES
from ..errors import InvalidInput, NotFound
from ..refs import parse_ref

# above this many cells (about 800 MB of numbers) a file or version is read in batches
MEMORY_CELLS = 100_000_000
CSV_MEMORY_BYTES = 1_000_000_000
BATCH_ROWS = 250_000


@dataclasses.dataclass
class Source:
    """One side of a comparison, in memory (``frame``) or as re-readable batches (``batches``)."""

    label: str
    description: dict[str, Any]
    frame: Any = None
    batches: Callable[[list[str] | None], Iterator[Any]] | None = None
    once: bool = False  # an iterator that can be read only one time

    @property
    def in_memory(self) -> bool:
        return self.frame is not None

    def called(self, side: str) -> str:  # starts a sentence
        """``The current data new_batch`` (or just ``The current data`` when it has no name of
        its own)."""
        return (
            f"The {side}" if self.label in ("reference", "current") else f"The {side} {self.label}"
        )


def _frame_batches(frame: Any, rows: int) -> Callable[[list[str] | None], Iterator[Any]]:
    def read(columns: list[str] | None) -> Iterator[Any]:
        view = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
        for start in range(0, max(len(frame), 1), rows):
            yield view.iloc[start : start + rows]

    return read


def _parquet(
    path: str, chunked: bool | None, rows: int
) -> tuple[Any, Callable[[list[str] | None], Iterator[Any]] | None, int]:
    import pyarrow.dataset as ds  # lazy: start-up time
    import pyarrow.parquet as pq  # lazy: start-up time

    try:
        files = sorted(ds.dataset(path, format="parquet").files)
        metas = [pq.ParquetFile(f).metadata for f in files]
    except (OSError, ValueError) as e:
        raise InvalidInput(f"Cannot read {path}: {str(e).splitlines()[0]}.") from None
    total = sum(m.num_rows for m in metas)
    cells = total * (metas[0].num_columns if metas else 0)
    if chunked is False or (chunked is None and cells <= MEMORY_CELLS):
        return ds.dataset(files, format="parquet").to_table().to_pandas(), None, total

    def read(columns: list[str] | None) -> Iterator[Any]:
        # one row group at a time: pyarrow's batch iterators keep earlier row groups' buffers until
        # they finish
        for name in files:
            source = pq.ParquetFile(name)
            names = (
                None if columns is None else [c for c in columns if c in source.schema_arrow.names]
            )
            for group in range(source.metadata.num_row_groups):
                for batch in source.read_row_group(group, columns=names).to_batches(
                    max_chunksize=rows
                ):
                    yield batch.to_pandas()

    return None, read, total


def _csv(
    path: str, chunked: bool | None, rows: int
) -> tuple[Any, Callable[[list[str] | None], Iterator[Any]] | None]:
    import pandas as pd  # lazy: start-up time

    sep = "\t" if path.lower().endswith(".tsv") else ","
    if chunked is False or (chunked is None and os.path.getsize(path) <= CSV_MEMORY_BYTES):
        try:
            return pd.read_csv(path, sep=sep), None
        except (OSError, ValueError) as e:
            raise InvalidInput(f"Cannot read {path}: {str(e).splitlines()[0]}.") from None

    def read(columns: list[str] | None) -> Iterator[Any]:
        with pd.read_csv(
            path, sep=sep, chunksize=rows, usecols=(lambda c: c in columns) if columns else None
        ) as it:
            yield from it

    return None, read


def _file_source(path: str, label: str, chunked: bool | None, rows: int) -> Source:
    full = os.path.abspath(path)
    description: dict[str, Any] = {"path": full}
    if full.lower().endswith((".parquet", ".pq")) or os.path.isdir(full):
        frame, read, total = _parquet(full, chunked, rows)
        description["rows"] = total
    elif full.lower().endswith((".csv", ".tsv")):
        frame, read = _csv(full, chunked, rows)
    else:
        raise InvalidInput(
            f"Cannot read {path}: give a CSV, TSV or Parquet file (or a folder of Parquet files)."
        )
    if frame is not None and chunked:
        return Source(label, description, batches=_frame_batches(frame, rows))
    return Source(label, description, frame=frame, batches=read)


def _dataset_source(
    ref: str, label: str, chunked: bool | None, rows: int, in_notebook: bool
) -> Source:

    try:
        parse_ref(ref, "dataset")
    except InvalidInput:
        where = "variable, file or dataset version" if in_notebook else "file or dataset version"
        raise NotFound(
            f"No {where} is called {ref!r}; give a DataFrame, a CSV/Parquet file or a version "
            "such as "
            "loans@3."
        ) from None
    # contract: VersionInfo(id, name, version, digest, rows, columns, ref, created_at)
    info = data.resolve(ref)
    description = {
        "ref": info.ref,
        "dataset_version_id": info.id,
        "digest": info.digest,
        "rows": info.rows,
    }
    cells = (info.rows or 0) * (info.columns or 1)
    if chunked or (chunked is None and cells > MEMORY_CELLS):

        def read(columns: list[str] | None) -> Iterator[Any]:
            return iter(data.iter_batches(info.ref, columns=columns, rows=rows))

        return Source(label if label != ref else info.ref, description, batches=read)
    return Source(label if label != ref else info.ref, description, frame=data.load(info.ref))


def open_source(
    value: Any,
    label: str,
    *,
    chunked: bool | None = None,
    batch_rows: int = BATCH_ROWS,
    in_notebook: bool = False,
) -> Source:
    """Turn what the user named into a :class:`Source`, or refuse with one sentence.

    Example:
        >>> open_source(df, "new_batch").in_memory  # doctest: +SKIP
        True
    """
    import pandas as pd  # lazy: start-up time

    if batch_rows < 1:
        raise InvalidInput(f"The batch size must be at least one row, not {batch_rows}.")
    if isinstance(value, pd.DataFrame):
        description = {"name": label, "rows": len(value), "columns": value.shape[1]}
        if chunked:
            return Source(label, description, batches=_frame_batches(value, batch_rows))
        return Source(label, description, frame=value)
    if isinstance(value, pd.Series):
        return open_source(value.to_frame(), label, chunked=chunked, batch_rows=batch_rows)
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if os.path.exists(text):
            return _file_source(text, label, chunked, batch_rows)
        if text.lower().endswith(TABLE_SUFFIXES):
            raise NotFound(f"No file named {text!r}.")
        return _dataset_source(text, label, chunked, batch_rows, in_notebook)
    if hasattr(value, "to_pandas") and not inspect.isclass(value):  # pyarrow / polars tables
        return open_source(value.to_pandas(), label, chunked=chunked, batch_rows=batch_rows)
    if callable(value):
        return Source(label, {"name": label}, batches=lambda _columns: iter(value()))
    if isinstance(value, Iterator) or inspect.isgenerator(value):
        spent = {"used": False}

        def once(_columns: list[str] | None) -> Iterator[Any]:
            if spent["used"]:
                raise InvalidInput(
                    f"{label} is an iterator that was already read; pass a function that returns "
                    "a new iterator of DataFrames instead."
                )
            spent["used"] = True
            return value

        return Source(label, {"name": label}, batches=once, once=True)
    if isinstance(value, Iterable) and not isinstance(value, (dict, bytes)) and _all_frames(value):
        frames = list(value)
        return Source(label, {"name": label}, batches=lambda _columns: iter(frames))
    raise InvalidInput(
        f"{label} is a {type(value).__name__}; give a DataFrame, a data version such as loans@3, "
        "a CSV/Parquet file, or batches of DataFrames."
    )


def _all_frames(value: Iterable[Any]) -> bool:
    import pandas as pd  # lazy: start-up time

    try:
        items = list(value)
    except TypeError:
        return False
    return bool(items) and all(isinstance(item, pd.DataFrame) for item in items)
