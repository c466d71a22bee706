"""Read runs back: list with filter and sort, show one, compare several, metric history.

Runs whose process died without closing them are marked KILLED when they are
next read (same host: the process is gone; any host: no heartbeat for
``STALE_S`` seconds), so nothing stays "running" forever.
"""

from __future__ import annotations

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
    Message,
    fmt,
    fmt_bytes,
    fmt_duration,
)
from ..store.meta import artifacts, latest_metrics, metrics, params, runs, tags
from ..workspace import open_current
from . import filters
from .artifacts import check_artifact_name, decode, write_file
from .runs import REAPED, process_start
from .views import MAX_KEY_COLUMNS, SPARK_POINTS, MetricHistory, RunComparison, RunDetail, RunList

if TYPE_CHECKING:
    from ..store import Store

STALE_S = 600.0
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


def param_value(row: Any) -> Any:
    if row.value_json is not None:
        try:
            return json.loads(row.value_json)
        except ValueError:
            pass
    return row.value


# ---------------------------------------------------------------- list


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
        by_id[p.run_id]["params"][p.key] = param_value(p)
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
            {"key": p.key, "value": param_value(p), "display": p.value, "note": p.note}
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
    p_map = {(p.run_id, p.key): param_value(p) for p in p_rows}
    m_map = {(m.run_id, m.key): (math.nan if m.value is None else m.value) for m in m_rows}
    return RunComparison(
        runs=[{"id": r.id, "name": r.name, "status": r.status} for r in rows],
        params={k: [p_map.get((i, k)) for i in ids] for k in p_keys},
        metrics={k: [m_map.get((i, k)) for i in ids] for k in m_keys},
    )


# ---------------------------------------------------------------- history and artifacts


def metric_history(ref: str, key: str, *, store: Store | None = None) -> MetricHistory:
    """All points of metric ``key`` in run ``ref``, in step order.

    Example:
        >>> metric_history("3f2a", "loss").to_frame()  # doctest: +SKIP
    """
    store = store or open_current()
    with store.read() as conn:
        r = resolve_run(conn, ref)
        # both in the index: no sort; id keeps log order within a step
        rows = conn.execute(
            select(metrics.c.step, metrics.c.value, metrics.c.timestamp)
            .where(metrics.c.run_id == r.id, metrics.c.key == key)
            .order_by(metrics.c.step, metrics.c.id)
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
