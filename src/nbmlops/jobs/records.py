"""Read jobs back: list them, show one (or a whole sweep), print an executed notebook's log, save
it.

Jobs are runs, so the run filter language works here too
(``job list --filter "params.C > 0.1"``); runs whose process died are marked
KILLED before they are listed, as ``runs list`` does.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select

from ..errors import InvalidInput, NotFound, check_page
from ..refs import resolve_run
from ..result import (
    Block,
    Fields,
    Heading,
    Html,
    Message,
    Note,
    Result,
    Table,
    fmt_bytes,
    fmt_duration,
    status_cell,
    timestamp,
)
from ..store.meta import jobs, runs
from ..tracking import filters
from ..tracking.reading import reap_dead_runs
from ..workspace import open_current
from . import notebook as nbk
from .results import JobResult, compact, load_jobs, short_path
from .sweep import SweepResult, point_entry, rank_points

if TYPE_CHECKING:
    from ..store import Store
    from .sweep import SweepResult

MODES = ("run", "sweep", "validation", "reproduction")


@dataclasses.dataclass(repr=False)
class JobList(Result):
    """A page of jobs, newest first."""

    jobs: list[JobResult]
    total: int
    filter: str | None = None
    offset: int = 0

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(
            [
                {
                    "id": j.run_id,
                    "name": j.name,
                    "mode": j.mode,
                    "status": j.status,
                    "notebook": j.notebook,
                    "start_time": timestamp(j.start_time),
                    "duration_s": j.duration_s,
                    **{f"params.{k}": v for k, v in j.parameters.items()},
                    **{f"metrics.{k}": v for k, v in j.metrics.items()},
                    "failed_at": j.where or None,
                    "error": j.error,
                    "output": j.output,
                }
                for j in self.jobs
            ]
        )

    def blocks(self) -> list[Block]:
        if not self.jobs:
            if self.filter:
                return [Note(f"No jobs match {self.filter!r} ({self.total} in all).")]
            return [
                Note(
                    "No jobs yet; run a notebook with `mlops job run notebook.ipynb -p NAME VALUE`."
                )
            ]
        rows = []
        for j in self.jobs:
            metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(j.metrics.items())[:3])
            failed = (j.error or "") if j.status != "FINISHED" else ""
            rows.append(
                [
                    j.run_id[:8],
                    j.name,
                    j.mode,
                    status_cell(j.status),
                    timestamp(j.start_time),
                    fmt_duration(j.duration_s),
                    compact(j.parameters, 40),
                    metrics,
                    failed,
                    f"{j.output} ({fmt_bytes(j.output_size)})" if j.output else "",
                ]
            )
        last = self.offset + len(self.jobs)
        return [
            Table(
                [
                    "id",
                    "name",
                    "mode",
                    "status",
                    "started",
                    "duration",
                    "parameters",
                    "metrics",
                    "error",
                    "output",
                ],
                rows,
                footer=f"Jobs {self.offset + 1}-{last} of {self.total}.",
            )
        ]


def list_jobs(
    filter: str | None = None,
    *,
    status: str | None = None,
    mode: str | None = None,
    sweep: str | None = None,
    limit: int = 50,
    offset: int = 0,
    store: Store | None = None,
) -> JobList:
    """Jobs and sweeps, newest first; ``filter`` is the runs filter language.

    Example:
        >>> list_jobs("params.C > 0.1", status="failed").to_frame()  # doctest: +SKIP
    """

    check_page(limit, offset)
    if mode is not None and mode not in MODES:
        raise InvalidInput(f"mode must be one of {', '.join(MODES)}, not {mode!r}.")
    store = store or open_current()
    reap_dead_runs(store)
    condition = filters.where(filter)
    if status:
        condition = and_(condition, runs.c.status == status.upper())
    if mode:
        condition = and_(condition, jobs.c.mode == mode)
    with store.read() as conn:
        if sweep:
            condition = and_(condition, jobs.c.sweep_id == resolve_run(conn, sweep).id)
        joined = runs.join(jobs, jobs.c.run_id == runs.c.id)
        total = conn.execute(select(func.count()).select_from(joined).where(condition)).scalar_one()
        ids = (
            conn.execute(
                select(runs.c.id)
                .select_from(joined)
                .where(condition)
                .order_by(runs.c.start_time.desc())
                .limit(limit)
                .offset(offset)
            )
            .scalars()
            .all()
        )
        found = {j.run_id: j for j in load_jobs(conn, runs.c.id.in_(ids))} if ids else {}
    return JobList([found[i] for i in ids], total, filter, offset)


# ---------------------------------------------------------------- show


@dataclasses.dataclass(repr=False)
class JobDetail(Result):
    """One job with its failing cell, validation checks and child runs."""

    job: JobResult
    failing_source: str | None
    traceback: str | None
    checks: list[dict[str, str]] | None
    children: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.job.to_dict(),
            "failing_source": self.failing_source,
            "traceback": self.traceback,
            "checks": self.checks,
            "children": self.children,
        }

    def blocks(self) -> list[Block]:
        out = self.job.blocks()
        if self.failing_source is not None:
            out.append(Heading(f"Failing cell ({self.job.where})", 4))
            out.append(_pre(self.failing_source))
            if self.traceback:
                out.append(_pre(self.traceback))
        if self.checks:
            rows = [[c["check"], status_cell(c["status"]), c["detail"]] for c in self.checks]
            out.append(Table(["check", "result", "detail"], rows, title="Validation checks"))
        if self.children:
            rows = [[c["id"][:8], c["name"], status_cell(c["status"])] for c in self.children]
            out.append(
                Table(
                    ["child run", "name", "status"], rows, title="Runs started inside the notebook"
                )
            )
        return out


def _pre(text: str) -> Html:
    return Html(f'<pre style="white-space:pre-wrap">{html.escape(text)}</pre>', text)


def _output_node(store: Store, job: JobResult) -> Any | None:
    if not job.output_digest:
        return None
    import nbformat  # lazy: start-up time

    return nbformat.reads(
        store.objects.get(job.output_digest, verify=True).decode("utf-8"), as_version=4
    )


def _traceback(cell: Any) -> str:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return nbk.plain(
                "\n".join(
                    output.get("traceback") or [f"{output.get('ename')}: {output.get('evalue')}"]
                )
            )
    return ""


def get_job(ref: str, *, store: Store | None = None) -> JobDetail | SweepResult:
    """One job by run id (or prefix), or the whole comparison of a sweep.

    Example:
        >>> get_job("3f2a")  # doctest: +SKIP
    """

    store = store or open_current()
    reap_dead_runs(store)
    with store.read() as conn:
        row = resolve_run(conn, ref)
        found = load_jobs(conn, runs.c.id == row.id)
        if not found:
            raise NotFound(
                f"Run {row.id[:8]} is not a job; `mlops runs show {row.id[:8]}` shows it."
            )
        if found[0].mode == "sweep":
            return load_sweep(conn, found[0])
        checks = conn.execute(select(jobs.c.checks).where(jobs.c.run_id == row.id)).scalar()
        children = conn.execute(
            select(runs.c.id, runs.c.name, runs.c.status)
            .where(runs.c.parent_id == row.id)
            .order_by(runs.c.start_time)
        ).all()
    job = found[0]
    source = tb = None
    if job.error_cell is not None:
        node = _output_node(store, job)
        if node is not None and job.error_cell < len(node.cells):
            source, tb = node.cells[job.error_cell].source, _traceback(node.cells[job.error_cell])
    return JobDetail(
        job,
        source,
        tb,
        json.loads(checks) if checks else None,
        [{"id": c.id, "name": c.name, "status": c.status} for c in children],
    )


def load_sweep(conn: Any, sweep: JobResult) -> SweepResult:
    """A stored sweep as the same :class:`SweepResult` the sweep returned."""

    spec = json.loads(
        conn.execute(select(jobs.c.spec).where(jobs.c.run_id == sweep.run_id)).scalar() or "{}"
    )
    attempts = load_jobs(conn, jobs.c.sweep_id == sweep.run_id)
    latest: dict[int, JobResult] = {}
    tries: dict[int, list[str]] = {}
    for a in sorted(attempts, key=lambda j: (j.point or 0, j.attempt)):
        tries.setdefault(a.point or 0, []).append(a.run_id)
        latest[a.point or 0] = a
    keys = spec.get("keys") or sorted({k for a in attempts for k in a.parameters})
    entries = []
    for point, job in latest.items():
        job.previous_attempts = tries[point][:-1]
        entries.append(point_entry(point, job, keys, job.parameters))
    return SweepResult(
        sweep.run_id,
        sweep.name,
        sweep.notebook,
        sweep.status,
        spec.get("executor", ""),
        keys,
        spec.get("metric"),
        spec.get("goal", "max"),
        rank_points(entries, spec.get("metric"), spec.get("goal", "max")),
        sweep.duration_s,
        sweep.error,
        spec.get("seed"),
        spec.get("points"),
    )


# ---------------------------------------------------------------- log and output


@dataclasses.dataclass(repr=False)
class JobLog(Result):
    """The executed notebook as text: each code cell's source and outputs."""

    run_id: str
    cells: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        out: list[Block] = []
        for c in self.cells:
            label = f"In [{c['count']}]" if c["count"] is not None else "In [ ]"
            out.append(
                Heading(
                    f"{label} · cell {c['index'] + 1}" + (" · FAILED" if c["failed"] else ""), 4
                )
            )
            out.append(_pre(c["source"]))
            if c["output"]:
                out.append(_pre(c["output"]))
        return out or [Note("No code cells to show.")]


