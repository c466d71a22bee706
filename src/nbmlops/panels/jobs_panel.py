"""The jobs panel: running and recent jobs and sweeps with their progress, refreshed while any
runs."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import MlopsError, check_page
from ..jobs import get_job, list_jobs
from ..jobs.results import JobResult, compact
from ..jobs.sweep import SweepResult
from ..result import fmt, fmt_duration, timestamp
from ..workspace import open_current
from .frame import Messages, Panel, guarded
from .table import StaticSource, TableWidget, column, status

if TYPE_CHECKING:
    from ..store import Store

REFRESH_S = 3.0
NO_JOBS = "No jobs yet; run a notebook with `mlops job run notebook.ipynb -p NAME VALUE`."


def progress(job: JobResult, sweep: SweepResult | None) -> str:
    """``'5 of 8 points (1 failed)'`` for a sweep, else the status in words."""
    if sweep is None:
        return {"RUNNING": "running", "FINISHED": "done"}.get(job.status, job.status.lower())
    done = [p for p in sweep.points if p["status"] != "RUNNING"]
    failed = [p for p in done if p["status"] != "FINISHED"]
    total = sweep.planned or len(sweep.points)
    return f"{len(done)} of {total} points" + (f" ({len(failed)} failed)" if failed else "")


class JobsPanel(Panel):
    """Jobs newest first; sweeps show their points done; it refreshes itself while a job runs."""

    def __init__(
        self, limit: int = 100, *, store: Store | None = None, refresh_s: float = REFRESH_S
    ) -> None:
        self.limit = limit
        self.store = store or open_current()
        self.refresh_s = refresh_s
        self.columns = [
            column("id", width=90),
            column("name", sort_key="name", width=170),
            column("mode", sort_key="mode", width=90),
            column("status", kind="status", sort_key="status", width=100),
            column("progress", width=170),
            column("started", sort_key="started", width=160),
            column("duration", width=100),
            column("parameters", width=220),
            column("metrics", width=220),
            column("error", width=300),
        ]
        self.source = StaticSource(self.columns, [], empty_text=NO_JOBS)
        self.table = TableWidget(self.source, multi=False, placeholder="find a job", height=300)
        self.details = Messages()
        self.note = Messages()
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _b: self.reload())
        self.table.observe(lambda _c: self.show_job(), names="activated")
        self._timer: threading.Timer | None = None
        self.jobs: list[JobResult] = []
        self.reload()
        box = widgets.VBox(
            [widgets.HBox([self.refresh_button, self.note]), self.table, self.details]
        )
        box.add_class("nbm-jobs-panel")
        super().__init__(box, list_jobs(limit=20, store=self.store))

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for job in self.jobs:
            sweep = None
            if job.mode == "sweep":
                found = guarded(self.note, lambda j=job: get_job(j.run_id, store=self.store))
                sweep = found if isinstance(found, SweepResult) else None
            metrics = ", ".join(f"{k}={fmt(v)}" for k, v in sorted(job.metrics.items())[:3])
            out.append(
                {
                    "key": job.run_id,
                    "cells": [
                        job.run_id[:8],
                        job.name,
                        job.mode,
                        status(job.status),
                        progress(job, sweep),
                        fmt(timestamp(job.start_time)),
                        fmt_duration(job.duration_s),
                        compact(job.parameters, 60),
                        metrics,
                        (job.error or "") if job.status != "FINISHED" else "",
                    ],
                }
            )
        return out

    def reload(self) -> None:
        """Read the jobs again; while any runs, read them again in ``refresh_s`` seconds."""
        try:
            self.jobs = list_jobs(limit=self.limit, store=self.store).jobs
        except MlopsError as e:
            self.note.say(str(e), "alert")
            return
        self.source.rows = self.rows()
        self.table.refresh()
        running = sum(j.status == "RUNNING" for j in self.jobs)
        self.note.say(
            f"{running} running; refreshing every {self.refresh_s:g} s."
            if running
            else f"{len(self.jobs)} recent jobs; nothing running."
        )
        if self.table.activated:
            self.show_job()
        if running and self._timer is None:
            self._timer = threading.Timer(self.refresh_s, self._tick)
            self._timer.daemon = True
            self._timer.start()

    def _tick(self) -> None:
        self._timer = None
        self.reload()

    def show_job(self) -> None:
        """The clicked job (its failing cell) or sweep (its points, best first)."""
        ref = self.table.activated
        found = guarded(self.details, lambda: get_job(ref, store=self.store)) if ref else None
        if found is not None:
            self.details.show_result(found)


def jobs(limit: int = 100, *, store: Store | None = None) -> JobsPanel:
    """Running and recent jobs and sweeps with their progress (refreshes while something runs).

    Example:
        >>> mo.panels.jobs()  # doctest: +SKIP
    """
    check_page(limit)
    return JobsPanel(limit, store=store)
