"""``mlops job ...`` / ``%mlops job ...``: run notebooks as jobs, sweep them, validate and reproduce
them.

Parameters follow papermill's command line: ``-p NAME VALUE`` (the value read
as YAML), ``-r NAME VALUE`` (raw text), ``-f params.yaml`` and ``-y YAML``.
On the command line a failed job, a failed validation, a sweep with failed
points or a reproduction that differs exits non-zero after printing its result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..jobs import (
    executor_url,
    get_job,
    job_log,
    list_jobs,
    notebook_parameters,
    run_job,
    save_output,
)
from ..jobs import reproduce as reproduce_job
from ..jobs import sweep as run_sweep
from ..jobs import validate as validate_notebook
from ..jobs.parameters import collect
from ..jobs.space import parse_grid, parse_random
from ..result import Result
from . import Group, option_tags


@click.group(cls=Group)
def job() -> None:
    """Run notebooks as parameterized papermill jobs and sweeps; validate, list, show and
    reproduce them."""


def _parameter_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option(
            "-p",
            "--parameter",
            "values",
            multiple=True,
            nargs=2,
            metavar="NAME VALUE",
            help="A parameter; VALUE is read as YAML (0.5, l2, [1, 2], loans@3). Repeatable.",
        ),
        click.option(
            "-r",
            "--raw",
            "raw",
            multiple=True,
            nargs=2,
            metavar="NAME VALUE",
            help="A parameter kept as raw text. Repeatable.",
        ),
        click.option(
            "-f",
            "--parameters-file",
            "files",
            multiple=True,
            metavar="FILE",
            help="A YAML file of parameters. Repeatable.",
        ),
        click.option(
            "-y", "--yaml", "yaml_text", metavar="YAML", help="Parameters as one YAML mapping."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _execution_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--name", help="Run name (default: the notebook's name)."),
        click.option(
            "--tag",
            "tag_items",
            multiple=True,
            metavar="KEY=VALUE",
            help="Tag the run. Repeatable.",
        ),
        click.option(
            "--validated",
            is_flag=True,
            help="Refuse to run unless the notebook passes `job validate`.",
        ),
        click.option("-k", "--kernel", help="Kernel to use (default: the notebook's kernelspec)."),
        click.option(
            "--cwd",
            type=click.Path(file_okay=False),
            help="Working folder (default: the notebook's).",
        ),
        click.option(
            "--timeout",
            type=float,
            metavar="SECONDS",
            help="Fail a cell that runs longer than this.",
        ),
        click.option(
            "--retries",
            default=0,
            show_default=True,
            help="Run a failed job again, up to this many times.",
        ),
        click.option("--no-progress", is_flag=True, help="Hide the progress bar."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _verdict(result: Result, failed: bool) -> Result:
    """Let the command line exit non-zero after printing a result whose outcome is a failure."""
    result.exit_code = 1 if failed else 0
    return result


def _parameters(
    values: tuple[tuple[str, str], ...],
    raw: tuple[tuple[str, str], ...],
    files: tuple[str, ...],
    yaml_text: str | None,
) -> dict[str, Any]:

    return collect(files=files, yaml_text=yaml_text, values=values, raw=raw)


@job.command()
@click.argument("notebook")
@click.option(
    "--compare",
    type=click.Choice(["tagged", "all", "none"]),
    default="tagged",
    show_default=True,
    help="Compare outputs with the saved notebook: cells tagged nbval-check-output, all cells, "
    "or none.",
)
@click.option("-k", "--kernel", help="Kernel to use (default: the notebook's kernelspec).")
@click.option(
    "--timeout", type=float, metavar="SECONDS", help="Fail a cell that runs longer than this."
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def validate(
    notebook: str, compare: str, kernel: str | None, timeout: float | None, no_progress: bool
) -> Result:
    """Check a notebook can run as a job: a parameters cell, saved cells run in order, a clean
    top-to-bottom run in a fresh kernel with the defaults, and (optionally) unchanged outputs."""

    result = validate_notebook(
        notebook, compare=compare, kernel=kernel, timeout=timeout, progress=not no_progress
    )
    return result


@job.command()
@click.argument("notebook")
@_parameter_options
@_execution_options
@click.option(
    "--log-output", is_flag=True, help="Stream the notebook's printed output while it runs."
)
def run(
    notebook: str,
    values: tuple[tuple[str, str], ...],
    raw: tuple[tuple[str, str], ...],
    files: tuple[str, ...],
    yaml_text: str | None,
    name: str | None,
    tag_items: tuple[str, ...],
    validated: bool,
    kernel: str | None,
    cwd: str | None,
    timeout: float | None,
    retries: int,
    no_progress: bool,
    log_output: bool,
) -> Result:
    """Execute a notebook with papermill as a job run: parameters, snapshot, executed notebook,
    metrics logged inside it, and the failing cell when it fails."""

    result = run_job(
        notebook,
        _parameters(values, raw, files, yaml_text),
        name=name,
        validated=validated,
        tags=option_tags(tag_items),
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        retries=retries,
        progress=not no_progress,
        log_output=log_output,
    )
    return _verdict(result, result.status != "FINISHED")


@job.command()
@click.argument("notebook")
@click.option(
    "--grid",
    "grid_items",
    multiple=True,
    metavar="NAME=V1,V2,...",
    help="Values to try for a parameter (each read as YAML). Repeatable: every combination runs.",
)
@click.option(
    "--random",
    "random_items",
    multiple=True,
    metavar="NAME=DIST",
    help="A distribution: uniform:LOW:HIGH, loguniform:LOW:HIGH, int:LOW:HIGH, normal:MEAN:SD or "
    "choice:a,b. Repeatable.",
)
@click.option("--samples", type=int, help="How many random draws (with --random).")
@click.option("--seed", type=int, help="Seed of the random draws (default: a new one, recorded).")
@click.option("--metric", help="The metric that ranks the points (as the notebook logs it).")
@click.option(
    "--goal",
    type=click.Choice(["max", "min"]),
    default="max",
    show_default=True,
    help="Whether a higher or a lower metric is better.",
)
@click.option(
    "--workers", type=int, help="Worker processes (or Dask workers with --cluster local)."
)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Run on Dask: tcp://host:8786, or 'local' for a LocalCluster.",
)
@click.option(
    "--executor", metavar="URL", help="Executor URL (process://?workers=4, tcp://host:8786, ...)."
)
@_parameter_options
@_execution_options
def sweep(
    notebook: str,
    grid_items: tuple[str, ...],
    random_items: tuple[str, ...],
    samples: int | None,
    seed: int | None,
    metric: str | None,
    goal: str,
    workers: int | None,
    cluster: str | None,
    executor: str | None,
    values: tuple[tuple[str, str], ...],
    raw: tuple[tuple[str, str], ...],
    files: tuple[str, ...],
    yaml_text: str | None,
    name: str | None,
    tag_items: tuple[str, ...],
    validated: bool,
    kernel: str | None,
    cwd: str | None,
    timeout: float | None,
    retries: int,
    no_progress: bool,
) -> Result:
    """Run a notebook over a grid or random search, each point a child run of the sweep run,
    on local worker processes or a Dask cluster; the result ranks the points, best first."""

    result = run_sweep(
        notebook,
        parse_grid(grid_items),
        parse_random(random_items),
        samples=samples,
        seed=seed,
        parameters=_parameters(values, raw, files, yaml_text),
        metric=metric,
        goal=goal,
        executor=executor_url(workers=workers, cluster=cluster, executor=executor),
        retries=retries,
        name=name,
        tags=option_tags(tag_items),
        kernel=kernel,
        cwd=cwd,
        timeout=timeout,
        validated=validated,
        progress=not no_progress,
    )
    return _verdict(result, result.status != "FINISHED")


@job.command("list")
@click.option("--filter", "filter_", metavar="EXPR", help='Runs filter, e.g. "params.C > 0.1".')
@click.option(
    "--status",
    type=click.Choice(["running", "finished", "failed", "killed"], case_sensitive=False),
    help="Only jobs with this status.",
)
@click.option(
    "--mode",
    type=click.Choice(["run", "sweep", "validation", "reproduction"]),
    help="Only jobs of this kind.",
)
@click.option("--sweep", "sweep_ref", metavar="RUN", help="Only the points of this sweep.")
@click.option("--limit", "-n", default=50, show_default=True, help="Jobs per page.")
@click.option("--offset", default=0, show_default=True, help="Jobs to skip (for the next pages).")
def list_(
    filter_: str | None,
    status: str | None,
    mode: str | None,
    sweep_ref: str | None,
    limit: int,
    offset: int,
) -> Result:
    """List jobs and sweeps, newest first: status, parameters, duration, metrics, failing cell,
    output."""

    return list_jobs(filter_, status=status, mode=mode, sweep=sweep_ref, limit=limit, offset=offset)


@job.command()
@click.argument("ref")
def show(ref: str) -> Result:
    """Show one job (parameters, metrics, output notebook, failing cell and traceback) or a
    sweep's points."""

    return get_job(ref)


