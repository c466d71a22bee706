"""Buffered metric writes: ``log_metric`` appends to memory; one thread writes batches.

A point is a tuple ``(run_id, key, value, step, timestamp)`` appended to a
per-store ``deque`` (append and popleft are atomic, so the hot path takes no
lock). A daemon thread writes what accumulated every ``MLOPS_FLUSH_INTERVAL``
seconds (default 1 s), sooner when many points wait; ending a run and leaving
the interpreter flush synchronously.

What can be lost: on a clean exit, nothing. If the process is killed with
SIGKILL, at most the points accepted since the last flush, that is at most one
flush interval of logging (or ``FLUSH_AT`` points, whichever comes first),
plus the points of a flush still being written (one transaction: a kill
stores all of its points or none, never part). ``tests/test_buffer.py`` kills
a logging process and checks that every point older than one interval plus a
margin was stored. SIGTERM without a handler ends Python the same way; while
the database is unreachable, points wait in memory and share their process's fate.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, case, insert

from ..store.database import dialect_insert, retrying
from ..store.meta import latest_metrics, metrics

if TYPE_CHECKING:
    from ..store import Store

Point = tuple[str, str, float, int, float]
FLUSH_AT = 20_000
BATCH = 50_000


def flush_interval() -> float:
    try:
        return max(0.01, float(os.environ.get("MLOPS_FLUSH_INTERVAL", "1.0")))
    except ValueError:
        return 1.0


_INSERT_METRICS = insert(metrics)
_ADVANCE_LATEST: dict[str, Any] = {}


def _advance_latest(conn: Connection) -> Any:
    """Upsert each series' latest point, keeping the newer (step, timestamp); built once per
    dialect."""
    stmt = _ADVANCE_LATEST.get(conn.dialect.name)
    if stmt is None:
        ins = dialect_insert(conn)(latest_metrics)
        newer = (ins.excluded.step > latest_metrics.c.step) | (
            (ins.excluded.step == latest_metrics.c.step)
            & (ins.excluded.timestamp >= latest_metrics.c.timestamp)
        )
        stmt = _ADVANCE_LATEST[conn.dialect.name] = ins.on_conflict_do_update(
            index_elements=["run_id", "key"],
            set_={
                "value": case((newer, ins.excluded.value), else_=latest_metrics.c.value),
                "step": case((newer, ins.excluded.step), else_=latest_metrics.c.step),
                "timestamp": case(
                    (newer, ins.excluded.timestamp), else_=latest_metrics.c.timestamp
                ),
                "count": latest_metrics.c.count + ins.excluded.count,
            },
        )
    return stmt


def write_points(store: Store, points: list[Point]) -> None:
    """Insert metric points and advance each series' latest value, in one transaction."""

    def transaction() -> None:
        with store.write() as conn:
            insert_points(conn, points)

    retrying(transaction)


def insert_points(conn: Connection, points: list[Point]) -> None:
    """Insert metric points and advance each series' latest value inside the caller's
    transaction."""
    rows = []
    latest: dict[tuple[str, str], list[float | int | None]] = {}
    for run_id, key, value, step, ts in points:
        stored = None if math.isnan(value) else value  # SQLite cannot hold NaN: NULL stands for it
        rows.append({"run_id": run_id, "key": key, "value": stored, "step": step, "timestamp": ts})
        cur = latest.get((run_id, key))
        if cur is None:
            latest[(run_id, key)] = [stored, step, ts, 1]
        else:
            if (step, ts) >= (cur[1], cur[2]):  # type: ignore[operator]
                cur[0], cur[1], cur[2] = stored, step, ts
            cur[3] += 1  # type: ignore[operator]
    if not rows:
        return
    conn.execute(_INSERT_METRICS, rows)
    conn.execute(
        _advance_latest(conn),
        [
            {"run_id": r, "key": k, "value": v, "step": s, "timestamp": t, "count": n}
            for (r, k), (v, s, t, n) in latest.items()
        ],
    )


class MetricBuffer:
    """The process-wide buffer of metric points, one queue per store."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._queues: dict[Store, tuple[Store, deque[Point]]] = {}  # keyed by identity
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.tick_hooks: list[Callable[[], None]] = []
        self.last_error: str | None = None

    def queue(self, store: Store) -> deque[Point]:
        """The queue ``log_metric`` appends to for this store (starts the writer thread)."""
        if self._pid != os.getpid():  # forked: the parent's thread and points are not ours
            self._reset()
        entry = self._queues.get(store)
        if entry is None:
            entry = self._queues[store] = (store, deque())
        if self._thread is None:
            self._start()
        return entry[1]

    def wake(self) -> None:
        self._wake.set()

    def pending(self) -> int:
        return sum(len(q) for _, q in self._queues.values())

    def flush(self, store: Store | None = None) -> int:
        """Write every waiting point (of one store, or all); returns how many were written."""
        written = 0
        with self._flush_lock:
            for s, q in list(self._queues.values()):
                if store is not None and s is not store:
                    continue
                while q:
                    n = min(len(q), BATCH)
                    batch = [q.popleft() for _ in range(n)]
                    try:
                        write_points(s, batch)
                    except BaseException:
                        q.extendleft(reversed(batch))  # keep them for the next attempt
                        raise
                    written += n
        return written

    def discard(self) -> None:
        """Drop every waiting point and forget every store (tests reset the process with it)."""
        with self._flush_lock:
            self._queues.clear()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="nbmlops-metrics", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _loop(self) -> None:
        interval = flush_interval()
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush()
                self.last_error = None
            except Exception as e:  # noqa: BLE001 - keep the points, report once, try again
                message = str(e).splitlines()[0]
                if message != self.last_error:
                    print(
                        f"nbmlops: metrics not written yet, will retry: {message}", file=sys.stderr
                    )
                self.last_error = message
                time.sleep(min(interval * 5, 5.0))
            for hook in list(self.tick_hooks):
                try:
                    hook()
                except Exception:  # noqa: BLE001 - a heartbeat must never kill the writer
                    pass

    def close(self) -> None:
        """Stop the writer thread and write what is left (runs at interpreter exit)."""
        self._stop.set()
        self._wake.set()
        try:
            self.flush()
        except Exception as e:  # noqa: BLE001
            left = self.pending()
            print(
                f"nbmlops: {left} metric points could not be written: {str(e).splitlines()[0]}",
                file=sys.stderr,
            )


BUFFER = MetricBuffer()
