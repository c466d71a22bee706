"""``mlops init`` and ``mlops status``."""

from __future__ import annotations

import click

from ..result import Result


@click.command()
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--db-url", help="Metadata database URL (default sqlite:///.mlops/meta.db).")
@click.option("--objects-url", help="Object store URL: a folder or s3://bucket/prefix (default .mlops/objects).")
def init(path: str | None, db_url: str | None, objects_url: str | None) -> Result:
    """Create a workspace (.mlops/) in PATH; running it again changes nothing.

    PATH defaults to $MLOPS_HOME when it is set, else the current folder.
    """
    from ..workspace import init_workspace

    return init_workspace(path, db_url=db_url, objects_url=objects_url)  # type: ignore[no-any-return]


@click.command()
@click.option("--readonly", is_flag=True, help="Open the workspace read-only.")
def status(readonly: bool) -> Result:
    """Show the current workspace: where it is, what stores it, what it holds."""
    from ..workspace import status as workspace_status

    return workspace_status(readonly=readonly)  # type: ignore[no-any-return]
