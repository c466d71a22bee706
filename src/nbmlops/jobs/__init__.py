"""Notebooks as jobs: validated, parameterized, reproducible papermill runs, sweeps and scale-out.

``run_job`` executes a notebook with papermill as a run (kind ``job``) that the
notebook itself logs into; ``sweep`` fans a notebook out over a grid or random
search on a local process pool or Dask; ``validate`` checks a notebook is fit to
run unattended; ``reproduce`` re-executes a past job from its stored snapshot and
compares. Nothing heavy (papermill, Dask) is imported until a job runs.

Example:
    >>> from nbmlops import jobs
    >>> res = jobs.run_job("train.ipynb", {"C": 0.5, "data": "loans@3"})  # doctest: +SKIP
    >>> res.status, res.metrics  # doctest: +SKIP
    ('FINISHED', {'accuracy': 0.91})
"""

from __future__ import annotations

from .execute import JobSpec
from .executors import ClusterUnavailable, executor_url, open_executor, register_executor
from .launch import run_job
from .records import (
    JobDetail,
    JobList,
    JobLog,
    get_job,
    job_log,
    list_jobs,
    notebook_parameters,
    save_output,
)
from .reproduce import Reproduction, reproduce
from .results import JobResult, load_job
from .sweep import SweepResult, sweep
from .validate import ValidationResult, validate

__all__ = [
    "run_job",
    "sweep",
    "validate",
    "reproduce",
    "list_jobs",
    "get_job",
    "job_log",
    "save_output",
    "notebook_parameters",
    "load_job",
    "executor_url",
    "open_executor",
    "register_executor",
    "JobResult",
    "SweepResult",
    "ValidationResult",
    "Reproduction",
    "JobList",
    "JobDetail",
    "JobLog",
    "JobSpec",
    "ClusterUnavailable",
]
