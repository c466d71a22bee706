"""What the data commands show: a commit, a dataset's history, the list of datasets, one version."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..result import Block, Fields, Heading, Note, Result, Table, fmt_bytes, timestamp
from ..store.meta import dataset_tags, dataset_versions, datasets
from ..workspace import open_current
from .stats import describe
from .versions import dataset_row, find, read_manifest

if TYPE_CHECKING:
    from ..store import Store


def _size_line(rows: int | None, columns: int | None, kind: str) -> str:
    if kind == "files":
        return f"{rows:,} file{'s' if rows != 1 else ''}"
    return f"{rows:,} rows, {columns} col{'s' if columns != 1 else ''}"


@dataclasses.dataclass(repr=False)
class CommitResult(Result):
    """What ``commit`` stored: the pinned ref, the size, and how many bytes were new."""

    ref: str
    kind: str
    source: str
    rows: int | None
    columns: int | None
    bytes_added: int
    bytes_total: int
    unchanged: bool
    digest: str
    message: str = ""
    run_id: str | None = None

    def blocks(self) -> list[Block]:
        size = _size_line(self.rows, self.columns, self.kind)
        if self.unchanged:
            return [
                Note(
                    f"{self.ref} unchanged ({size}): the content equals the newest version, "
                    "nothing was stored."
                )
            ]
        line = (
            f"{self.ref}  ({size}, {fmt_bytes(self.bytes_added)} new of "
            f"{fmt_bytes(self.bytes_total)})"
        )
        out: list[Block] = [Note(line, "ok")]
        if self.run_id:
            out.append(Fields([("produced by run", self.run_id[:8])]))
        return out


def _tags(conn: Any, dataset_id: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    rows = conn.execute(
        select(dataset_tags.c.tag, dataset_versions.c.version)
        .join(dataset_versions, dataset_versions.c.id == dataset_tags.c.version_id)
        .where(dataset_tags.c.dataset_id == dataset_id)
        .order_by(dataset_tags.c.tag)
    ).all()
    for tag, version in rows:
        out.setdefault(version, []).append(tag)
    return out


@dataclasses.dataclass(repr=False)
class VersionLog(Result):
    """A dataset's history, newest first."""

    name: str
    kind: str
    versions: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        size = "files" if self.kind == "files" else "rows"
        rows = [
            [
                v["version"],
                timestamp(v["created_at"]),
                v["author"],
                v["message"],
                v["rows"],
                v["columns"] if self.kind == "table" else "",
                fmt_bytes(v["bytes_added"]),
                ", ".join(v["tags"]),
                (v["run_id"] or "")[:8],
            ]
            for v in self.versions
        ]
        return [
            Heading(
                f"{self.name}: {len(self.versions)} version{'s' if len(self.versions) != 1 else ''}"
            ),
            Table(
                ["version", "when", "who", "message", size, "cols", "bytes added", "tags", "run"],
                rows,
            ),
        ]


def log(name: str, *, store: Store | None = None) -> VersionLog:
    """The history of a dataset: version, when, who, message, size, bytes added, tags.

    Example:
        >>> mo.data.log("loans")  # doctest: +SKIP
    """

    store = store or open_current()
    with store.read() as conn:
        ds = dataset_row(conn, name)
        tags = _tags(conn, ds.id)
        rows = conn.execute(
            select(dataset_versions)
            .where(dataset_versions.c.dataset_id == ds.id)
            .order_by(dataset_versions.c.version.desc())
        ).all()
    keep = (
        "version",
        "created_at",
        "author",
        "message",
        "rows",
        "columns",
        "bytes_added",
        "bytes_total",
        "run_id",
        "digest",
    )
    return VersionLog(
        ds.name,
        ds.kind,
        [{**{k: getattr(r, k) for k in keep}, "tags": tags.get(r.version, [])} for r in rows],
    )


@dataclasses.dataclass(repr=False)
class DatasetList(Result):
    """Every dataset with its newest version."""

    datasets: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        if not self.datasets:
            return [Note("No dataset is committed yet; start with `data commit df --name NAME`.")]
        rows = [
            [
                d["name"],
                d["kind"],
                d["versions"],
                d["latest"],
                d["rows"],
                d["columns"] or "",
                fmt_bytes(d["bytes_total"]),
                timestamp(d["updated_at"]),
                ", ".join(d["tags"]),
            ]
            for d in self.datasets
        ]
        return [
            Table(
                [
                    "name",
                    "kind",
                    "versions",
                    "latest",
                    "rows/files",
                    "cols",
                    "size",
                    "updated",
                    "tags",
                ],
                rows,
            )
        ]


