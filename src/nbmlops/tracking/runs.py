"""Experiment tracking: start runs and log params, metrics, tags, artifacts and notes.

``start_run`` opens a run (a child of the active one, if any) and captures its
context; ``log_metric`` is buffered (see ``buffer.py``) so it costs about a
microsecond; everything else is written at once. Inside a notebook executed as
a job, ``MLOPS_RUN_ID`` names the job's run and every call logs into it.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, insert, select, update

from ..errors import Conflict, InvalidInput, NotFound
from ..redaction import redact
from ..refs import resolve_run
from ..result import Message
from ..store.database import dialect_insert
from ..store.meta import artifacts as artifacts_table
from ..store.meta import latest_metrics, params, runs
from ..store.meta import tags as tags_table
from ..workspace import open_current
from . import artifacts as _artifacts
from .buffer import BUFFER, FLUSH_AT
from .context import ResourceClock, capture_end, capture_start, ensure_package_set, notebook_path

if TYPE_CHECKING:
    from ..store import Store

HEARTBEAT_S = 30.0
MAX_KEY = 255
MAX_PARAM = 65_535
REAPED = "The process running it ended without closing the run (killed or crashed)."

# built once: SQLAlchemy memoises the compiled form of a statement object
_INSERT_RUN = insert(runs)
_INSERT_PARAMS = insert(params)
_PARAMS_OF_RUN = select(params.c.key, params.c.value, params.c.value_json).where(
    params.c.run_id == bindparam("run"), params.c.key.in_(bindparam("keys", expanding=True))
)
_END_RUN = (
    update(runs)
    .where(runs.c.id == bindparam("run"))
    .values(
        status=bindparam("new_status"),
        end_time=bindparam("ended"),
        context=bindparam("new_context"),
        error=bindparam("new_error"),
    )
)


def process_start(pid: int) -> float | None:
    """When process ``pid`` started (clock ticks since boot), to tell a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return float(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _check_key(key: Any, what: str) -> str:
    if not isinstance(key, str):
        raise InvalidInput(f"{what} names must be text, not {type(key).__name__} {key!r}.")
    if (
        not key
        or len(key) > MAX_KEY
        or "\x00" in key
        or not key.isprintable()
        and not _encodable(key)
    ):
        raise InvalidInput(
            f"{what} name {key[:40]!r} must be 1 to {MAX_KEY} characters of UTF-8 text with no "
            "NUL byte."
        )
    return key


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:  # surrogates from a file name in another encoding
        return False


def _to_float(key: str, value: Any) -> float:
    if isinstance(value, (str, bytes)):
        raise InvalidInput(f"Metric {key!r} must be a number, not text {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"Metric {key!r} must be a number, not {type(value).__name__}."
        ) from None


def encode_param(run_id: str, key: str, value: Any) -> dict[str, Any]:
    """A params row: display text, the JSON value when it round-trips, the number when it is one."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    note = None
    number = None
    if isinstance(value, bool) or value is None:
        text = body = json.dumps(value)
    elif isinstance(value, int):
        text = body = str(value)
        number = float(value)
    elif isinstance(value, float):
        text, body = repr(value), json.dumps(value)
        number = value if math.isfinite(value) else None
    elif isinstance(value, str):
        text, body = value, json.dumps(value)
        try:
            parsed = float(value)
            number = parsed if math.isfinite(parsed) else None
        except ValueError:
            pass
    else:
        try:
            text = body = json.dumps(value, sort_keys=True)
        except (TypeError, ValueError):
            text, body, note = repr(value), None, "stored as repr(): not JSON-serialisable"
    if len(text) > MAX_PARAM:
        text, body, note = text[:MAX_PARAM], None, f"truncated to {MAX_PARAM} characters"
    return {
        "run_id": run_id,
        "key": key,
        "value": text,
        "value_json": body,
        "value_num": number,
        "note": note,
    }


class Run:
    """A run this process logs into.

    Example:
        >>> with start_run(name="baseline") as run:  # doctest: +SKIP
        ...     run.log_params(C=0.5)
        ...     run.log_metric("accuracy", 0.91)
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        name: str,
        parent_id: str | None,
        *,
        owned: bool,
        context: dict[str, Any] | None = None,
        steps: dict[str, int] | None = None,
    ) -> None:
        self.store = store
        self.id = run_id
        self.name = name
        self.parent_id = parent_id
        self.owned = owned
        self.ended = False
        self.status = "RUNNING"
        self._context = context or {}
        self._clock = ResourceClock()
        self._points = BUFFER.queue(store)
        self._steps: dict[str, int] = dict(steps or {})

    def __repr__(self) -> str:
        return f"<Run {self.name or '(unnamed)'} {self.id[:8]} {self.status}>"

    def _repr_html_(self) -> str:
        return f"<p>Run <b>{self.name}</b> <code>{self.id[:8]}</code> {self.status}</p>"

    # ------------------------------------------------------------ metrics (buffered)

    def log_metric(
        self, key: str, value: Any, step: int | None = None, timestamp: float | None = None
    ) -> None:
        """Record one value of a metric series; ``step`` defaults to the next step of that
        series."""
        if self.ended:
            raise Conflict(f"Run {self.id[:8]} has ended; start a new run to log more.")
        last = self._steps.get(key)
        if last is None:
            _check_key(key, "Metric")
            last = -1
        if type(value) is not float:
            value = _to_float(key, value)
        if step is None:
            step = last + 1
        elif type(step) is not int:
            if isinstance(step, bool) or not isinstance(step, (int, float)) or step != int(step):
                raise InvalidInput(
                    f"The step of metric {key!r} must be a whole number, not {step!r}."
                )
            step = int(step)
        self._steps[key] = step
        points = self._points
        points.append(
            (self.id, key, value, step, time.time() if timestamp is None else float(timestamp))
        )
        if len(points) >= FLUSH_AT:
            BUFFER.wake()

    def log_metrics(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Record several metrics at once (same step)."""
        for key, value in values.items():
            self.log_metric(key, value, step=step)

    # ------------------------------------------------------------ params, tags, notes (written now)

    def log_params(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Record parameters; a parameter cannot change value within a run."""
        items = {**(values or {}), **kwargs}
        rows = [encode_param(self.id, _check_key(k, "Parameter"), v) for k, v in items.items()]
        if not rows:
            return
        with self.store.write() as conn:
            existing = {
                r.key: r
                for r in conn.execute(
                    _PARAMS_OF_RUN, {"run": self.id, "keys": [r["key"] for r in rows]}
                )
            }
            new = []
            for row in rows:
                old = existing.get(row["key"])
                if old is None:
                    new.append(row)
                elif (old.value, old.value_json) != (row["value"], row["value_json"]):
                    raise Conflict(
                        f"Parameter {row['key']!r} is already {old.value!r} in run {self.id[:8]}; "
                        "parameters cannot change within a run, so start a new run."
                    )
            if new:
                conn.execute(_INSERT_PARAMS, new)
                self.store.audit(
                    conn, "run.params", "run", self.id, params={r["key"]: r["value"] for r in new}
                )
        for row in new:
            if row["note"]:
                print(f"nbmlops: parameter {row['key']!r} {row['note']}.", file=sys.stderr)

    def log_param(self, key: str, value: Any) -> None:
        """Record one parameter."""
        self.log_params({key: value})

    def set_tags(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set tags (free-form labels that may change)."""
        items = {_check_key(k, "Tag"): str(v) for k, v in {**(values or {}), **kwargs}.items()}
        if not items:
            return
        with self.store.write() as conn:
            ins = dialect_insert(conn)(tags_table)
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["run_id", "key"], set_={"value": ins.excluded.value}
                ),
                [{"run_id": self.id, "key": k, "value": v} for k, v in items.items()],
            )
            self.store.audit(conn, "run.tags", "run", self.id, tags=items)

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def note(self, text: str) -> None:
        """Append a line to the run's notes."""
        if not isinstance(text, str):
            raise InvalidInput(f"A note must be text, not {type(text).__name__}.")
        with self.store.write() as conn:
            old = conn.execute(select(runs.c.notes).where(runs.c.id == self.id)).scalar() or ""
            conn.execute(
                update(runs)
                .where(runs.c.id == self.id)
                .values(notes=(old + "\n" + text).strip("\n"))
            )
            self.store.audit(conn, "run.note", "run", self.id, text=text)

    # ------------------------------------------------------------ artifacts

    def log_artifact(
        self, obj: Any, name: str | None = None, *, overwrite: bool = False
    ) -> str | list[str]:
        """Store a figure, DataFrame, file, folder, dict or bytes with this run; returns the
        name(s)."""
        encoded = _artifacts.encode(obj, name)
        stored = []
        for item in encoded:  # objects first, rows after
            if item.path is not None:
                digest, size = self.store.objects.put_file(item.path)
            else:
                assert item.data is not None
                digest, size = self.store.objects.put(item.data), len(item.data)
            stored.append((item, digest, size))
        names = []
        with self.store.write() as conn:
            existing = {
                r.name: r.digest
                for r in conn.execute(
                    select(artifacts_table.c.name, artifacts_table.c.digest).where(
                        artifacts_table.c.run_id == self.id
                    )
                )
            }
            for item, digest, size in stored:
                target, replaced = item.name, None
                if item.default_name:
                    target = _artifacts.unique_name(target, set(existing))
                elif target in existing:
                    if existing[target] == digest:
                        names.append(target)
                        continue
                    if not overwrite:
                        raise Conflict(
                            f"Run {self.id[:8]} already has an artifact {target!r}; pass another "
                            "name or overwrite=True."
                        )
                    replaced = existing[target]
                    conn.execute(
                        artifacts_table.delete().where(
                            and_(
                                artifacts_table.c.run_id == self.id,
                                artifacts_table.c.name == target,
                            )
                        )
                    )
                conn.execute(
                    insert(artifacts_table).values(
                        run_id=self.id,
                        name=target,
                        digest=digest,
                        size=size,
                        media_type=item.media_type,
                        created_at=time.time(),
                    )
                )
                self.store.audit(
                    conn,
                    "run.artifact",
                    "run",
                    self.id,
                    name=target,
                    digest=digest,
                    size=size,
                    media_type=item.media_type,
                    replaced=replaced,
                )
                existing[target] = digest
                names.append(target)
        return names[0] if len(names) == 1 else names

    # ------------------------------------------------------------ lifecycle

    def end(self, status: str = "FINISHED", error: str | None = None) -> None:
        """Flush this run's metrics and close it with ``status``."""
        if self.ended:
            return
        BUFFER.flush(self.store)
        if self.owned:
            context = capture_end(self.store, self._context, self._clock)
            with self.store.write() as conn:
                conn.execute(
                    _END_RUN,
                    {
                        "run": self.id,
                        "new_status": status,
                        "ended": time.time(),
                        "new_context": json.dumps(context),
                        "new_error": redact(error) if error else error,
                    },
                )
                self.store.audit(conn, "run.end", "run", self.id, status=status)
        self.ended = True
        self.status = status if self.owned else self.status
        if self in _stack:
            _stack.remove(self)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.end("FINISHED")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("KILLED", "Interrupted.")
        else:
            self.end(
                "FAILED",
                f"{exc_type.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "),
            )

    def sample(self) -> None:
        self._clock.sample()


# ---------------------------------------------------------------- the active run

_stack: list[Run] = []
_attached: Run | None = None
_exit_hooked = False
_told_implicit = False
_uncaught: list[BaseException] = []


def _default_name() -> str:
    path = notebook_path()
    if path:
        return Path(path).stem
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""
    return (
        script
        if script and script not in ("-c", "ipykernel_launcher", "__main__", "pytest")
        else "run"
    )


def start_run(
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    notes: str = "",
    kind: str = "run",
    parent: str | None = None,
    store: Store | None = None,
) -> Run:
    """Open a run; inside another run it becomes that run's child.

    Example:
        >>> with start_run(name="baseline", tags={"team": "risk"}) as run:  # doctest: +SKIP
        ...     log_metric("loss", 0.3)
    """
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"A run name must be text, not {type(name).__name__}.")
    if name is not None and (len(name) > MAX_KEY or not _encodable(name)):
        raise InvalidInput(
            f"A run name must be UTF-8 text of at most {MAX_KEY} characters, not {name[:40]!r}."
        )
    store = store or open_current()
    if parent is None:
        current = active_run()
        parent = current.id if current is not None and current.store is store else None
    run_id = uuid.uuid4().hex
    name = name if name is not None else _default_name()
    context, (package_digest, packages) = capture_start(store)
    now = time.time()
    tag_rows = [
        {"run_id": run_id, "key": _check_key(k, "Tag"), "value": str(v)}
        for k, v in (tags or {}).items()
    ]
    with store.write() as conn:
        ensure_package_set(conn, package_digest, packages)
        conn.execute(
            _INSERT_RUN,
            {
                "id": run_id,
                "name": name,
                "kind": kind,
                "status": "RUNNING",
                "parent_id": parent,
                "username": store.user,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "pid_start": process_start(os.getpid()),
                "start_time": now,
                "heartbeat": now,
                "notes": notes,
                "context": json.dumps(context),
                "end_time": None,
                "error": None,
            },
        )
        if tag_rows:
            conn.execute(insert(tags_table), tag_rows)
        store.audit(conn, "run.start", "run", run_id, name=name, kind=kind, parent=parent)
    run = Run(store, run_id, name, parent, owned=True, context=context)
    _stack.append(run)
    _hook_exit()
    return run


