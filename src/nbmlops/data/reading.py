"""Reading versions back: ``load`` (a DataFrame), ``iter_batches`` (streamed), ``checkout`` (to
disk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidInput
from ..workspace import open_current
from . import files, tables
from .versions import VersionInfo, read_manifest, record_input, resolve

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store


def table_version(ref: str, store: Store) -> tuple[VersionInfo, dict[str, Any]]:
    info = resolve(ref, store=store)
    if info.kind != "table":
        raise InvalidInput(
            f"{info.ref} holds files, not a table; restore them with "
            f"`data load {info.ref} --output FOLDER` or mo.data.checkout({info.ref!r}, 'folder')."
        )
    return info, read_manifest(store, info.manifest)


def load(ref: str, columns: list[str] | None = None, *, store: Store | None = None) -> pd.DataFrame:
    """The DataFrame of a version, exactly as committed (dtypes and index included).

    Inside a run, the run is recorded as having read this version.

    Example:
        >>> df = mo.data.load("loans@3", columns=["amount", "region"])  # doctest: +SKIP
    """
    store = store or open_current()
    info, manifest = table_version(ref, store)
    frame = tables.read_frame(store, manifest, tables.select_columns(manifest, columns, info.ref))
    record_input(store, info)
    return frame


def iter_batches(
    ref: str, columns: list[str] | None = None, rows: int = 100_000, *, store: Store | None = None
) -> Iterator[pd.DataFrame]:
    """A version in DataFrames of ``rows`` rows, reading a few chunks at a time (never all at once).

    Example:
        >>> for batch in mo.data.iter_batches("loans@latest", rows=250_000):  # doctest: +SKIP
        ...     total += batch["amount"].sum()
    """
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
        raise InvalidInput(f"Batches need a whole number of rows above zero, not {rows!r}.")
    store = store or open_current()
    info, manifest = table_version(ref, store)
    specs = tables.select_columns(manifest, columns, info.ref)
    record_input(store, info)
    return tables.iter_frames(store, manifest, specs, rows)


def checkout(
    ref: str, path: str | Path, *, force: bool = False, store: Store | None = None
) -> Path:
    """Write a version to disk: a table as Parquet or CSV (by the suffix), files under a folder.

    Example:
        >>> mo.data.checkout("scans@2", "scans/")  # doctest: +SKIP
    """
    store = store or open_current()
    info = resolve(ref, store=store)
    target = Path(path)
    manifest = read_manifest(store, info.manifest)
    if info.kind == "files":
        if target.exists() and not target.is_dir():
            raise InvalidInput(
                f"{info.ref} holds files; give a folder to restore them into, not the file "
                f"{target}."
            )
        files.restore_files(store, manifest, target, force=force)
        record_input(store, info)
        return target
    suffix = target.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv", ".tsv"):
        raise InvalidInput(f"Give a .parquet or .csv path to write {info.ref} to, not {target}.")
    if target.exists() and not force:
        raise Conflict(f"{target} already exists; choose another path or add --force.")
    frame = tables.read_frame(store, manifest, manifest["columns"])
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".mlops-tmp")
    if suffix in (".parquet", ".pq"):
        frame.to_parquet(tmp)
    else:
        keep_index = manifest["index"]["kind"] != "range"
        frame.to_csv(tmp, sep="\t" if suffix == ".tsv" else ",", index=keep_index)
    tmp.replace(target)
    record_input(store, info)
    return target
