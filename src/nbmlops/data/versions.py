"""Dataset versions in the store: resolve references, commit new versions, move tags, record reads.

A version row points at a manifest object (written first); its ``digest`` is
the content's identity, so committing what the newest version already holds
adds nothing. Versions of one dataset are numbered 1, 2, 3, ... under a row
lock on the dataset (PostgreSQL) or the database's single writer (SQLite), so
concurrent commits get distinct, ordered numbers.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row, func, insert, select

from ..errors import Ambiguous, Conflict, InvalidInput, NotFound
from ..refs import check_name, check_selector_name, parse_ref, row_named
from ..store.database import dialect_insert
from ..store.meta import dataset_tags, dataset_versions, datasets, lineage
from ..tracking.runs import active_run
from ..workspace import open_current

if TYPE_CHECKING:
    from ..store import Store

DIGEST_PREFIX = re.compile(r"^[0-9a-f]{4,64}$")


@dataclasses.dataclass(frozen=True)
class VersionInfo:
    """The identity of one dataset version; ``ref`` is the pinned ``name@N``."""

    id: int
    name: str
    version: int
    digest: str
    rows: int | None
    columns: int | None
    ref: str
    created_at: float
    kind: str = "table"
    manifest: str = ""
    dataset_id: int = 0


def _info(row: Row, name: str, kind: str) -> VersionInfo:  # type: ignore[type-arg]
    return VersionInfo(
        row.id,
        name,
        row.version,
        row.digest,
        row.rows,
        row.columns,
        f"{name}@{row.version}",
        row.created_at,
        kind,
        row.manifest,
        row.dataset_id,
    )


def dataset_row(conn: Connection, name: str) -> Row:  # type: ignore[type-arg]
    """The ``datasets`` row called ``name``, or one sentence listing a few that exist."""
    return row_named(
        conn,
        datasets,
        name,
        missing=f"No dataset is named {name!r}",
        known="datasets",
        none="none is committed yet (data commit)",
    )


def find(conn: Connection, ref: object) -> VersionInfo:
    """Resolve ``name@N``, ``name@latest``, ``name@tag`` or ``name@<digest prefix>`` inside a
    transaction."""
    parsed = parse_ref(ref, "dataset")
    ds = dataset_row(conn, parsed.name)
    query = select(dataset_versions).where(dataset_versions.c.dataset_id == ds.id)
    selector = parsed.selector
    if parsed.version is not None:
        row = conn.execute(query.where(dataset_versions.c.version == parsed.version)).first()
        if row is None:
            newest = conn.execute(
                select(func.max(dataset_versions.c.version)).where(
                    dataset_versions.c.dataset_id == ds.id
                )
            ).scalar()
            raise NotFound(
                f"{parsed.name} has versions 1 to {newest}; there is no "
                f"{parsed.name}@{parsed.version}."
            )
        return _info(row, ds.name, ds.kind)
    if selector == "latest":
        row = conn.execute(query.order_by(dataset_versions.c.version.desc()).limit(1)).first()
    else:
        row = conn.execute(
            query.join(dataset_tags, dataset_tags.c.version_id == dataset_versions.c.id).where(
                dataset_tags.c.dataset_id == ds.id, dataset_tags.c.tag == selector
            )
        ).first()
        if row is None and DIGEST_PREFIX.match(selector):
            rows = conn.execute(
                query.where(dataset_versions.c.digest.like(selector + "%")).order_by(
                    dataset_versions.c.version.desc()
                )
            ).all()
            if len({r.digest for r in rows}) > 1:
                shown = ", ".join(f"@{r.version}" for r in rows[:5])
                raise Ambiguous(
                    f"The digest prefix {selector!r} matches several versions of {ds.name} "
                    f"({shown}); "
                    "give more characters."
                )
            row = rows[0] if rows else None
    if row is None:
        tags = (
            conn.execute(
                select(dataset_tags.c.tag)
                .where(dataset_tags.c.dataset_id == ds.id)
                .order_by(dataset_tags.c.tag)
            )
            .scalars()
            .all()
        )
        known = f"; its tags are {', '.join(tags)}" if tags else "; it has no tags"
        raise NotFound(f"{ds.name} has no version, tag or digest {selector!r}{known}.")
    return _info(row, ds.name, ds.kind)


def resolve(ref: str, *, store: Store | None = None) -> VersionInfo:
    """The version a reference names, pinned (``info.ref`` is ``name@N``).

    Example:
        >>> mo.data.resolve("loans@prod").ref  # doctest: +SKIP
        'loans@4'
    """
    store = store or open_current()
    with store.read() as conn:
        return find(conn, ref)


_manifests: dict[str, dict[str, Any]] = {}
_manifests_lock = threading.Lock()


def read_manifest(store: Store, digest: str) -> dict[str, Any]:
    """A manifest by digest (immutable, so kept in memory once read)."""
    with _manifests_lock:
        cached = _manifests.get(digest)
    if cached is not None:
        return cached
    manifest: dict[str, Any] = json.loads(store.objects.get(digest))
    with _manifests_lock:
        if len(_manifests) > 64:
            _manifests.clear()
        _manifests[digest] = manifest
    return manifest


def put_manifest(store: Store, manifest: dict[str, Any]) -> tuple[str, int, bool]:
    """Store a manifest object; returns its digest, its size and whether it was new."""
    data = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    digest, new = store.objects.put_new(data)
    return digest, len(data), new


@dataclasses.dataclass
class Written:
    """What a commit stored: the manifest object, the content digest and the sizes."""

    kind: str
    manifest: str
    digest: str
    rows: int | None
    columns: int | None
    bytes_total: int
    bytes_added: int


def latest_manifest(store: Store, name: str, kind: str) -> dict[str, Any] | None:
    """The newest version's manifest of ``name`` (the parent of the next commit), if it holds
    ``kind``."""
    with store.read() as conn:
        row = conn.execute(
            select(dataset_versions.c.manifest, datasets.c.kind)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(datasets.c.name == name)
            .order_by(dataset_versions.c.version.desc())
            .limit(1)
        ).first()
    if row is None or row.kind != kind:
        return None
    return read_manifest(store, row.manifest)


def record(
    store: Store, name: str, written: Written, message: str, run_id: str | None
) -> tuple[VersionInfo, bool]:
    """Add the version row (or find the newest one identical to it); returns it and whether it is
    new."""
    now, user = time.time(), store.user
    with store.write() as conn:
        ins = dialect_insert(conn)
        conn.execute(
            ins(datasets)
            .values(name=name, kind=written.kind, created_at=now, created_by=user, description="")
            .on_conflict_do_nothing(index_elements=["name"])
        )
        ds = conn.execute(select(datasets).where(datasets.c.name == name).with_for_update()).one()
        now = time.time()  # taken under the lock, so version numbers and times agree
        if ds.kind != written.kind:
            what = {"table": "a table", "files": "files"}
            raise Conflict(
                f"{name} holds {what[ds.kind]}, not {what[written.kind]}; commit under another "
                "name."
            )
        newest = conn.execute(
            select(dataset_versions)
            .where(dataset_versions.c.dataset_id == ds.id)
            .order_by(dataset_versions.c.version.desc())
            .limit(1)
        ).first()
        unchanged = newest is not None and newest.digest == written.digest
        if unchanged:
            version_id, number = newest.id, newest.version
        else:
            number = (newest.version if newest is not None else 0) + 1
            version_id = conn.execute(
                insert(dataset_versions)
                .values(
                    dataset_id=ds.id,
                    version=number,
                    digest=written.digest,
                    manifest=written.manifest,
                    rows=written.rows,
                    columns=written.columns,
                    bytes_total=written.bytes_total,
                    bytes_added=written.bytes_added,
                    message=message,
                    author=user,
                    created_at=now,
                    run_id=run_id,
                )
                .returning(dataset_versions.c.id)
            ).scalar_one()
        if run_id is not None:
            conn.execute(
                ins(lineage)
                .values(
                    run_id=run_id,
                    direction="output",
                    entity_type="dataset_version",
                    entity_id=version_id,
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
        ref = f"{name}@{number}"
        if unchanged:
            store.audit(conn, "data.commit.unchanged", "dataset_version", ref, run_id=run_id)
        else:
            store.audit(
                conn,
                "data.commit",
                "dataset_version",
                ref,
                digest=written.digest,
                manifest=written.manifest,
                bytes_added=written.bytes_added,
                message=message,
                run_id=run_id,
            )
        row = conn.execute(
            select(dataset_versions).where(dataset_versions.c.id == version_id)
        ).one()
    return _info(row, name, written.kind), not unchanged


def run_of(store: Store) -> str | None:
    """The id of the active run when it logs into this store's database."""

    run = active_run()
    if run is None or run.store.db_url != store.db_url:
        return None
    return run.id