def attach(run_id: str, store: Store | None = None) -> Run:
    """Log into an existing run owned by another process (a job's kernel does this)."""
    store = store or open_current()
    with store.read() as conn:
        row = conn.execute(select(runs.c.name, runs.c.parent_id).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"MLOPS_RUN_ID names run {run_id[:8]}, which is not in this workspace.")
        steps = dict(
            conn.execute(
                select(latest_metrics.c.key, latest_metrics.c.step).where(
                    latest_metrics.c.run_id == run_id
                )
            ).all()
        )
    _hook_exit()
    return Run(store, run_id, row.name, row.parent_id, owned=False, steps=steps)


def active_run() -> Run | None:
    """The innermost open run of this process, or the job run named by ``MLOPS_RUN_ID``."""
    global _attached
    if _stack:
        return _stack[-1]
    run_id = os.environ.get("MLOPS_RUN_ID")
    if not run_id:
        return None
    if _attached is None or _attached.id != run_id:
        _attached = attach(run_id)
    return _attached


def end_run(status: str = "FINISHED") -> None:
    """Close the innermost open run."""
    if _stack:
        _stack[-1].end(status)


def _logging_run(check: Callable[[], object] | None = None) -> Run:
    global _told_implicit
    run = active_run()
    if run is None:
        if check is not None:
            check()  # bad input must not leave an implicit run behind
        run = start_run(name="implicit")
        if not _told_implicit:
            print(
                f"nbmlops: no run was active, so run {run.id[:8]} was started for this logging; "
                "close it with mo.end_run().",
                file=sys.stderr,
            )
            _told_implicit = True
    return run


