"""What a job left: :class:`JobResult`, read back from the runs and jobs tables.

One reader (:func:`load_jobs`) serves the result of ``run_job``, each sweep
point, ``job show`` and ``job list``, so a job looks the same wherever it is
shown.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import NotFound
from ..result import (
    Block,
    Fields,
    Heading,
    Note,
    Result,
    Table,
    fmt_bytes,
    fmt_duration,
    status_cell,
    timestamp,
)
from ..store.meta import artifacts, jobs, latest_metrics, runs
from ..workspace import open_current

if TYPE_CHECKING:
    from ..store import Store

OUTPUT_ARTIFACT = "output.ipynb"


def compact(parameters: dict[str, Any], limit: int = 80) -> str:
    """``C=0.5, penalty=l2`` for tables.

    Example:
        >>> compact({"C": 0.5, "penalty": "l2"})
        'C=0.5, penalty=l2'
    """
    text = ", ".join(
        f"{k}={v}" if isinstance(v, str) else f"{k}={v!r}" for k, v in parameters.items()
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclasses.dataclass(repr=False)
class JobResult(Result):
    """One executed job: status, parameters, metrics, the executed notebook, where it failed."""

    run_id: str
    name: str
    status: str
    mode: str
    notebook: str
    notebook_digest: str
    kernel: str
    parameters: dict[str, Any]
    metrics: dict[str, float]
    start_time: float
    duration_s: float | None
    output: str | None
    output_size: int | None
    output_digest: str | None
    error: str | None
    error_cell: int | None
    error_count: int | None
    attempt: int
    warnings: list[str]
    data_refs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    validated: bool = False
    sweep_id: str | None = None
    point: int | None = None
    parent_id: str | None = None
    reproduces: str | None = None
    previous_attempts: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "FINISHED"

    def blocks(self) -> list[Block]:
        short = self.run_id[:8]
        out: list[Block] = [Heading(f"Job {self.name} · {short}")]
        if self.status == "FINISHED":
            out.append(Note(f"Finished in {fmt_duration(self.duration_s)}.", "ok"))
        elif self.status == "RUNNING":
            out.append(Note("Still running.", "info"))
        else:
            out.append(
                Note(f"{self.status.capitalize()}: {self.error or 'no reason recorded'}", "alert")
            )
        fields: list[tuple[str, Any]] = [
            ("run", self.run_id),
            ("status", status_cell(self.status)),
            ("notebook", short_path(self.notebook)),
            ("snapshot", self.notebook_digest[:12]),
            ("kernel", self.kernel),
            ("parameters", compact(self.parameters, 400) or "(defaults)"),
            ("started", timestamp(self.start_time)),
            ("duration", fmt_duration(self.duration_s)),
        ]
        for param, ref in self.data_refs.items():
            fields.append(
                (f"data {param}", f"{ref['ref']} → {ref['pinned']} (digest {ref['digest'][:12]})")
            )
        if self.mode != "run":
            fields.append(("mode", self.mode))
        if self.sweep_id:
            fields.append(("sweep", f"{self.sweep_id[:8]} point {self.point}"))
        if self.reproduces:
            fields.append(("reproduces", self.reproduces[:8]))
        if self.attempt > 1 or self.previous_attempts:
            earlier = ", ".join(r[:8] for r in self.previous_attempts)
            fields.append(
                ("attempt", f"{self.attempt}" + (f" (earlier: {earlier})" if earlier else ""))
            )
        if self.validated:
            fields.append(("validated", "yes"))
        if self.output:
            fields.append(("output notebook", f"{self.output} ({fmt_bytes(self.output_size)})"))
        if self.error_cell is not None:
            fields.append(("failed at", self.where))
        out.append(Fields(fields))
        if self.metrics:
            rows = [[k, v] for k, v in sorted(self.metrics.items())]
            out.append(Table(["metric", "value"], rows, title="Metrics"))
        out.extend(Note(w, "warn") for w in self.warnings)
        if self.error_cell is not None:
            out.append(
                Note(f"`mlops job log {short} --errors` shows the failing cell and its traceback.")
            )
        elif self.output:
            out.append(
                Note(f"`mlops job output {short} -o out.ipynb` saves the executed notebook.")
            )
        return out

    @property
    def where(self) -> str:
        """The failing cell as Jupyter shows it: ``In [4]`` (or its position when it never ran)."""
        if self.error_cell is None:
            return ""
        return (
            f"In [{self.error_count}]"
            if self.error_count is not None
            else f"cell {self.error_cell + 1}"
        )


def run_metrics(conn: Any, run_ids: list[str]) -> dict[str, dict[str, float]]:
    """Latest metric values per run (NaN where the store holds NULL for it)."""
    out: dict[str, dict[str, float]] = {r: {} for r in run_ids}
    if run_ids:
        for m in conn.execute(select(latest_metrics).where(latest_metrics.c.run_id.in_(run_ids))):
            out[m.run_id][m.key] = float("nan") if m.value is None else m.value
    return out


def _job_rows(conn: Any, condition: Any) -> list[Any]:
    query = (
        select(
            runs,
            jobs.c.mode,
            jobs.c.notebook,
            jobs.c.notebook_digest,
            jobs.c.kernel,
            jobs.c.parameters,
            jobs.c.data_refs,
            jobs.c.output_digest,
            jobs.c.sweep_id,
            jobs.c.point,
            jobs.c.attempt,
            jobs.c.reproduces,
            jobs.c.validated,
            jobs.c.warnings,
            jobs.c.error_cell,
            jobs.c.error_count,
            jobs.c.error.label("job_error"),
        )
        .select_from(runs.join(jobs, jobs.c.run_id == runs.c.id))
        .where(condition)
    )
    return list(conn.execute(query))


def load_jobs(conn: Any, condition: Any) -> list[JobResult]:
    """Every job matching ``condition`` (a SQLAlchemy condition on runs/jobs), as
    :class:`JobResult`."""
    rows = _job_rows(conn, condition)
    ids = [r.id for r in rows]
    metrics = run_metrics(conn, ids)
    outputs = (
        {
            a.run_id: a
            for a in conn.execute(
                select(artifacts.c.run_id, artifacts.c.name, artifacts.c.size).where(
                    artifacts.c.run_id.in_(ids), artifacts.c.name == OUTPUT_ARTIFACT
                )
            )
        }
        if ids
        else {}
    )
    out = []
    for r in rows:
        artifact = outputs.get(r.id)
        out.append(
            JobResult(
                run_id=r.id,
                name=r.name,
                status=r.status,
                mode=r.mode,
                notebook=r.notebook,
                notebook_digest=r.notebook_digest,
                kernel=r.kernel,
                parameters=json.loads(r.parameters),
                metrics=metrics[r.id],
                start_time=r.start_time,
                duration_s=(r.end_time - r.start_time) if r.end_time else None,
                output=artifact.name if artifact else None,
                output_size=artifact.size if artifact else None,
                output_digest=r.output_digest,
                error=r.error or r.job_error,
                error_cell=r.error_cell,
                error_count=r.error_count,
                attempt=r.attempt,
                warnings=json.loads(r.warnings),
                data_refs=json.loads(r.data_refs),
                validated=bool(r.validated),
                sweep_id=r.sweep_id,
                point=r.point,
                parent_id=r.parent_id,
                reproduces=r.reproduces,
            )
        )
    return out


def load_job(run_id: str, *, store: Store | None = None) -> JobResult:
    """The job whose run id is ``run_id`` (exact id)."""
    store = store or open_current()
    with store.read() as conn:
        found = load_jobs(conn, runs.c.id == run_id)
    if not found:
        raise NotFound(f"Run {run_id[:8]} is not a job.")
    return found[0]


def short_path(path: str) -> str:
    """A notebook path relative to the current folder when it is inside it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


__all__ = [
    "JobResult",
    "load_job",
    "load_jobs",
    "run_metrics",
    "compact",
    "short_path",
    "OUTPUT_ARTIFACT",
]