_HELD_READS: contextvars.ContextVar[list[tuple[Store, str, VersionInfo]] | None] = (
    contextvars.ContextVar("nbmlops_held_reads", default=None)
)


@contextlib.contextmanager
def reads_recorded_on_success() -> Iterator[None]:
    """Record the versions read inside the block as the run's inputs only if the block succeeds.

    A drift check that reads loans@3 and then refuses a missing column must not
    leave the run claiming it used loans@3 (bad input changes nothing). Nested
    blocks hand their reads to the outermost one. Works as a decorator too.

    Example:
        >>> with reads_recorded_on_success():  # doctest: +SKIP
        ...     report = compare("loans@3", "new.csv")
    """
    if _HELD_READS.get() is not None:
        yield
        return
    held: list[tuple[Store, str, VersionInfo]] = []
    token = _HELD_READS.set(held)
    try:
        yield
    finally:
        _HELD_READS.reset(token)
    for store, run_id, info in held:
        _write_input(store, run_id, info)


def record_input(store: Store, info: VersionInfo) -> None:
    """Inside a run, note that the run read this version (once per run and version)."""
    run_id = run_of(store)
    if run_id is None:
        return
    held = _HELD_READS.get()
    if held is not None:
        held.append((store, run_id, info))
        return
    _write_input(store, run_id, info)