def log_metric(
    key: str, value: Any, step: int | None = None, timestamp: float | None = None
) -> None:
    """Record a metric value in the active run (starting one if none is open).

    Example:
        >>> for step, loss in enumerate([0.9, 0.5, 0.3]):  # doctest: +SKIP
        ...     log_metric("loss", loss, step=step)
    """
    run = (
        _stack[-1] if _stack else _logging_run(lambda: _to_float(_check_key(key, "Metric"), value))
    )
    run.log_metric(key, value, step, timestamp)


def log_metrics(values: Mapping[str, Any], step: int | None = None) -> None:
    """Record several metrics in the active run."""
    _logging_run(
        lambda: [_to_float(_check_key(k, "Metric"), v) for k, v in values.items()]
    ).log_metrics(values, step)


def log_params(values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Record parameters in the active run: ``log_params(C=0.5, penalty="l2")``."""
    _logging_run(
        lambda: [_check_key(k, "Parameter") for k in {**(values or {}), **kwargs}]
    ).log_params(values, **kwargs)


def log_param(key: str, value: Any) -> None:
    """Record one parameter in the active run."""
    _logging_run().log_param(key, value)


def set_tags(values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
    """Tag the active run."""
    _logging_run(lambda: [_check_key(k, "Tag") for k in {**(values or {}), **kwargs}]).set_tags(
        values, **kwargs
    )


def set_tag(key: str, value: Any) -> None:
    """Tag the active run with one label."""
    _logging_run().set_tag(key, value)


def log_artifact(obj: Any, name: str | None = None, *, overwrite: bool = False) -> str | list[str]:
    """Store an artifact with the active run: ``log_artifact(fig)``, ``log_artifact(df,
    "train.parquet")``."""
    return _logging_run().log_artifact(obj, name, overwrite=overwrite)


def note(text: str) -> None:
    """Append a note to the active run."""
    _logging_run().note(text)


def tag_run(ref: str, values: Mapping[str, Any], *, store: Store | None = None):  # type: ignore[no-untyped-def]
    """Set tags on any run, open or finished.

    Example:
        >>> tag_run("3f2a", {"reviewed": "yes"})  # doctest: +SKIP
    """

    store = store or open_current()
    with store.read() as conn:
        row = resolve_run(conn, ref)
    Run(store, row.id, row.name, row.parent_id, owned=False).set_tags(values)
    return Message(
        f"Tagged run {row.id[:8]}: " + ", ".join(f"{k}={v}" for k, v in values.items()) + ".", "ok"
    )


# ---------------------------------------------------------------- process lifecycle


def _tick() -> None:
    """Called by the metric writer thread: sample memory, and keep heartbeats fresh."""
    for run in list(_stack):
        run.sample()
    now = time.time()
    if now - getattr(_tick, "last", 0.0) < HEARTBEAT_S:
        return
    _tick.last = now  # type: ignore[attr-defined]
    open_runs = [r for r in [*_stack, _attached] if r is not None and not r.ended]
    by_store: dict[int, tuple[Store, list[str]]] = {}
    for run in open_runs:
        by_store.setdefault(id(run.store), (run.store, []))[1].append(run.id)
    for store, ids in by_store.values():
        with store.write() as conn:
            conn.execute(update(runs).where(runs.c.id.in_(ids)).values(heartbeat=now))
            # a run wrongly reaped while this process was asleep comes back to life
            revived = (
                conn.execute(
                    update(runs)
                    .where(runs.c.id.in_(ids), runs.c.status == "KILLED", runs.c.error == REAPED)
                    .values(status="RUNNING", end_time=None, error=None)
                    .returning(runs.c.id)
                )
                .scalars()
                .all()
            )
            for run_id in revived:
                store.audit(
                    conn, "run.resumed", "run", run_id, reason="its process is alive after all"
                )


def _hook_exit() -> None:
    global _exit_hooked
    if _exit_hooked:
        return
    _exit_hooked = True
    BUFFER.tick_hooks.append(_tick)
    previous = sys.excepthook

    def excepthook(exc_type, exc, tb):  # type: ignore[no-untyped-def]
        _uncaught.append(exc)
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_end_all)


def _end_all() -> None:
    """At interpreter exit: close every open run (failed if an exception escaped)."""
    for run in reversed(list(_stack)):
        try:
            if _uncaught:
                exc = _uncaught[-1]
                run.end("FAILED", f"{type(exc).__name__}: {exc}"[:1000])
            else:
                run.end("FINISHED")
        except Exception as e:  # noqa: BLE001 - report and go on closing the others
            print(f"nbmlops: could not close run {run.id[:8]}: {e}", file=sys.stderr)
    if _attached is not None:
        try:
            BUFFER.flush(_attached.store)
        except Exception as e:  # noqa: BLE001
            print(
                f"nbmlops: could not write metrics of run {_attached.id[:8]}: {e}", file=sys.stderr
            )
