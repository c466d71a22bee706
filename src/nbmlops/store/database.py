"""Create the SQLAlchemy engine for a workspace and make concurrent writers safe.

SQLite runs in WAL mode with a long busy timeout, and every write transaction
starts with ``BEGIN IMMEDIATE``: a deferred transaction that later tries to
write can fail with "database is locked" at once (the busy handler cannot help
a reader that must upgrade), while an immediate one waits its turn. PostgreSQL
needs nothing special; a read-only connection sets
``default_transaction_read_only``.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from ..errors import (
    IntegrityError,
    InvalidInput,
    MissingDependency,
    PermissionDenied,
    StoreUnavailable,
)
from ..redaction import redact

BUSY_TIMEOUT_S = 60.0
T = TypeVar("T")


def make_engine(url: str, *, readonly: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions.

    Example:
        >>> engine = make_engine("sqlite:////tmp/meta.db")  # doctest: +SKIP
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, readonly)
    if not url.startswith("postgresql"):
        raise InvalidInput(
            f"The database URL {redact(url)} is not supported; nbmlops keeps its metadata in "
            "SQLite (sqlite:///path) or PostgreSQL (postgresql+psycopg://user@host/db)."
        )
    connect_args: dict[str, object] = {}
    if url.startswith("postgresql"):
        connect_args["connect_timeout"] = 10
        if readonly:
            connect_args["options"] = "-c default_transaction_read_only=on"
    try:
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    except ImportError as e:  # a driver that is not installed
        raise MissingDependency(
            e.name or "the database driver", "postgres", f"The database {redact(url)}"
        ) from None
    except Exception as e:  # noqa: BLE001 - a malformed URL is a user error
        raise InvalidInput(
            f"The database URL {redact(url)} is not valid: {redact(str(e))}."
        ) from None


def _sqlite_engine(url: str, readonly: bool) -> Engine:
    if readonly and "mode=ro" not in url:
        path = url.split(":///", 1)[1].split("?", 1)[0]
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
    engine = create_engine(
        url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if not readonly:
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA case_sensitive_like = ON")  # LIKE behaves as on PostgreSQL
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # type: ignore[no-untyped-def]
        write = conn.get_execution_options().get("mlops_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_transient(exc: BaseException) -> bool:
    """Whether a database error is worth retrying (lock contention, serialisation, deadlock)."""
    if not isinstance(exc, DBAPIError):
        return False
    text = str(exc.orig).lower()
    code = getattr(exc.orig, "sqlstate", None)
    return (
        "database is locked" in text
        or "database table is locked" in text
        or code in ("40001", "40P01")  # serialization_failure, deadlock_detected
    )


def translate(exc: DBAPIError, url: str) -> Exception:
    """Turn a driver error into one sentence (password redacted) when it is the user's to fix."""
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    low = text.lower()
    code = str(getattr(exc.orig, "sqlstate", "") or "")
    if "readonly database" in low or "read-only transaction" in low or "read only" in low:
        return PermissionDenied("This workspace is open read-only; writes are refused.")
    if code == "42501":  # insufficient_privilege: a role without write grants (dashboards)
        return PermissionDenied(
            f"The database refused the write ({redact(text)}); this role may only read."
        )
    # data exception: NUL byte, value too long
    if isinstance(exc, DataError) or code.startswith("22"):
        return InvalidInput(f"The database cannot store a value given: {redact(text).rstrip('.')}.")
    if "file is not a database" in low or "disk image is malformed" in low:
        return IntegrityError(
            f"The database at {redact(url)} is damaged or not an SQLite file ({text}); "
            "restore it from a backup or point db_url at the right file."
        )
    if isinstance(exc, OperationalError) and any(
        s in low
        for s in (
            "unable to open",
            "could not connect",
            "connection refused",
            "connection failed",
            "timeout expired",
            "name or service not known",
            "does not exist",
            "no such host",
            "authentication failed",
            "disk i/o error",
        )
    ):
        return StoreUnavailable(f"Cannot reach the database at {redact(url)}: {redact(text)}.")
    return exc


@contextlib.contextmanager
# text decoded with surrogateescape: a file name in another encoding
def connection(engine: Engine, *, write: bool, url: str) -> Iterator[Connection]:
    """A connection inside one transaction, committed on success, rolled back on error."""
    try:
        conn = engine.connect()
    except DBAPIError as e:
        raise translate(e, url) from None
    try:
        if write:
            conn = conn.execution_options(mlops_write=True)
        with conn.begin():
            yield conn
    except DBAPIError as e:
        err = translate(e, url)
        if err is e:
            raise
        raise err from None
    except UnicodeEncodeError as e:
        bad = e.object[max(0, e.start - 20) : e.end + 20] if isinstance(e.object, str) else ""
        raise InvalidInput(
            f"Text that is not valid UTF-8 cannot be used ({bad!r}); "
            "rename the file or pass the text in another form."
        ) from None
    finally:
        conn.close()


def retrying(fn: Callable[[], T], *, attempts: int = 8) -> T:
    """Run ``fn`` again after a transient database error, with jittered back-off."""
    delay = 0.05
    for attempt in range(attempts):
        try:
            return fn()
        except DBAPIError as e:
            if not is_transient(e) or attempt == attempts - 1:
                raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 2.0)
    raise AssertionError("unreachable")  # pragma: no cover


def dialect_insert(conn: Connection):  # type: ignore[no-untyped-def]
    """The ``insert`` construct with ``on_conflict_do_*`` for this connection's database.

    SQLite and PostgreSQL share the ``INSERT ... ON CONFLICT`` syntax, so one code
    path serves both.
    """
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # lazy: start-up time
    else:
        from sqlalchemy.dialects.sqlite import insert  # lazy: start-up time
    return insert
