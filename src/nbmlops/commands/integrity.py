"""``mlops fsck`` and ``mlops gc``."""

from __future__ import annotations

import click

from ..maintenance.integrity import fsck as check
from ..maintenance.integrity import gc as collect
from ..result import Result


@click.command()
@click.option("--quick", is_flag=True, help="Check references only; do not re-hash every object.")
def fsck(quick: bool) -> Result:
    """Re-hash every object and check every reference; exits 1 and names what is affected on
    damage."""

    return check(rehash=not quick)


@click.command()
@click.option(
    "--grace",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="Keep unreferenced objects younger than this (e.g. 1h, 30min, 2d).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
def gc(grace: str, dry_run: bool) -> Result:
    """Remove objects nothing references (older than the grace period) and stale temporary files."""

    return collect(grace=grace, dry_run=dry_run)
