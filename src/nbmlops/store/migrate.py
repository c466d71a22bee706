"""Bring a database to the current schema with Alembic, in-process.

Opening a store only reads ``alembic_version`` (one cheap query); Alembic itself
is imported only when the schema is missing or older than this package.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from ..errors import StoreUnavailable
from ..redaction import redact
from .database import connection

HEAD = "0001"
SCRIPTS = Path(__file__).with_name("migrations")


def current_revision(conn: Connection) -> str | None:
    """The schema revision stored in the database, or ``None`` for an empty database."""
    try:
        with conn.begin_nested():
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def _config(conn: Connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config  # lazy: start-up time

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = conn
    return cfg


def script_head() -> str:
    """The newest revision among the migration scripts shipped with the package."""
    from alembic.script import ScriptDirectory  # lazy: start-up time

    cfg = _config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, url: str) -> None:
    """Run the migrations up to ``HEAD`` in one write transaction (serialised across processes)."""
    from alembic import command  # lazy: start-up time

    with connection(engine, write=True, url=url) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(7305520187)"))
        if current_revision(conn) == HEAD:  # another process got here first
            return
        command.upgrade(_config(conn), "head")


def ensure_schema(engine: Engine, url: str, *, readonly: bool) -> None:
    """Check the schema revision and migrate if needed (never on a read-only store)."""
    with connection(engine, write=False, url=url) as conn:
        revision = current_revision(conn)
    if revision == HEAD:
        return
    if readonly:
        what = (
            "has no nbmlops tables" if revision is None else f"is at schema {revision}, not {HEAD}"
        )
        raise StoreUnavailable(
            f"The database at {redact(url)} {what}; open it once with write access (mlops "
            "status) to migrate it."
        )
    upgrade(engine, url)