def _write_input(store: Store, run_id: str, info: VersionInfo) -> None:
    with store.write() as conn:
        done = conn.execute(
            dialect_insert(conn)(lineage)
            .values(
                run_id=run_id,
                direction="input",
                entity_type="dataset_version",
                entity_id=info.id,
                created_at=time.time(),
            )
            .on_conflict_do_nothing()
        )
        if done.rowcount:
            store.audit(conn, "data.read", "dataset_version", info.ref, run_id=run_id)


def set_tag(ref: str, tag: str, *, store: Store | None = None) -> tuple[VersionInfo, int | None]:
    """Point ``tag`` at the version ``ref`` names (moving it if it pointed elsewhere); returns the
    old version.

    Example:
        >>> set_tag("loans@4", "prod")  # doctest: +SKIP
    """
    check_selector_name(tag)
    store = store or open_current()
    with store.write() as conn:
        info = find(conn, ref)
        old = conn.execute(
            select(dataset_versions.c.version)
            .join(dataset_tags, dataset_tags.c.version_id == dataset_versions.c.id)
            .where(dataset_tags.c.dataset_id == info.dataset_id, dataset_tags.c.tag == tag)
        ).scalar()
        values = {"version_id": info.id, "updated_at": time.time(), "updated_by": store.user}
        conn.execute(
            dialect_insert(conn)(dataset_tags)
            .values(dataset_id=info.dataset_id, tag=tag, **values)
            .on_conflict_do_update(index_elements=["dataset_id", "tag"], set_=values)
        )
        store.audit(conn, "data.tag", "dataset_version", info.ref, tag=tag, previous=old)
    return info, old


def remove_tag(name: str, tag: str, *, store: Store | None = None) -> int:
    """Delete a tag; returns the version it pointed at."""
    check_name(name)
    check_selector_name(tag)
    store = store or open_current()
    with store.write() as conn:
        ds = dataset_row(conn, name)
        old = conn.execute(
            select(dataset_versions.c.version)
            .join(dataset_tags, dataset_tags.c.version_id == dataset_versions.c.id)
            .where(dataset_tags.c.dataset_id == ds.id, dataset_tags.c.tag == tag)
        ).scalar()
        if old is None:
            raise NotFound(f"{name} has no tag {tag!r}.")
        conn.execute(
            dataset_tags.delete().where(
                dataset_tags.c.dataset_id == ds.id, dataset_tags.c.tag == tag
            )
        )
        store.audit(conn, "data.untag", "dataset_version", f"{name}@{old}", tag=tag)
    return int(old)


def check_message(message: object) -> str:
    if not isinstance(message, str):
        raise InvalidInput("A commit message must be text.")
    return message
