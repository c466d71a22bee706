"""``mlops init`` and ``mlops status``."""

from __future__ import annotations

import click

from ..maintenance.transfer import copy_workspace
from ..result import Result
from ..workspace import init_workspace
from ..workspace import status as workspace_status


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--db-url", help="Metadata database URL (default sqlite:///.mlops/meta.db).")
@click.option(
    "--objects-url",
    help="Object store URL: a folder or s3://bucket/prefix (default .mlops/objects).",
)
def init(path: str | None, db_url: str | None, objects_url: str | None) -> Result:
    """Create a workspace (.mlops/) in PATH; running it again changes nothing.

    PATH defaults to $MLOPS_HOME when it is set, else the current folder.
    """

    return init_workspace(path, db_url=db_url, objects_url=objects_url)  # type: ignore[no-any-return]


@click.command()
@click.option("--readonly", is_flag=True, help="Open the workspace read-only.")
def status(readonly: bool) -> Result:
    """Show the current workspace: where it is, what stores it, what it holds."""

    return workspace_status(readonly=readonly)  # type: ignore[no-any-return]


@click.command(name="copy")
@click.option(
    "--db-url",
    required=True,
    help="The database to copy to (empty): postgresql+psycopg://user@host/db.",
)
@click.option(
    "--objects-url",
    required=True,
    help="The object store to copy to: s3://bucket/prefix or a folder.",
)
@click.option(
    "--switch", is_flag=True, help="Afterwards point this workspace's config.toml at the copy."
)
def copy(db_url: str, objects_url: str, switch: bool) -> Result:
    """Copy this workspace's whole history (every row and object) to another database and object
    store.

    Use it to move from the embedded SQLite + folder store to a shared PostgreSQL + S3
    store. Ids, references and the audit chain are kept; the target must be empty.
    """

    return copy_workspace(db_url, objects_url, switch=switch)
