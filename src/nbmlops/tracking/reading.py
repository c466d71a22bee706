"""Read runs back: list with filter and sort, show one, compare several, metric history.

Runs whose process died without closing them are marked KILLED when they are
next read (same host: the process is gone; any host: no heartbeat for
``STALE_S`` seconds), so nothing stays "running" forever.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
import time
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select, update

from ..errors import InvalidInput, NotFound, check_page
from ..refs import resolve_run
from ..result import (
    Block,
    Fields,
    Heading,
    Message,
    Note,
    Result,
    Table,
    fmt,
    fmt_bytes,
    fmt_duration,
    sparkline,
    status_cell,
    timestamp,
)
from ..store.meta import artifacts, latest_metrics, metrics, params, runs, tags
from ..workspace import open_current
from . import filters
from .artifacts import check_artifact_name, decode, write_file
from .runs import REAPED, process_start

if TYPE_CHECKING:
    from ..store import Store

STALE_S = 600.0
MAX_KEY_COLUMNS = 8
SPARK_POINTS = 200
MAX_PAGE = 100_000


def _pid_alive(pid: int, started: float | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now_started = process_start(pid)
    return started is None or now_started is None or now_started == started


def reap_dead_runs(store: Store) -> int:
    """Mark RUNNING runs whose process is gone as KILLED; returns how many."""
    if store.readonly:
        return 0
    here, now = socket.gethostname(), time.time()
    with store.read() as conn:
        rows = conn.execute(
            select(runs.c.id, runs.c.host, runs.c.pid, runs.c.pid_start, runs.c.heartbeat).where(
                runs.c.status == "RUNNING"
            )
        ).all()
    dead = [
        r
        for r in rows
        if (r.host == here and r.pid is not None and not _pid_alive(r.pid, r.pid_start))
        or (r.heartbeat or 0) < now - STALE_S
    ]
    if not dead:
        return 0
    with store.write() as conn:
        for r in dead:
            changed = conn.execute(
                update(runs)
                .where(runs.c.id == r.id, runs.c.status == "RUNNING")
                .values(status="KILLED", end_time=r.heartbeat, error=REAPED)
            ).rowcount
            if changed:
                store.audit(conn, "run.killed", "run", r.id, reason=REAPED)
    return len(dead)


def _short(run_id: str | None) -> str:
    return run_id[:8] if run_id else ""


def _param_value(row: Any) -> Any:
    if row.value_json is not None:
        try:
            return json.loads(row.value_json)
        except ValueError:
            pass
    return row.value


# ---------------------------------------------------------------- list


@dataclasses.dataclass(repr=False)
class RunList(Result):
    """A page of runs with their params and latest metrics."""

    runs: list[dict[str, Any]]
    total: int
    param_keys: list[str]
    metric_keys: list[str]
    filter: str | None = None
    offset: int = 0

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        rows = []
        for r in self.runs:
            row = {k: r[k] for k in ("id", "name", "status", "kind", "user", "parent_id")}
            row["start_time"] = timestamp(r["start_time"])
            row["duration_s"] = r["duration_s"]
            row.update({f"params.{k}": v for k, v in r["params"].items()})
            row.update({f"metrics.{k}": v for k, v in r["metrics"].items()})
            row.update({f"tags.{k}": v for k, v in r["tags"].items()})
            rows.append(row)
        return pd.DataFrame(rows)

    def blocks(self) -> list[Block]:
        if not self.runs:
            if self.filter:
                return [
                    Note(f"No runs match the filter {self.filter!r} ({self.total} runs in all).")
                ]
            return [
                Note(
                    "No runs yet; log one with %%mlops run in a notebook or `with "
                    "mo.start_run():` in Python."
                )
            ]
        nested = any(r["parent_id"] for r in self.runs)
        columns = ["id", "name", "status", "started", "duration"] + (["parent"] if nested else [])
        columns += [f"params.{k}" for k in self.param_keys] + [
            f"metrics.{k}" for k in self.metric_keys
        ]
        rows = []
        for r in self.runs:
            row: list[Any] = [
                _short(r["id"]),
                r["name"],
                status_cell(r["status"]),
                timestamp(r["start_time"]),
                fmt_duration(r["duration_s"]),
            ]
            if nested:
                row.append(_short(r["parent_id"]))
            row += [r["params"].get(k) for k in self.param_keys]
            row += [r["metrics"].get(k) for k in self.metric_keys]
            rows.append(row)
        first, last = self.offset + 1, self.offset + len(self.runs)
        footer = f"Runs {first}-{last} of {self.total}" + (
            f" matching {self.filter!r}" if self.filter else ""
        )
        return [Table(columns, rows, footer=footer + ".")]


def list_runs(
    filter: str | None = None,
    sort: str | Sequence[str] | None = None,
    limit: int = 50,
    offset: int = 0,
    *,
    columns: Sequence[str] | None = None,
    store: Store | None = None,
) -> RunList:
    """Runs matching ``filter``, sorted (``-metrics.accuracy``), one page at a time.

    Example:
        >>> list_runs("metrics.accuracy > 0.8",
        ...           sort="-metrics.accuracy").to_frame()  # doctest: +SKIP
    """
    check_page(limit, offset, most=MAX_PAGE)
    store = store or open_current()
    reap_dead_runs(store)
    condition = filters.where(filter)
    sort_keys = filters.parse_sort(sort)
    page = filters.apply_sort(select(runs).where(condition), sort_keys).limit(limit).offset(offset)
    with store.read() as conn:
        total = conn.execute(select(func.count()).select_from(runs).where(condition)).scalar_one()
        rows = conn.execute(page).all()
        ids = [r.id for r in rows]
        p_rows = conn.execute(select(params).where(params.c.run_id.in_(ids))).all() if ids else []
        m_rows = (
            conn.execute(select(latest_metrics).where(latest_metrics.c.run_id.in_(ids))).all()
            if ids
            else []
        )
        t_rows = conn.execute(select(tags).where(tags.c.run_id.in_(ids))).all() if ids else []
    by_id: dict[str, dict[str, Any]] = {
        r.id: {
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "kind": r.kind,
            "user": r.username,
            "parent_id": r.parent_id,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "duration_s": (r.end_time - r.start_time) if r.end_time else None,
            "params": {},
            "metrics": {},
            "tags": {},
        }
        for r in rows
    }
    for p in p_rows:
        by_id[p.run_id]["params"][p.key] = _param_value(p)
    for m in m_rows:
        by_id[m.run_id]["metrics"][m.key] = math.nan if m.value is None else m.value
    for t in t_rows:
        by_id[t.run_id]["tags"][t.key] = t.value
    mentioned = {
        (c.namespace, c.key)
        for c in _comparisons(filters.parse(filter) if filter and filter.strip() else None)
    }
    mentioned |= {(ns, k) for ns, k, _ in sort_keys}

    def keys(namespace: str, counter: Counter[str]) -> list[str]:
        if columns is not None:
            return [c.split(".", 1)[1] for c in columns if c.startswith(namespace + ".")]
        chosen = [k for ns, k in sorted(mentioned) if ns == namespace]
        for k, _ in counter.most_common():
            if len(chosen) >= MAX_KEY_COLUMNS:
                break
            if k not in chosen:
                chosen.append(k)
        return chosen

    return RunList(
        runs=[by_id[i] for i in ids],
        total=total,
        param_keys=keys("params", Counter(p.key for p in p_rows)),
        metric_keys=keys("metrics", Counter(m.key for m in m_rows)),
        filter=filter,
        offset=offset,
    )


def run_keys(*, store: Store | None = None) -> dict[str, list[str]]:
    """Every param and metric name logged in the workspace (the columns a runs table can offer).

    Example:
        >>> run_keys()["metrics"]  # doctest: +SKIP
        ['accuracy', 'loss']
    """
    store = store or open_current()
    with store.read() as conn:
        p_keys = (
            conn.execute(select(params.c.key).distinct().order_by(params.c.key)).scalars().all()
        )
        m_keys = (
            conn.execute(select(latest_metrics.c.key).distinct().order_by(latest_metrics.c.key))
            .scalars()
            .all()
        )
    return {"params": list(p_keys), "metrics": list(m_keys)}


def _comparisons(node: Any) -> list[filters.Cmp]:
    if node is None:
        return []
    if isinstance(node, filters.Cmp):
        return [node]
    if isinstance(node, filters.Not):
        return _comparisons(node.inner)
    return _comparisons(node.left) + _comparisons(node.right)


# ---------------------------------------------------------------- show


@dataclasses.dataclass(repr=False)
class RunDetail(Result):
    """Everything stored about one run."""

    run: dict[str, Any]
    params: list[dict[str, Any]]
    tags: dict[str, str]
    metrics: list[dict[str, Any]]
    artifacts: list[dict[str, Any]]
    children: list[dict[str, Any]]
    context: dict[str, Any]
    history: dict[str, list[float | None]] = dataclasses.field(default_factory=dict)

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(self.metrics)

    def blocks(self) -> list[Block]:
        r = self.run
        out: list[Block] = [Heading(f"Run {r['name'] or '(unnamed)'} · {r['id'][:8]}")]
        fields: list[tuple[str, Any]] = [
            ("id", r["id"]),
            ("status", status_cell(r["status"])),
            ("kind", r["kind"]),
            ("user", r["user"]),
            ("started", timestamp(r["start_time"])),
            ("ended", timestamp(r["end_time"])),
            ("duration", fmt_duration(r["duration_s"])),
        ]
        if r["parent_id"]:
            fields.append(("parent", r["parent_id"][:8]))
        if self.tags:
            fields.append(("tags", ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))))
        if r["error"]:
            fields.append(("error", r["error"]))
        if r["notes"]:
            fields.append(("notes", r["notes"]))
        out.append(Fields(fields))
        if self.params:
            rows = [[p["key"], p["display"], p["note"] or ""] for p in self.params]
            out.append(Table(["param", "value", "note"], rows, title="Parameters"))
        if self.metrics:
            rows, marked = [], set()
            for i, m in enumerate(self.metrics):
                spark = sparkline(self.history.get(m["key"], []))
                rows.append(
                    [
                        m["key"],
                        m["last"],
                        m["step"],
                        m["count"],
                        m["min"],
                        m["max"],
                        spark,
                        m["note"],
                    ]
                )
                if m["note"]:
                    marked.add((i, 7))
            out.append(
                Table(
                    ["metric", "last", "step", "points", "min", "max", "history", "note"],
                    rows,
                    title="Metrics",
                    marked_cells=marked,
                )
            )
        if self.artifacts:
            rows = [
                [a["name"], a["media_type"], fmt_bytes(a["size"]), a["digest"][:12]]
                for a in self.artifacts
            ]
            out.append(Table(["artifact", "type", "size", "digest"], rows, title="Artifacts"))
        if self.children:
            rows = [[c["id"][:8], c["name"], status_cell(c["status"])] for c in self.children]
            out.append(Table(["child run", "name", "status"], rows, title="Child runs"))
        out.extend(_context_blocks(self.context))
        return out


def _context_blocks(ctx: dict[str, Any]) -> list[Block]:
    if not ctx:
        return []
    if "unreadable" in ctx:
        return [Heading("Context", 4), Note(ctx["unreadable"], "warn")]
    pairs: list[tuple[str, Any]] = []
    if ctx.get("notebook"):
        pairs.append(
            (
                "notebook",
                f"{ctx['notebook']['path']} (snapshot "
                f"{str(ctx['notebook'].get('digest') or '')[:12]})",
            )
        )
    if ctx.get("history"):
        pairs.append(
            (
                "executed cells",
                f"{ctx['history']['cells']} (snapshot {ctx['history']['digest'][:12]})",
            )
        )
    git = ctx.get("git")
    if git:
        state = (
            "dirty, diff " + str(git.get("diff_digest") or "")[:12] if git.get("dirty") else "clean"
        )
        pairs.append(
            ("git", f"{(git.get('commit') or 'no commit')[:12]} on {git.get('branch')} ({state})")
        )
    if ctx.get("python"):
        pairs.append(("python", f"{ctx['python']} ({ctx.get('executable')})"))
    if ctx.get("packages"):
        pairs.append(
            (
                "packages",
                f"{ctx['packages']['count']} installed (set {ctx['packages']['digest'][:12]})",
            )
        )
    pairs.append(("host", f"{ctx.get('host')} · {ctx.get('platform', '')}"))
    res = ctx.get("resources")
    if res:
        pairs.append(
            ("wall / CPU time", f"{fmt_duration(res['wall_s'])} / {fmt_duration(res['cpu_s'])}")
        )
        pairs.append(
            ("peak memory", f"{fmt_bytes(res['peak_memory_bytes'])} ({res['peak_memory_method']})")
        )
    return [Heading("Context", 4), Fields(pairs)]


def get_run(ref: str, *, store: Store | None = None) -> RunDetail:
    """Everything stored about the run ``ref`` (an id or a unique prefix).

    Example:
        >>> get_run("3f2a")  # doctest: +SKIP
    """
    store = store or open_current()
    reap_dead_runs(store)
    nonfinite = case(
        (metrics.c.value.is_(None), 1), (metrics.c.value.in_([math.inf, -math.inf]), 1), else_=0
    )
    with store.read() as conn:
        r = resolve_run(conn, ref)
        p_rows = conn.execute(
            select(params).where(params.c.run_id == r.id).order_by(params.c.key)
        ).all()
        t_rows = conn.execute(select(tags).where(tags.c.run_id == r.id)).all()
        latest = {
            m.key: m
            for m in conn.execute(select(latest_metrics).where(latest_metrics.c.run_id == r.id))
        }
        stats = conn.execute(
            select(
                metrics.c.key,
                func.min(metrics.c.value),
                func.max(metrics.c.value),
                func.sum(nonfinite),
                func.count(),
            )
            .where(metrics.c.run_id == r.id)
            .group_by(metrics.c.key)
        ).all()
        history: dict[str, list[float | None]] = {}
        for key, _lo, _hi, _bad, count in stats:
            every = max(1, count // SPARK_POINTS)
            points = (
                conn.execute(
                    select(metrics.c.value)
                    .where(metrics.c.run_id == r.id, metrics.c.key == key)
                    .order_by(metrics.c.step, metrics.c.id)
                )
                .scalars()
                .all()
            )
            history[key] = [math.nan if v is None else v for v in points[::every]]
        a_rows = conn.execute(
            select(artifacts).where(artifacts.c.run_id == r.id).order_by(artifacts.c.name)
        ).all()
        children = conn.execute(
            select(runs.c.id, runs.c.name, runs.c.status)
            .where(runs.c.parent_id == r.id)
            .order_by(runs.c.start_time)
        ).all()
    metric_rows = []
    for key, lo, hi, bad, count in sorted(stats):
        m = latest[key]
        last = math.nan if m.value is None else m.value
        note = f"{bad} of {count} values are NaN or infinite" if bad else ""
        metric_rows.append(
            {
                "key": key,
                "last": last,
                "step": m.step,
                "count": count,
                "min": lo,
                "max": hi,
                "note": note,
            }
        )
    try:
        context = json.loads(r.context) if r.context else {}
    except ValueError:  # damaged: show the rest of the run; mlops fsck reports it
        context = {"unreadable": "this run's context is damaged; run mlops fsck"}
    return RunDetail(
        run={
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "kind": r.kind,
            "user": r.username,
            "parent_id": r.parent_id,
            "start_time": r.start_time,
            "end_time": r.end_time,
            "duration_s": (r.end_time - r.start_time) if r.end_time else None,
            "error": r.error,
            "notes": r.notes,
            "host": r.host,
        },
        params=[
            {"key": p.key, "value": _param_value(p), "display": p.value, "note": p.note}
            for p in p_rows
        ],
        tags={t.key: t.value for t in t_rows},
        metrics=metric_rows,
        artifacts=[
            {"name": a.name, "digest": a.digest, "size": a.size, "media_type": a.media_type}
            for a in a_rows
        ],
        children=[{"id": c.id, "name": c.name, "status": c.status} for c in children],
        context=context,
        history=history,
    )


# ---------------------------------------------------------------- compare


@dataclasses.dataclass(repr=False)
class RunComparison(Result):
    """Params and metrics of several runs side by side; rows that differ are marked."""

    runs: list[dict[str, Any]]
    params: dict[str, list[Any]]
    metrics: dict[str, list[Any]]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        index = [f"params.{k}" for k in self.params] + [f"metrics.{k}" for k in self.metrics]
        data = list(self.params.values()) + list(self.metrics.values())
        return pd.DataFrame(data, index=index, columns=[r["id"][:8] for r in self.runs])

    def blocks(self) -> list[Block]:
        head = [f"{r['name'] or '(unnamed)'} {r['id'][:8]}" for r in self.runs]
        out: list[Block] = [Heading("Run comparison")]
        for title, data in (("Parameters", self.params), ("Metrics", self.metrics)):
            if not data:
                continue
            rows = [[key, *values] for key, values in data.items()]
            marked = {
                i
                for i, values in enumerate(data.values())
                if len({json.dumps(v, default=str) for v in values}) > 1
            }
            out.append(Table([title.lower()[:-1], *head], rows, title=title, marked_rows=marked))
        differing = sum(
            len({json.dumps(v, default=str) for v in values}) > 1
            for values in [*self.params.values(), *self.metrics.values()]
        )
        out.append(
            Note(
                f"{differing} of {len(self.params) + len(self.metrics)} values differ "
                "(highlighted)."
            )
        )
        return out


def compare_runs(refs: Sequence[str], *, store: Store | None = None) -> RunComparison:
    """Compare two or more runs.

    Example:
        >>> compare_runs(["3f2a", "9bc1"])  # doctest: +SKIP
    """
    if isinstance(refs, str):
        raise InvalidInput(
            f"Give the runs to compare as a list of run ids, not one text {refs[:40]!r}."
        )
    if len(refs) < 2:
        raise InvalidInput("Give at least two runs to compare.")
    store = store or open_current()
    with store.read() as conn:
        rows = [resolve_run(conn, ref) for ref in refs]
        ids = [r.id for r in rows]
        p_rows = conn.execute(select(params).where(params.c.run_id.in_(ids))).all()
        m_rows = conn.execute(select(latest_metrics).where(latest_metrics.c.run_id.in_(ids))).all()
    p_keys = sorted({p.key for p in p_rows})
    m_keys = sorted({m.key for m in m_rows})
    p_map = {(p.run_id, p.key): _param_value(p) for p in p_rows}
    m_map = {(m.run_id, m.key): (math.nan if m.value is None else m.value) for m in m_rows}
    return RunComparison(
        runs=[{"id": r.id, "name": r.name, "status": r.status} for r in rows],
        params={k: [p_map.get((i, k)) for i in ids] for k in p_keys},
        metrics={k: [m_map.get((i, k)) for i in ids] for k in m_keys},
    )


# ---------------------------------------------------------------- history and artifacts


@dataclasses.dataclass(repr=False)
class MetricHistory(Result):
    """Every point of one metric series."""

    run_id: str
    key: str
    steps: list[int]
    values: list[float]
    timestamps: list[float]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(
            {"step": self.steps, "value": self.values, "timestamp": self.timestamps}
        )

    def blocks(self) -> list[Block]:
        n = len(self.steps)
        head = [Heading(f"{self.key} in run {self.run_id[:8]}: {n} points")]
        if not n:
            return [*head, Note("No points.")]
        every = max(1, n // 400)
        shown = list(range(min(n, 5))) + (list(range(max(5, n - 5), n)) if n > 5 else [])
        rows = [[self.steps[i], self.values[i], timestamp(self.timestamps[i])] for i in shown]
        return [
            *head,
            sparkline(self.values[::every], width=360, height=60),
            Table(
                ["step", "value", "time"],
                rows,
                footer="first and last points; to_frame() has them all" if n > 10 else None,
            ),
        ]


def metric_history(ref: str, key: str, *, store: Store | None = None) -> MetricHistory:
    """All points of metric ``key`` in run ``ref``, in step order.

    Example:
        >>> metric_history("3f2a", "loss").to_frame()  # doctest: +SKIP
    """
    store = store or open_current()
    with store.read() as conn:
        r = resolve_run(conn, ref)
        rows = conn.execute(
            select(metrics.c.step, metrics.c.value, metrics.c.timestamp)
            .where(metrics.c.run_id == r.id, metrics.c.key == key)
            .order_by(
                metrics.c.step, metrics.c.id
            )  # both in the index: no sort; id keeps log order within a step
        ).all()
    if not rows:
        raise NotFound(f"Run {r.id[:8]} has no metric {key!r}.")
    steps, values, stamps = zip(*rows, strict=True)
    return MetricHistory(
        r.id, key, list(steps), [math.nan if v is None else v for v in values], list(stamps)
    )


def load_artifact(ref: str, name: str, *, store: Store | None = None) -> Any:
    """The artifact ``name`` of run ``ref``, rebuilt (DataFrame, figure, JSON) or as bytes.

    Example:
        >>> load_artifact("3f2a", "frame.parquet")  # doctest: +SKIP
    """

    check_artifact_name(name)
    store = store or open_current()
    row = _artifact_row(store, ref, name)
    return decode(store.objects.get(row.digest, verify=True), row.media_type)


def _artifact_row(store: Store, ref: str, name: str) -> Any:
    with store.read() as conn:
        r = resolve_run(conn, ref)
        row = conn.execute(
            select(artifacts).where(artifacts.c.run_id == r.id, artifacts.c.name == name)
        ).first()
    if row is None:
        raise NotFound(f"Run {r.id[:8]} has no artifact {name!r}.")
    return row


def save_artifact(ref: str, name: str, out: str, *, store: Store | None = None) -> Message:
    """Write the artifact ``name`` of run ``ref`` to the file ``out`` (digest checked first).

    Example:
        >>> save_artifact("3f2a", "figure.png", "loss.png")  # doctest: +SKIP
    """
    check_artifact_name(name)
    store = store or open_current()
    row = _artifact_row(store, ref, name)
    data = store.objects.get(row.digest, verify=True)
    write_file(out, data)
    return Message(f"Wrote {name} of run {row.run_id[:8]} to {out} ({fmt_bytes(len(data))}).", "ok")


def summarize(run_id: str, *, store: Store | None = None) -> Message:
    """One line about a finished run, with its headline numbers."""
    detail = get_run(run_id, store=store)
    r = detail.run
    shown = ", ".join(f"{m['key']}={fmt(m['last'])}" for m in detail.metrics[:6])
    more = "" if len(detail.metrics) <= 6 else f" and {len(detail.metrics) - 6} more"
    fields: list[tuple[str, Any]] = [
        ("params", len(detail.params)),
        ("metrics", (shown + more) or "none"),
        ("artifacts", len(detail.artifacts)),
    ]
    tone = {"FINISHED": "ok", "FAILED": "alert", "KILLED": "warn"}.get(r["status"], "info")
    return Message(
        f"Run {r['name']} ({r['id'][:8]}) {r['status'].lower()} in "
        f"{fmt_duration(r['duration_s'])}.",
        tone,
        fields,
    )


__all__ = [
    "list_runs",
    "run_keys",
    "get_run",
    "compare_runs",
    "metric_history",
    "load_artifact",
    "reap_dead_runs",
    "save_artifact",
    "summarize",
    "RunList",
    "RunDetail",
    "RunComparison",
    "MetricHistory",
]
