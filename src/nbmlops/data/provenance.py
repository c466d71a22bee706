"""``lineage``: the runs that produced a version (and what they read), and the runs that consumed it
(and what they made), followed in both directions until the graph ends."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, tuple_

from ..result import Block, Heading, Note, Result, Table
from ..store.meta import dataset_versions, datasets, model_versions, models, runs
from ..store.meta import lineage as edges
from ..workspace import open_current
from .versions import find

if TYPE_CHECKING:
    from ..store import Store

MAX_DEPTH = 20
Node = tuple[str, int]  # (entity_type, entity id)


@dataclasses.dataclass(repr=False)
class LineageView(Result):
    """Where a version came from (upstream) and where it went (downstream), one row per run."""

    ref: str
    upstream: list[dict[str, Any]]
    downstream: list[dict[str, Any]]

    @property
    def producers(self) -> list[dict[str, Any]]:
        return [r for r in self.upstream if r["depth"] == 1]

    @property
    def consumers(self) -> list[dict[str, Any]]:
        return [r for r in self.downstream if r["depth"] == 1]

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(f"Lineage of {self.ref}")]
        if not self.upstream and not self.downstream:
            return [
                *out,
                Note(
                    f"No run produced or read {self.ref}; commit and load inside a run to record "
                    "lineage."
                ),
            ]
        for title, rows in (
            ("Produced by (upstream)", self.upstream),
            ("Read by (downstream)", self.downstream),
        ):
            if rows:
                out.append(
                    Table(
                        ["depth", "run", "name", "status", "read", "wrote"],
                        [
                            [
                                r["depth"],
                                r["run_id"][:8],
                                r["run_name"],
                                r["status"],
                                ", ".join(r["inputs"]),
                                ", ".join(r["outputs"]),
                            ]
                            for r in rows
                        ],
                        title=title,
                    )
                )
            else:
                out.append(Note(f"{title}: none recorded."))
        return out


def _labels(conn: Connection, nodes: set[Node]) -> dict[Node, str]:
    out: dict[Node, str] = {}
    data_ids = [i for t, i in nodes if t == "dataset_version"]
    model_ids = [i for t, i in nodes if t == "model_version"]
    if data_ids:
        for vid, name, version in conn.execute(
            select(dataset_versions.c.id, datasets.c.name, dataset_versions.c.version)
            .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
            .where(dataset_versions.c.id.in_(data_ids))
        ):
            out[("dataset_version", vid)] = f"{name}@{version}"
    if model_ids:
        for vid, name, version in conn.execute(
            select(model_versions.c.id, models.c.name, model_versions.c.version)
            .join(models, models.c.id == model_versions.c.model_id)
            .where(model_versions.c.id.in_(model_ids))
        ):
            out[("model_version", vid)] = f"model {name}@{version}"
    return out


def _walk(conn: Connection, start: Node, toward: str) -> list[dict[str, Any]]:
    """Runs reached from ``start``: upstream follows run outputs to their inputs, downstream the
    reverse."""
    near, far = ("output", "input") if toward == "up" else ("input", "output")
    seen_nodes, seen_runs = {start}, set()
    frontier, rows, depth = {start}, [], 0
    while frontier and depth < MAX_DEPTH:
        depth += 1
        run_ids = (
            set(
                conn.execute(
                    select(edges.c.run_id).where(
                        edges.c.direction == near,
                        tuple_(edges.c.entity_type, edges.c.entity_id).in_(list(frontier)),
                    )
                ).scalars()
            )
            - seen_runs
        )
        if not run_ids:
            break
        seen_runs |= run_ids
        touched: dict[str, dict[str, list[Node]]] = {
            r: {"input": [], "output": []} for r in run_ids
        }
        for run_id, direction, etype, eid in conn.execute(
            select(edges.c.run_id, edges.c.direction, edges.c.entity_type, edges.c.entity_id)
            .where(edges.c.run_id.in_(run_ids))
            .order_by(edges.c.id)
        ):
            touched[run_id][direction].append((etype, eid))
        info = {
            r.id: r
            for r in conn.execute(
                select(runs.c.id, runs.c.name, runs.c.status, runs.c.start_time).where(
                    runs.c.id.in_(run_ids)
                )
            )
        }
        labels = _labels(conn, {n for t in touched.values() for side in t.values() for n in side})
        for run_id in sorted(run_ids, key=lambda r: info[r].start_time):
            rows.append(
                {
                    "depth": depth,
                    "run_id": run_id,
                    "run_name": info[run_id].name,
                    "status": info[run_id].status,
                    "inputs": [labels.get(n, f"{n[0]} {n[1]}") for n in touched[run_id]["input"]],
                    "outputs": [labels.get(n, f"{n[0]} {n[1]}") for n in touched[run_id]["output"]],
                }
            )
        frontier = {n for r in run_ids for n in touched[r][far]} - seen_nodes
        seen_nodes |= frontier
    return rows


def lineage(ref: str, *, store: Store | None = None) -> LineageView:
    """The runs that produced ``ref`` and what they read, and the runs that read it and what they
    made.

    Example:
        >>> mo.data.lineage("loans@4").producers[0]["inputs"]  # doctest: +SKIP
        ['raw_loans@7']
    """

    store = store or open_current()
    with store.read() as conn:
        info = find(conn, ref)
        start = ("dataset_version", info.id)
        return LineageView(info.ref, _walk(conn, start, "up"), _walk(conn, start, "down"))