def list_datasets(*, store: Store | None = None) -> DatasetList:
    """Every dataset, with its newest version, size and tags.

    Example:
        >>> mo.data.list_datasets()  # doctest: +SKIP
    """
    store = store or open_current()
    newest = (
        select(
            dataset_versions.c.dataset_id,
            func.max(dataset_versions.c.version).label("latest"),
            func.count().label("n"),
        )
        .group_by(dataset_versions.c.dataset_id)
        .subquery()
    )
    with store.read() as conn:
        rows = conn.execute(
            select(
                datasets.c.id,
                datasets.c.name,
                datasets.c.kind,
                newest.c.latest,
                newest.c.n,
                dataset_versions.c.rows,
                dataset_versions.c.columns,
                dataset_versions.c.bytes_total,
                dataset_versions.c.created_at,
            )
            .join(newest, newest.c.dataset_id == datasets.c.id)
            .join(
                dataset_versions,
                (dataset_versions.c.dataset_id == datasets.c.id)
                & (dataset_versions.c.version == newest.c.latest),
            )
            .order_by(datasets.c.name)
        ).all()
        tags = {r.id: _tags(conn, r.id) for r in rows}
    return DatasetList(
        [
            {
                "name": r.name,
                "kind": r.kind,
                "versions": r.n,
                "latest": f"{r.name}@{r.latest}",
                "rows": r.rows,
                "columns": r.columns,
                "bytes_total": r.bytes_total,
                "updated_at": r.created_at,
                "tags": [f"{t}->@{v}" for v, ts in sorted(tags[r.id].items()) for t in ts],
            }
            for r in rows
        ]
    )


@dataclasses.dataclass(repr=False)
class VersionView(Result):
    """One version: identity, provenance and its schema with per-column statistics (or its
    files)."""

    ref: str
    kind: str
    digest: str
    rows: int | None
    columns: int | None
    created_at: float
    author: str
    message: str
    bytes_total: int
    bytes_added: int
    run_id: str | None
    tags: list[str]
    schema: list[dict[str, Any]]
    index: dict[str, Any] | None = None

    def blocks(self) -> list[Block]:

        out: list[Block] = [
            Heading(self.ref),
            Fields(
                [
                    ("size", _size_line(self.rows, self.columns, self.kind)),
                    ("stored", fmt_bytes(self.bytes_total)),
                    ("added", fmt_bytes(self.bytes_added)),
                    ("when", timestamp(self.created_at)),
                    ("who", self.author),
                    ("message", self.message),
                    ("tags", ", ".join(self.tags)),
                    ("produced by run", (self.run_id or "")[:8]),
                    ("digest", self.digest[:16]),
                ]
            ),
        ]
        if self.kind == "files":
            out.append(
                Table(
                    ["path", "size", "digest"],
                    [[f["path"], fmt_bytes(f["size"]), f["digest"][:12]] for f in self.schema],
                )
            )
            return out
        rows = [
            [
                c["name"],
                c["dtype"],
                c["stats"]["nulls"],
                describe(c["stats"]),
                "yes" if c["stats"].get("unique") else "",
            ]
            for c in self.schema
        ]
        out.append(Table(["column", "dtype", "nulls", "values", "unique"], rows, title="Schema"))
        if self.index and self.index["kind"] == "levels":
            out.append(
                Note(
                    "Index: "
                    + ", ".join(
                        f"{lv['name'] or '(unnamed)'} ({lv['dtype']})"
                        for lv in self.index["levels"]
                    )
                )
            )
        return out


def show(ref: str, *, store: Store | None = None) -> VersionView:
    """One version: when, who, message, size, tags, and its schema with per-column statistics.

    Example:
        >>> mo.data.show("loans@prod")  # doctest: +SKIP
    """

    store = store or open_current()
    with store.read() as conn:
        info = find(conn, ref)
        row = conn.execute(select(dataset_versions).where(dataset_versions.c.id == info.id)).one()
        tags = _tags(conn, info.dataset_id).get(info.version, [])
    manifest = read_manifest(store, info.manifest)
    schema = (
        manifest["files"]
        if info.kind == "files"
        else [{k: c[k] for k in ("name", "dtype", "stats")} for c in manifest["columns"]]
    )
    return VersionView(
        info.ref,
        info.kind,
        info.digest,
        info.rows,
        info.columns,
        row.created_at,
        row.author,
        row.message,
        row.bytes_total,
        row.bytes_added,
        row.run_id,
        tags,
        schema,
        manifest.get("index"),
    )
