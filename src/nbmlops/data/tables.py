"""A DataFrame as a manifest of content-addressed column chunks, and back.

Rows are cut into ranges (``CHUNK_ROWS`` each, or the parent version's ranges
where they still fit, so appending rows or adding a column leaves every old
chunk identical), and each range of each column is one Parquet object. A new
version therefore stores only the chunks whose values changed. Commit works
range by range, so memory stays near the frame's own size; load fetches and
decodes chunks on a few threads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..store.objects import digest_bytes
from . import encoding
from .stats import column_stats

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

FORMAT = "nbmlops.table/1"
CHUNK_ROWS = 131_072
FLUSH_BYTES = 32 << 20  # object stores get their new chunks in batches of about this size
READERS = 8


def check_frame(df: Any) -> None:
    """Refuse what a table version cannot hold: non-text or repeated column names, column
    MultiIndex."""
    import pandas as pd  # lazy: start-up time

    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(
            f"Only a pandas DataFrame can be committed as a table, not {type(df).__name__}."
        )
    if isinstance(df.columns, pd.MultiIndex):
        raise InvalidInput(
            "The DataFrame has several column levels; flatten them first, "
            "e.g. df.columns = ['_'.join(map(str, c)) for c in df.columns]."
        )
    names = list(df.columns)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise InvalidInput(
            f"Column names must be text; {bad[0]!r} is a {type(bad[0]).__name__}: "
            "rename with df.columns = df.columns.map(str)."
        )
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidInput(
                f"The column name {name!r} appears more than once; column names must be unique."
            )
        seen.add(name)


def row_ranges(rows: int, parent: dict[str, Any] | None) -> list[tuple[int, int]]:
    """Row ranges for a new version: the parent's where they still fit, then ``CHUNK_ROWS`` at a
    time.

    Example:
        >>> row_ranges(300_000, None)
        [(0, 131072), (131072, 262144), (262144, 300000)]
    """
    ranges: list[tuple[int, int]] = []
    start = 0
    if parent is not None:
        for a, b in parent["ranges"]:
            if b > rows or b == a:
                break
            ranges.append((a, b))
            start = b
    while start < rows:
        ranges.append((start, min(start + CHUNK_ROWS, rows)))
        start = ranges[-1][1]
    if len(ranges) > 2 * (rows // CHUNK_ROWS) + 4:  # many appends left small pieces: cut afresh
        return row_ranges(rows, None)
    return ranges or [(0, 0)]


class ChunkSink:
    """Writes new chunks to the object store (objects before rows), counting the bytes that were
    new."""

    def __init__(self, store: Store, known: dict[str, int]) -> None:
        self.objects = store.objects
        self.known = known  # digest -> size of chunks known to exist (the parent's)
        self.sizes: dict[str, int] = {}
        self.added = 0
        self._pending: dict[str, bytes] = {}
        self._pending_bytes = 0

    def put(self, data: bytes) -> str:
        digest = digest_bytes(data)
        if digest in self.sizes:
            return digest
        self.sizes[digest] = len(data)
        if digest in self.known:
            return digest
        if self.objects.local:
            if not self.objects.exists(digest):
                self.objects.put(data)
                self.added += len(data)
            return digest
        self._pending[digest] = data
        self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH_BYTES:
            self.flush()
        return digest

    def flush(self) -> None:
        new = [data for digest, data in self._pending.items() if not self.objects.exists(digest)]
        if new:
            self.objects.write_many(new)
            self.added += sum(len(d) for d in new)
        self._pending.clear()
        self._pending_bytes = 0


def _parts(df: pd.DataFrame) -> tuple[list[tuple[pd.Series, dict[str, Any]]], dict[str, Any]]:
    """(series, spec) of every stored column: data columns, then index levels unless the index is
    a range."""
    import pandas as pd  # lazy: start-up time

    parts = [
        (df.iloc[:, i], encoding.column_spec(df.iloc[:, i], name))
        for i, name in enumerate(df.columns)
    ]
    index = df.index
    if isinstance(index, pd.RangeIndex):
        return parts, {
            "kind": "range",
            "start": index.start,
            "step": index.step,
            "name": index.name,
        }
    levels = []
    for i in range(index.nlevels):
        level = pd.Series(index.get_level_values(i), index=None, copy=False)
        name = index.names[i]
        if name is not None and not isinstance(name, str):
            raise InvalidInput(
                f"Index level names must be text; {name!r} is a {type(name).__name__}."
            )
        spec = encoding.column_spec(level, name)
        spec["multi"] = isinstance(index, pd.MultiIndex)
        # a DatetimeIndex/TimedeltaIndex remembers its frequency
        if getattr(index, "freqstr", None):
            spec["freq"] = index.freqstr
        levels.append(spec)
        parts.append((level, spec))
    return parts, {"kind": "levels", "levels": levels}


def write_frame(
    store: Store, df: pd.DataFrame, parent: dict[str, Any] | None, label: str
) -> tuple[dict[str, Any], int]:
    """Store ``df``'s chunks; returns the manifest and the bytes that were new to the store.

    Example:
        >>> manifest, added = write_frame(store, df, None, "loans")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm  # lazy: start-up time

    check_frame(df)
    rows = len(df)
    parts, index = _parts(df)
    ranges = row_ranges(rows, parent)
    sink = ChunkSink(store, dict(parent.get("sizes", {})) if parent else {})
    chunks: list[list[str]] = [[] for _ in parts]
    # text in object columns: one Arrow type for every slice (refused here, before anything is
    # written)
    types = [
        encoding.to_arrow(series, spec["name"] or "index").type if series.dtype == object else None
        for series, spec in parts
    ]
    with tqdm(
        total=rows, desc=f"commit {label}", unit=" rows", leave=False, disable=rows < 4 * CHUNK_ROWS
    ) as bar:
        for a, b in ranges:
            for i, (series, spec) in enumerate(parts):
                array = encoding.to_arrow(series.iloc[a:b], spec["name"] or "index", types[i])
                chunks[i].append(sink.put(encoding.encode(array)))
            bar.update(b - a)
    sink.flush()
    for (series, spec), digests in zip(parts, chunks, strict=True):
        spec["chunks"] = digests
        spec["stats"] = column_stats(series)
    n_data = len(df.columns)
    manifest = {
        "format": FORMAT,
        "rows": rows,
        "ranges": [list(r) for r in ranges],
        "columns": [spec for _, spec in parts[:n_data]],
        "index": index,
        "column_index": {"name": df.columns.name, "dtype": str(df.columns.dtype)},
        "sizes": sink.sizes,
    }
    return manifest, sink.added


