"""``mlops audit log`` and ``mlops audit verify``."""

from __future__ import annotations

import click

from ..maintenance.audit import audit_log, verify_audit
from ..result import Result
from . import Group


@click.group(cls=Group)
def audit() -> None:
    """Read and verify the append-only, hash-chained audit trail."""


@audit.command("log")
@click.option(
    "--entity",
    "-e",
    metavar="TYPE[:ID]",
    help="Only events about this entity, e.g. run or run:3f2a.",
)
@click.option(
    "--action", "-a", metavar="ACTION", help="Only this action; * matches anything, e.g. run.*."
)
@click.option("--user", "-u", metavar="USER", help="Only events by this user.")
@click.option(
    "--since",
    metavar="WHEN",
    help="Only events since then: 2d, 90min, 2026-11-01 or 2026-11-01T09:30.",
)
@click.option("--limit", "-n", default=50, show_default=True, help="Events per page.")
@click.option("--offset", default=0, show_default=True, help="Events to skip (for the next pages).")
def log(
    entity: str | None,
    action: str | None,
    user: str | None,
    since: str | None,
    limit: int,
    offset: int,
) -> Result:
    """List audit events, newest first."""

    return audit_log(entity, action, user, since, limit, offset)


@audit.command()
@click.option(
    "--anchor", metavar="SEQ:HASH", help="A head printed by an earlier verify; it must still match."
)
def verify(anchor: str | None) -> Result:
    """Re-hash the whole chain; exits 1 and names the first edited, deleted or reordered event."""

    return verify_audit(anchor)
