"""``commit``: a DataFrame, a CSV/Parquet file, or files and folders as the next version of a
dataset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound
from ..refs import check_name
from ..store.database import retrying
from ..workspace import open_current
from . import files, tables
from .versions import Written, check_message, latest_manifest, put_manifest, record, run_of
from .views import CommitResult

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


def read_table_file(path: Path) -> pd.DataFrame:
    """A CSV, TSV or Parquet file as a DataFrame, or one sentence saying why not.

    Example:
        >>> read_table_file(Path("loans.parquet"))  # doctest: +SKIP
    """
    import pandas as pd  # lazy: start-up time

    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise InvalidInput(
            f"{path} is not a CSV or Parquet file; commit it with --files to version it as a file."
        )
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (OSError, ValueError, ImportError) as e:
        what = "Parquet" if suffix in (".parquet", ".pq") else "CSV"
        raise InvalidInput(
            f"Cannot read {path} as {what}: {str(e).splitlines()[0].rstrip('.')}."
        ) from None


def _what(data: Any, kind: str | None) -> tuple[str, Any, str]:
    """(kind, what to store, label) for the thing given to commit."""
    import pandas as pd  # lazy: start-up time

    if kind not in (None, "table", "files"):
        raise InvalidInput(f"kind must be 'table' or 'files', not {kind!r}.")
    if isinstance(data, pd.DataFrame):
        if kind == "files":
            raise InvalidInput(
                "A DataFrame is committed as a table; --files is for files and folders."
            )
        return "table", data, "DataFrame"
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if not path.exists():
            raise NotFound(f"No file or folder is called {str(data)!r}.")
        if (
            path.is_dir()
            or kind == "files"
            or (kind is None and path.suffix.lower() not in TABLE_SUFFIXES)
        ):
            if kind == "table":
                raise InvalidInput(f"{path} is a folder; a table is a CSV or Parquet file.")
            return "files", path, str(path)
        return "table", read_table_file(path), str(path)
    raise InvalidInput(
        "Only a DataFrame, a CSV/Parquet file or a folder can be committed, not "
        f"{type(data).__name__}."
    )


def commit(
    data: Any, name: str, *, message: str = "", kind: str | None = None, store: Store | None = None
) -> CommitResult:
    """Store ``data`` as the next version of ``name``; the same content as the newest version adds
    nothing.

    ``data`` is a DataFrame, a CSV/TSV/Parquet path (a table) or any other file
    or folder (files). Inside a run, the run is recorded as the version's producer.

    Example:
        >>> mo.data.commit(df, "loans", message="Q3 refresh")  # doctest: +SKIP
        loans@4  (1,200,000 rows, 14 columns, 38.0 MB new of 310.0 MB)
    """
    check_name(name)
    check_message(message)
    kind, value, label = _what(data, kind)
    store = store or open_current()
    parent = latest_manifest(store, name, kind)
    if kind == "table":
        manifest, added = tables.write_frame(store, value, parent, name)
        digest, rows, columns = (
            tables.content_digest(manifest),
            manifest["rows"],
            len(manifest["columns"]),
        )
        total = sum(manifest["sizes"].values())
    else:
        manifest, added = files.write_files(store, value, parent)
        digest, rows, columns, total = (
            files.content_digest(manifest),
            len(manifest["files"]),
            None,
            manifest["bytes"],
        )
    # objects first, then the row
    manifest_digest, manifest_size, new_manifest = put_manifest(store, manifest)
    total += manifest_size
    run_id = run_of(store)
    written = Written(
        kind, manifest_digest, digest, rows, columns, total, added + manifest_size * new_manifest
    )
    info, new = retrying(lambda: record(store, name, written, message, run_id))
    return CommitResult(
        ref=info.ref,
        kind=kind,
        source=label,
        rows=rows,
        columns=columns,
        bytes_added=written.bytes_added if new else 0,
        bytes_total=total,
        unchanged=not new,
        digest=digest,
        message=message,
        run_id=run_id,
    )
