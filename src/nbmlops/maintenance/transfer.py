"""Copy a workspace's whole history to another store: the move from one machine to PostgreSQL and
S3.

``mlops copy --db-url postgresql+psycopg://... --objects-url s3://bucket/prefix``
migrates the target database to the current schema, copies every object first
(re-hashed on the way, so damage is not carried over) and then every row, table by
table in foreign-key order, in ONE target transaction: an interrupted copy leaves
the target without rows and can simply be run again. Ids, times and the audit
chain are kept as they are, so run ids, references and ``mlops audit verify`` stay
valid. ``--switch`` then points this workspace's ``config.toml`` at the new store.
"""

from __future__ import annotations

import dataclasses
import time
import tomllib
from typing import TYPE_CHECKING

from ..errors import Conflict, InvalidInput
from ..redaction import redact
from ..result import Block, Fields, Heading, Note, Result, Table, fmt_bytes, fmt_duration
from ..store import Store as StoreClass
from ..store import forget_stores, meta
from ..workspace import Config, Workspace, open_current

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy import Table as SqlTable

    from ..store import Store

BATCH_ROWS = 1000
# any row here: not empty
CONTENT_TABLES = (
    "runs",
    "datasets",
    "models",
    "evaluations",
    "monitors",
    "jobs",
)


@dataclasses.dataclass(repr=False)
class WorkspaceCopy(Result):
    """What a copy moved: rows per table, objects and bytes, and where to."""

    db_url: str
    objects_url: str
    rows: dict[str, int]
    objects: int
    objects_bytes: int
    seconds: float
    switched: bool

    def blocks(self) -> list[Block]:
        out: list[Block] = [
            Heading("Workspace copied", 2),
            Fields(
                [
                    ("database", self.db_url),
                    ("objects", self.objects_url),
                    ("rows", sum(self.rows.values())),
                    ("objects copied", f"{self.objects} ({fmt_bytes(self.objects_bytes)})"),
                    ("took", fmt_duration(self.seconds)),
                ]
            ),
            Table(["table", "rows"], [[name, count] for name, count in self.rows.items() if count]),
        ]
        if self.switched:
            out.append(Note("This workspace now uses the new store (config.toml updated).", "ok"))
        else:
            out.append(
                Note(
                    "This workspace still uses its old store; run again with --switch, or set "
                    "MLOPS_DB_URL "
                    "and MLOPS_OBJECTS_URL, to use the copy.",
                    "info",
                )
            )
        return out


def _target_store(store: Store, db_url: str, objects_url: str) -> Store:

    config = dataclasses.replace(store.workspace.config, db_url=db_url, objects_url=objects_url)
    return StoreClass(Workspace(store.workspace.root, config))


def _check_empty(target: Store) -> None:
    from sqlalchemy import func, select  # lazy: start-up time

    with target.read() as conn:
        for name in (*CONTENT_TABLES, "audit_events"):
            if conn.execute(
                select(func.count()).select_from(meta.metadata.tables[name])
            ).scalar_one():
                raise Conflict(
                    f"The target database already holds {name}; copy into an empty database so "
                    "no history "
                    "is mixed."
                )


def _copy_objects(store: Store, target: Store) -> tuple[int, int]:
    from tqdm.auto import tqdm  # lazy: start-up time

    copied = size = 0
    digests = list(store.objects)
    for digest in tqdm(digests, desc="objects", unit="obj", disable=not digests, leave=False):
        if target.objects.exists(digest):
            continue
        data = store.objects.get(digest, verify=True)  # damage stops the copy instead of spreading
        target.objects.put(data)
        copied, size = copied + 1, size + len(data)
    return copied, size


def _self_references(table: SqlTable) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _copy_table(source: Connection, target: Connection, table: SqlTable) -> int:
    from sqlalchemy import bindparam, select, update  # lazy: start-up time

    own = _self_references(table)
    key = list(table.primary_key.columns)
    rows = [dict(r._mapping) for r in source.execute(select(table).order_by(*key))]
    # a row may point at a later row of its own table (a parent run): insert without, then set the
    # links
    for start in range(0, len(rows), BATCH_ROWS):
        batch = [{**r, **dict.fromkeys(own)} for r in rows[start : start + BATCH_ROWS]]
        target.execute(table.insert(), batch)
    for column in own:
        linked = [
            {"_key": r[key[0].name], "_link": r[column]} for r in rows if r[column] is not None
        ]
        if linked:
            target.execute(
                update(table)
                .where(key[0] == bindparam("_key"))
                .values({column: bindparam("_link")}),
                linked,
            )
    return len(rows)


def _reset_sequences(target: Connection, table: SqlTable) -> None:
    from sqlalchemy import Integer, text  # lazy: start-up time

    for column in table.primary_key.columns:
        if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
            target.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"
                )
            )


def _switch(store: Store, db_url: str, objects_url: str) -> None:

    path = store.workspace.mlops_dir / "config.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    raw.update(db_url=db_url, objects_url=objects_url)
    path.write_text(Config(**raw).dump(), encoding="utf-8")


def copy_workspace(
    db_url: str, objects_url: str, *, switch: bool = False, store: Store | None = None
) -> WorkspaceCopy:
    """Copy every object and row of this workspace to another database and object store.

    Example:
        >>> copy_workspace("postgresql+psycopg://ml@db/ml", "s3://team-ml/store",
        ...                switch=True)  # doctest: +SKIP
    """

    for name, value in (("--db-url", db_url), ("--objects-url", objects_url)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{name} must name where to copy to.")
    store = store or open_current()
    target = _target_store(store, db_url, objects_url)
    if target.db_url == store.db_url:
        raise InvalidInput(
            "The target database is this workspace's own database; name another one."
        )
    try:
        return _copy_into(store, target, switch)
    finally:
        target.close()


def _copy_into(store: Store, target: Store, switch: bool) -> WorkspaceCopy:
    from sqlalchemy import func, select  # lazy: start-up time

    _check_empty(target)
    started = time.perf_counter()
    objects, size = _copy_objects(store, target)
    counts: dict[str, int] = {}
    tables = [t for t in meta.metadata.sorted_tables if t.name != "alembic_version"]
    with store.read() as source, target.write() as conn:
        # rows a migration seeds (the audit chain's head) give way to the source's
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            counts[table.name] = _copy_table(source, conn, table)
            if target.dialect == "postgresql":
                _reset_sequences(conn, table)
        # the copied chain goes on in the target: the copy itself is its next event
        target.audit(
            conn,
            "workspace.copy",
            "workspace",
            str(store.workspace.root),
            source_db=redact(store.db_url),
            source_objects=redact(store.objects.url),
            rows=sum(counts.values()),
            objects=objects,
        )
    counts["audit_events"] += 1
    with target.read() as conn:
        landed = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }
    if landed != counts:
        lost = next(name for name in counts if landed[name] != counts[name])
        raise Conflict(
            f"The copy of {lost} does not match ({landed[lost]} of {counts[lost]} rows); "
            "something wrote "
            "to the target meanwhile."
        )
    if switch:
        _switch(store, target.workspace.config.db_url, target.workspace.config.objects_url)
        forget_stores()
    return WorkspaceCopy(
        redact(target.db_url),
        redact(target.objects.url),
        counts,
        objects,
        size,
        time.perf_counter() - started,
        switch,
    )


__all__ = ["WorkspaceCopy", "copy_workspace"]