def _output_text(cell: Any) -> str:
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(nbk.plain(output.get("text", "")).rstrip("\n"))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            parts.append(
                nbk.plain(data["text/plain"])
                if "text/plain" in data
                else "[" + ", ".join(data) + "]"
            )
        elif kind == "error":
            parts.append(_traceback(cell))
    return "\n".join(p for p in parts if p)


def job_log(
    ref: str, *, cell: int | None = None, errors: bool = False, store: Store | None = None
) -> JobLog:
    """The executed notebook of job ``ref`` as text (one cell, or only the failing one with
    ``errors``).

    Example:
        >>> print(job_log("3f2a", errors=True))  # doctest: +SKIP
    """
    store = store or open_current()
    with store.read() as conn:
        row = resolve_run(conn, ref)
        found = load_jobs(conn, runs.c.id == row.id)
    if not found or found[0].mode == "sweep":
        raise NotFound(f"Run {row.id[:8]} is not a job with an executed notebook.")
    job = found[0]
    node = _output_node(store, job)
    if node is None:
        raise NotFound(f"Job {row.id[:8]} has no executed notebook (it never started).")
    if cell is not None and not 1 <= cell <= len(node.cells):
        raise InvalidInput(
            f"The executed notebook has cells 1 to {len(node.cells)}; there is no cell {cell}."
        )
    cells = []
    for index, c in enumerate(node.cells):
        if c.get("cell_type") != "code" or (cell is not None and index != cell - 1):
            continue
        if errors and index != job.error_cell:
            continue
        cells.append(
            {
                "index": index,
                "count": c.get("execution_count"),
                "source": c.source,
                "output": _output_text(c),
                "failed": index == job.error_cell,
            }
        )
    if errors and not cells:
        raise NotFound(
            f"Job {row.id[:8]} has no failing cell" + (f" ({job.error})." if job.error else ".")
        )
    return JobLog(row.id, cells)