@job.command()
@click.argument("ref")
@click.option(
    "--cell", type=int, help="Only this cell (numbered from 1, as in the executed notebook)."
)
@click.option("--errors", is_flag=True, help="Only the failing cell, with its traceback.")
def log(ref: str, cell: int | None, errors: bool) -> Result:
    """Print a job's executed notebook as text: each cell's source and output."""

    return job_log(ref, cell=cell, errors=errors)


@job.command()
@click.argument("ref")
@click.option(
    "--tolerance",
    default=0.0,
    show_default=True,
    type=float,
    help="Metrics agree within this (absolute, or relative to the larger value).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def reproduce(ref: str, tolerance: float, no_progress: bool) -> Result:
    """Execute a past job again from its stored notebook snapshot, parameters and data versions,
    then compare its metrics, data and environment with the original."""

    result = reproduce_job(ref, tolerance=tolerance, progress=not no_progress)
    return result


@job.command()
@click.argument("ref")
@click.option("--out", "-o", type=click.Path(dir_okay=False), required=True, help="File to write.")
@click.option(
    "--snapshot", is_flag=True, help="Write the notebook as it was submitted, not as executed."
)
def output(ref: str, out: str, snapshot: bool) -> Result:
    """Save a job's executed notebook (or its input snapshot) to a file."""

    return save_output(ref, out, snapshot=snapshot)


@job.command()
@click.argument("notebook")
def params(notebook: str) -> Result:
    """List the parameters a notebook declares, with types and defaults (papermill
    --help-notebook)."""

    return notebook_parameters(notebook)