def content_digest(manifest: dict[str, Any]) -> str:
    """The identity of a table's content: types, index and chunks (not statistics or timings)."""

    def strip(spec: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in spec.items() if k != "stats"}

    index = manifest["index"]
    core = {
        "rows": manifest["rows"],
        "ranges": manifest["ranges"],
        "columns": [strip(c) for c in manifest["columns"]],
        "column_index": manifest["column_index"],
        "index": {**index, "levels": [strip(s) for s in index["levels"]]}
        if index["kind"] == "levels"
        else index,
    }
    return digest_bytes(json.dumps(core, sort_keys=True, separators=(",", ":")).encode())


def _fetch(store: Store, digests: list[str]) -> dict[str, Any]:
    unique = list(dict.fromkeys(digests))
    with ThreadPoolExecutor(max_workers=min(READERS, max(1, len(unique)))) as pool:
        arrays = pool.map(lambda d: encoding.decode(store.objects.get(d)), unique)
        return dict(zip(unique, arrays, strict=True))


def select_columns(
    manifest: dict[str, Any], columns: list[str] | None, ref: str
) -> list[dict[str, Any]]:
    """The manifest entries of ``columns`` (all when ``None``), or one sentence naming an unknown
    column."""
    if columns is None:
        return list(manifest["columns"])
    if isinstance(columns, str):
        columns = [columns]
    by_name = {c["name"]: c for c in manifest["columns"]}
    missing = [c for c in columns if c not in by_name]
    if missing:
        raise InvalidInput(
            f"{ref} has no column {missing[0]!r}; its columns are "
            f"{', '.join(list(by_name)[:8])}{', ...' if len(by_name) > 8 else ''}."
        )
    return [by_name[c] for c in columns]


def read_frame(
    store: Store,
    manifest: dict[str, Any],
    specs: list[dict[str, Any]],
    span: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """The frame of ``specs`` (and the index), over all row ranges or the ranges ``span`` picks."""
    import pandas as pd  # lazy: start-up time

    ranges = manifest["ranges"]
    picked = range(len(ranges)) if span is None else range(*span)
    index = manifest["index"]
    levels = index["levels"] if index["kind"] == "levels" else []
    wanted = [*specs, *levels]
    arrays = _fetch(store, [s["chunks"][i] for s in wanted for i in picked])
    columns = {}
    for spec in wanted:
        columns[id(spec)] = encoding.to_series(
            encoding.join([arrays[spec["chunks"][i]] for i in picked]), spec
        )
    first, last = (ranges[picked[0]][0], ranges[picked[-1]][1]) if picked else (0, 0)
    if index["kind"] == "range":
        step = index["step"]
        row_index: pd.Index = pd.RangeIndex(
            index["start"] + first * step, index["start"] + last * step, step, name=index["name"]
        )
    elif len(levels) == 1 and not levels[0].get("multi"):
        row_index = pd.Index(columns[id(levels[0])], name=levels[0]["name"])
        if levels[0].get("freq") and span is None:
            row_index.freq = levels[0]["freq"]
    else:
        row_index = pd.MultiIndex.from_arrays(
            [columns[id(s)] for s in levels], names=[s["name"] for s in levels]
        )
    data = {s["name"]: columns[id(s)].set_axis(row_index) for s in specs}
    frame = pd.DataFrame(data, index=row_index) if data else pd.DataFrame(index=row_index)
    info = manifest["column_index"]
    frame.columns = pd.Index([s["name"] for s in specs], dtype=info["dtype"], name=info["name"])
    return frame


def iter_frames(
    store: Store, manifest: dict[str, Any], specs: list[dict[str, Any]], rows: int
) -> Iterator[pd.DataFrame]:
    """The frame in pieces of ``rows`` rows (the last may be shorter), reading a few ranges at a
    time."""
    import pandas as pd  # lazy: start-up time

    if rows < 1:
        raise InvalidInput(f"Batches need at least one row, not {rows}.")
    carry: pd.DataFrame | None = None
    ranges = manifest["ranges"]
    per_read = max(1, rows // max(1, ranges[0][1] - ranges[0][0]))
    for start in range(0, len(ranges), per_read):
        piece = read_frame(store, manifest, specs, (start, min(start + per_read, len(ranges))))
        if carry is not None:
            piece = pd.concat([carry, piece])
        while len(piece) >= rows:
            yield piece.iloc[:rows]
            piece = piece.iloc[rows:]
        carry = piece
    if carry is not None and len(carry):
        yield carry