def save_output(
    ref: str, out: str, *, snapshot: bool = False, store: Store | None = None
) -> Message:
    """Write job ``ref``'s executed notebook (or, with ``snapshot``, the notebook as it was run) to
    ``out``.

    Example:
        >>> save_output("3f2a", "train.out.ipynb")  # doctest: +SKIP
    """
    store = store or open_current()
    with store.read() as conn:
        row = resolve_run(conn, ref)
        found = load_jobs(conn, runs.c.id == row.id)
    if not found:
        raise NotFound(f"Run {row.id[:8]} is not a job.")
    digest = found[0].notebook_digest if snapshot else found[0].output_digest
    if digest is None:
        raise NotFound(
            f"Job {row.id[:8]} has no executed notebook (it never started); --snapshot saves its "
            "input."
        )
    data = store.objects.get(digest, verify=True)
    try:
        with open(out, "wb") as f:
            f.write(data)
    except OSError as e:
        raise InvalidInput(f"Cannot write {out}: {e.strerror or e}.") from None
    what = "notebook snapshot" if snapshot else "executed notebook"
    return Message(f"Wrote the {what} of job {row.id[:8]} to {out} ({fmt_bytes(len(data))}).", "ok")


# ---------------------------------------------------------------- parameters


@dataclasses.dataclass(repr=False)
class NotebookParameters(Result):
    """What a notebook's parameters cell declares (papermill's --help-notebook)."""

    notebook: str
    parameters: list[dict[str, Any]]
    tagged: bool

    def blocks(self) -> list[Block]:
        head: list[Block] = [Heading(f"Parameters of {os.path.basename(self.notebook)}")]
        if not self.tagged:
            return [
                *head,
                Note(
                    "No cell is tagged 'parameters'; papermill would inject values at the top.",
                    "warn",
                ),
            ]
        rows = [[p["name"], p["type"], p["default"], p["help"]] for p in self.parameters]
        return [
            *head,
            Table(["parameter", "type", "default", "help"], rows),
            Fields([("notebook", short_path(self.notebook))]),
        ]


def notebook_parameters(notebook: str | os.PathLike[str]) -> NotebookParameters:
    """The parameters a notebook declares, their types and defaults.

    Example:
        >>> notebook_parameters("train.ipynb").to_frame()  # doctest: +SKIP
    """
    nb = nbk.read_notebook(notebook)
    declared = nbk.declared_parameters(nb) or {}
    rows = [
        {
            "name": d.name,
            "type": d.type_name if d.type_name != "None" else "",
            "default": d.source,
            "help": d.help,
        }
        for d in declared.values()
    ]
    return NotebookParameters(nb.path, rows, bool(nbk.parameters_cell_indexes(nb.node)))
