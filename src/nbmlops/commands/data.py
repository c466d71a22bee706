"""``mlops data ...`` / ``%mlops data ...``: versions of DataFrames, files and folders."""

from __future__ import annotations

import os
from typing import Any

import click

from ..data.committing import commit as commit_
from ..data.comparison import diff as diff_
from ..data.provenance import lineage as lineage_
from ..data.reading import checkout
from ..data.reading import load as load_
from ..data.validation import infer_schema
from ..data.validation import validate as validate_
from ..data.versions import remove_tag, set_tag
from ..data.views import list_datasets
from ..data.views import log as log_
from ..data.views import show as show_
from ..errors import InvalidInput, NotFound
from ..result import Message, Result
from . import Group, resolve, session


def _source(name: str) -> Any:
    """A notebook DataFrame called ``name``, else the path ``name`` (checked to exist)."""

    value = resolve(name)
    if not isinstance(value, str):
        return value
    if not os.path.exists(value):
        where = "variable, file or folder" if session().in_notebook else "file or folder"
        raise NotFound(f"No {where} is called {name!r}.")
    return value


@click.group(cls=Group)
def data() -> None:
    """Version DataFrames, CSV/Parquet files and whole folders; diff, validate, tag and trace them.

    References read loans@3 (a version), loans@latest (or loans), loans@prod
    (a tag) or loans@3f2a9c (a digest prefix).
    """


@data.command()
@click.argument("source")
@click.option("--name", "-n", required=True, help="Dataset name (letters, digits, '_', '.', '-').")
@click.option("--message", "-m", default="", help="What changed in this version.")
@click.option(
    "--files",
    "as_files",
    is_flag=True,
    help="Version a CSV/Parquet file as a file, not as a table.",
)
def commit(source: str, name: str, message: str, as_files: bool) -> Result:
    """Commit a DataFrame (notebook), a CSV/Parquet file, or any file or folder as the next
    version."""

    return commit_(_source(source), name, message=message, kind="files" if as_files else None)


@data.command("list")
def list_() -> Result:
    """List datasets with their newest version, size and tags."""

    return list_datasets()


@data.command()
@click.argument("name")
def log(name: str) -> Result:
    """Show a dataset's history: version, when, who, message, rows, columns, bytes added."""

    return log_(name)


@data.command()
@click.argument("ref")
def show(ref: str) -> Result:
    """Show one version: provenance, tags, and its schema with per-column statistics (or its
    files)."""

    return show_(ref)


@data.command()
@click.argument("a")
@click.argument("b")
@click.option(
    "--key", "-k", default=None, help="A column naming each row: adds rows added/removed/changed."
)
@click.option(
    "--sample",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Rows (or files) shown per kind of change.",
)
def diff(a: str, b: str, key: str | None, sample: int) -> Result:
    """Compare two versions: schema, row counts, per-column statistics; with --key, the rows that
    changed.

    Two versions of files compare by path: files added, removed and changed.
    """

    return diff_(a, b, key=key, sample=sample)


@data.command()
@click.argument("ref")
@click.option(
    "--into",
    "variable",
    metavar="NAME",
    help="In a notebook: load the DataFrame into this variable.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    help="Write a table to a .parquet/.csv file, or files into a folder.",
)
@click.option("--columns", "-c", default=None, metavar="A,B", help="Only these columns (tables).")
@click.option("--force", is_flag=True, help="Overwrite what is already at --output.")
def load(
    ref: str, variable: str | None, output: str | None, columns: str | None, force: bool
) -> Result:
    """Load a version: into a notebook variable (--into) or onto disk (--output)."""

    s = session()
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if variable is not None:
        if not s.in_notebook:
            raise InvalidInput("--into works in a notebook; on the command line use --output PATH.")
        if not variable.isidentifier():
            raise InvalidInput(f"{variable!r} is not a valid variable name.")
        frame = load_(ref, columns=chosen)
        assert s.namespace is not None
        s.namespace[variable] = frame
        return Message(
            f"Loaded {ref} into `{variable}` ({len(frame):,} rows, {frame.shape[1]} columns).", "ok"
        )
    if output is None:
        raise InvalidInput("Say where the data goes: --output PATH (or --into NAME in a notebook).")
    if chosen is not None:
        raise InvalidInput("--columns works with --into; --output writes the whole version.")
    path = checkout(ref, output, force=force)
    return Message(f"Wrote {ref} to {path}.", "ok")


@data.command()
@click.argument("source")
@click.option(
    "--against", "-a", required=True, metavar="REF", help="The version whose schema is expected."
)
def validate(source: str, against: str) -> Result:
    """Check data against the schema of a version; every discrepancy at once (exit 1 when any)."""

    value = resolve(source)
    return validate_(value, against, label=source)


@data.command()
@click.argument("ref")
def schema(ref: str) -> Result:
    """Show the schema inferred from a version: types, nulls, ranges, allowed values, uniqueness."""

    return infer_schema(ref)


@data.command()
@click.argument("ref")
@click.argument("tag")
@click.option(
    "--remove", is_flag=True, help="Delete the tag instead (REF is then the dataset name)."
)
def tag(ref: str, tag: str, remove: bool) -> Result:
    """Point a tag at a version (loans@prod then resolves to it); moving a tag is recorded."""

    if remove:
        old = remove_tag(ref.partition("@")[0], tag)
        return Message(f"Removed tag {tag!r} (it pointed at version {old}).", "ok")
    info, old = set_tag(ref, tag)
    moved = f" (moved from version {old})" if old is not None and old != info.version else ""
    return Message(f"{info.name}@{tag} now resolves to {info.ref}{moved}.", "ok")


@data.command()
@click.argument("ref")
def lineage(ref: str) -> Result:
    """Show the runs that produced a version (and what they read) and the runs that read it."""

    return lineage_(ref)
