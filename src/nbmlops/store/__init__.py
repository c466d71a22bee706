"""The store: metadata (SQLAlchemy), objects (fsspec) and the audit trail, opened together.

Services get a :class:`Store` from :func:`open_store` and use ``read()`` /
``write()`` transactions; a write that records something also appends its audit
event through :meth:`Store.audit` in the same transaction. Objects are always
written before the rows that reference them.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..errors import PermissionDenied
from ..redaction import redact
from . import audit_chain as _audit
from .database import connection, make_engine
from .identity import current_user
from .migrate import ensure_schema
from .objects import ObjectStore

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["Store", "open_store", "forget_stores"]


class Store:
    """One workspace's metadata database, object store and audit trail.

    Example:
        >>> store = Workspace.find().store()  # doctest: +SKIP
        >>> with store.read() as conn:        # doctest: +SKIP
        ...     conn.execute(select(meta.runs.c.id)).all()
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.readonly = workspace.readonly
        self.db_url = workspace.db_url
        if self.db_url.startswith("sqlite:///") and not self.readonly:
            path = self.db_url.split(":///", 1)[1].split("?", 1)[0]
            if path and not path.startswith("file:") and path != ":memory:":
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.engine = make_engine(self.db_url, readonly=self.readonly)
        ensure_schema(self.engine, self.db_url, readonly=self.readonly)
        self.objects = ObjectStore(workspace.objects_url, workspace.config.objects_options)

    def __repr__(self) -> str:
        return f"Store(db={redact(self.db_url)!r}, objects={redact(self.objects.url)!r})"

    @property
    def user(self) -> str:
        return current_user()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction."""
        with connection(self.engine, write=False, url=self.db_url) as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (immediate on SQLite, so it waits rather than fails under
        contention)."""
        if self.readonly:
            raise PermissionDenied("This workspace is open read-only; writes are refused.")
        with connection(self.engine, write=True, url=self.db_url) as conn:
            yield conn

    def audit(
        self, conn: Connection, action: str, entity_type: str, entity_id: str, **payload: Any
    ) -> int:
        """Append an audit event inside the caller's write transaction."""
        return _audit.append(
            conn,
            username=self.user,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            payload=payload,
        )

    def close(self) -> None:
        self.engine.dispose()


_stores: dict[tuple[str, str, bool, str], Store] = {}
_lock = threading.Lock()


def open_store(workspace: Workspace) -> Store:
    """The store for a workspace, opened once per process and configuration."""
    key = (
        workspace.db_url,
        workspace.objects_url,
        workspace.readonly,
        json.dumps(workspace.config.objects_options, sort_keys=True),
    )
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = Store(workspace)
        return store


def forget_stores() -> None:
    """Close every cached store (tests, and child processes after a fork)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def _after_fork() -> None:
    # a forked child must not share the parent's pooled connections
    for store in _stores.values():
        store.engine.dispose(close=False)
    _stores.clear()


os.register_at_fork(after_in_child=_after_fork)
