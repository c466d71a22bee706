"""``run_job``: read a notebook, require its validation when asked, prepare the job and execute
it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..workspace import open_current
from . import notebook as nbk
from .execute import execute_with_retries, prepare
from .validate import require_validation

if TYPE_CHECKING:
    from ..store import Store
    from .results import JobResult


def run_job(
    notebook: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    name: str | None = None,
    validated: bool = False,
    tags: Mapping[str, Any] | None = None,
    kernel: str | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    retries: int = 0,
    progress: bool = True,
    log_output: bool = False,
    store: Store | None = None,
) -> JobResult:
    """Execute a notebook with papermill as a job run; returns its status, metrics and output.

    A failing notebook does not raise: the result (and the run) say FAILED with
    the failing cell and error. ``validated=True`` first requires the notebook
    to pass :func:`~nbmlops.jobs.validate` (a passing validation of the same
    notebook content is reused).

    Example:
        >>> res = run_job("train.ipynb", {"C": 0.5, "data": "loans@3"})  # doctest: +SKIP
        >>> res.status, res.metrics["accuracy"]  # doctest: +SKIP
        ('FINISHED', 0.91)
    """
    store = store or open_current()
    nb = nbk.read_notebook(notebook)
    if validated:
        require_validation(nb, store=store, kernel=kernel)
    spec = prepare(
        nb,
        parameters,
        store=store,
        name=name,
        tags=tags,
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        retries=retries,
        validated=validated,
        progress=progress,
        log_output=log_output,
    )
    return execute_with_retries(spec, store)


__all__ = ["run_job"]
