"""Run a notebook as a job: papermill executes it, and the execution is a run.

The job's run is opened here (kind ``job``) and its id handed to the kernel as
``MLOPS_RUN_ID``, so ``mo.log_metric`` and ``%mlops`` inside the notebook log
into it; the kernel writes its buffered metrics when it shuts down, before
papermill returns. Stored with the run: the parameters (as params), the
notebook as executed (an object, by digest), the executed notebook (artifact
``output.ipynb``, widget state stripped), the failing cell and error.

The same :func:`execute` runs inline (:func:`~nbmlops.jobs.run_job`), in a local worker process
or on a Dask worker (sweeps); everything it needs travels in a picklable
:class:`JobSpec`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import mimetypes
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, update

from ..errors import InvalidInput
from ..store.meta import jobs
from ..store.objects import digest_bytes
from ..tracking.runs import start_run
from . import notebook as nbk
from . import parameters as prm
from .results import OUTPUT_ARTIFACT, load_job

if TYPE_CHECKING:
    from ..store import Store
    from ..tracking.runs import Run
    from ..workspace import Workspace
    from .results import JobResult

MAX_RETRIES = 10
MAX_NAME = 200  # leaves room for a sweep point's [index] within the 255 a run name may have
mimetypes.add_type("application/x-ipynb+json", ".ipynb")


@dataclasses.dataclass
class JobSpec:
    """Everything needed to execute one job anywhere (it is pickled to workers)."""

    workspace: Workspace
    notebook: str
    source: bytes
    digest: str
    kernel: str
    parameters: dict[str, Any]
    run_params: dict[str, Any]
    name: str
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    mode: str = "run"
    cwd: str | None = None
    timeout: float | None = None
    retries: int = 0
    parent: str | None = None
    sweep_id: str | None = None
    point: int | None = None
    validated: bool = False
    warnings: list[str] = dataclasses.field(default_factory=list)
    data_refs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    reproduces: str | None = None
    executor: str = "inline"
    progress: bool = False
    log_output: bool = False
    env: dict[str, str] | None = None  # the submitting process's environment, for local workers


def check_kernel(name: str) -> str:
    """Refuse a kernel that is not installed, naming the ones that are."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # lazy: start-up time

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(name)
    except NoSuchKernel:
        installed = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise InvalidInput(
            f"Kernel {name!r} is not installed here (installed: {installed}); pass another with -k."
        ) from None
    return name


def _check_limits(timeout: float | None, retries: int) -> None:
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0
    ):
        raise InvalidInput(
            f"The timeout must be a positive number of seconds per cell, not {timeout!r}."
        )
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise InvalidInput(
            f"retries must be a whole number from 0 to {MAX_RETRIES}, not {retries!r}."
        )


def _working_folder(nb: nbk.Notebook, cwd: str | None) -> str:
    """Where the kernel starts: as in Jupyter, the notebook's folder, unless told otherwise."""
    if cwd is not None:
        return str(Path(cwd).resolve())
    folder = Path(nb.path).parent
    return str(folder) if folder.is_dir() else os.getcwd()  # a snapshot whose folder is gone


def prepare(
    nb: nbk.Notebook,
    parameters: Mapping[str, Any] | None,
    *,
    store: Store,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    kernel: str | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    retries: int = 0,
    mode: str = "run",
    validated: bool = False,
    progress: bool = False,
    log_output: bool = False,
) -> JobSpec:
    """Check everything that can be checked before a kernel starts, and store the notebook
    snapshot."""
    params = prm.check(parameters)
    _check_limits(timeout, retries)
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME):
        raise InvalidInput(f"A job name must be text of 1 to {MAX_NAME} characters.")
    if cwd is not None and not Path(cwd).is_dir():
        raise InvalidInput(f"The working folder {cwd!r} does not exist.")
    declared = nbk.declared_parameters(nb)
    spec = JobSpec(
        workspace=store.workspace,
        notebook=nb.path,
        source=nb.data,
        digest=nb.digest,
        kernel=check_kernel(kernel or nb.kernel),
        parameters=params,
        run_params=prm.effective(params, declared),
        name=name or nb.name,
        tags={str(k): str(v) for k, v in (tags or {}).items()},
        mode=mode,
        cwd=_working_folder(nb, cwd),
        timeout=timeout,
        retries=retries,
        validated=validated,
        warnings=prm.unknown(params, declared, nb.path),
        data_refs=prm.pin_data_refs(params),
        progress=progress,
        log_output=log_output,
    )
    store.objects.put(nb.data)  # objects before the rows that name them
    return spec


def point_spec(
    base: JobSpec,
    parameters: dict[str, Any],
    declared: Mapping[str, nbk.Declared] | None,
    **changes: Any,
) -> JobSpec:
    """The spec of one sweep point: the base job with its own parameters."""
    return dataclasses.replace(
        base,
        parameters=parameters,
        run_params=prm.effective(parameters, declared),
        data_refs=prm.pin_data_refs(parameters),
        **changes,
    )


# ---------------------------------------------------------------- one execution


def _dask_malloc_setting() -> dict[str, str]:
    """``MALLOC_TRIM_THRESHOLD_`` as a Dask nanny sets it (in its workers, and in the process that
    started them).

    A kernel that inherits it runs NumPy code several times slower: with the
    threshold fixed, glibc maps and unmaps every temporary array. Kernels start
    without it when it has exactly Dask's value.
    """
    if "distributed" not in sys.modules:
        return {}
    import dask  # lazy: start-up time

    value = (dask.config.get("distributed.nanny.pre-spawn-environ", None) or {}).get(
        "MALLOC_TRIM_THRESHOLD_"
    )
    return {} if value is None else {"MALLOC_TRIM_THRESHOLD_": str(value)}


def _kernel_env(spec: JobSpec, run_id: str, snapshot: str) -> dict[str, str]:
    ws = spec.workspace
    inherited = dict(os.environ)
    for key, value in _dask_malloc_setting().items():
        if inherited.get(key) == value:
            del inherited[key]
    on_disk = Path(spec.notebook)
    try:
        unchanged = on_disk.is_file() and digest_bytes(on_disk.read_bytes()) == spec.digest
    except OSError:
        unchanged = False
    return {
        **inherited,
        "MLOPS_RUN_ID": run_id,
        "MLOPS_HOME": str(ws.root),
        "MLOPS_DB_URL": ws.db_url,
        "MLOPS_OBJECTS_URL": ws.objects_url,
        "MLOPS_NOTEBOOK": str(on_disk) if unchanged else snapshot,
    }


def _papermill(spec: JobSpec, run_id: str, folder: str) -> tuple[Any, str | None]:
    """Execute; returns the executed notebook (or what was saved of it) and why it stopped early,
    if it did."""

    import papermill  # lazy: start-up time
    from nbclient.exceptions import CellTimeoutError, DeadKernelError  # lazy: start-up time
    from papermill.exceptions import PapermillExecutionError  # lazy: start-up time

    from .engine import NAME  # lazy: imports papermill

    snapshot = os.path.join(folder, Path(spec.notebook).name)
    output = os.path.join(folder, "output.ipynb")
    Path(snapshot).write_bytes(spec.source)
    quiet = logging.getLogger("papermill")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # unknown parameters are reported once, by us, with the run
    reason = None
    try:
        node = papermill.execute_notebook(
            snapshot,
            output,
            parameters=spec.parameters or None,
            engine_name=NAME,
            kernel_name=spec.kernel,
            progress_bar=spec.progress,
            execution_timeout=spec.timeout,
            store_widget_state=False,
            kernel_env=_kernel_env(spec, run_id, snapshot),
            kernel_cwd=spec.cwd,
            stdout_file=sys.stdout if spec.log_output else None,
            stderr_file=sys.stderr if spec.log_output else None,
        )
    except PapermillExecutionError:
        node = nbk.read_output(output)
    except DeadKernelError:
        node = nbk.read_output(output)
        reason = "The kernel died"
    except CellTimeoutError:
        node = nbk.read_output(output)
        reason = (
            f"A cell ran longer than the {spec.timeout:g} s timeout"
            if spec.timeout
            else "A cell timed out"
        )
    except Exception as e:  # noqa: BLE001 - a kernel that cannot start or a broken notebook fails the job, not us
        node = nbk.read_output(output)
        reason = (
            f"The notebook could not be executed ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else ''})"
        )
    finally:
        quiet.setLevel(level)
    if node is not None:
        node.metadata.setdefault("papermill", {})["input_path"] = spec.notebook
        nbk.strip_widgets(node)
    return node, reason


def _describe(node: Any, reason: str | None) -> tuple[str | None, int | None, int | None]:
    """The run's error sentence, the failing cell's index and its execution count."""
    failure = nbk.find_failure(node) if node is not None else None
    if reason is None and failure is None:
        return None, None, None
    if reason is None:
        assert failure is not None
        return f"{failure.message} (at {failure.where})", failure.cell, failure.count
    cell = nbk.last_started_cell(node) if node is not None else None
    if cell is None:
        return reason + ".", None, None
    count = node.cells[cell].get("execution_count")
    where = f"In [{count}]" if count is not None else f"cell {cell + 1}"
    return f"{reason} while running {where}.", cell, count


Review = Callable[[Any, str | None], tuple[str | None, list[dict[str, str]]]]


def execute(
    spec: JobSpec, attempt: int = 1, store: Store | None = None, review: Review | None = None
) -> JobResult:
    """Execute the job once, as a new run; never raises for a failing notebook (the result says
    FAILED).

    ``review(executed_notebook, error)`` may judge the execution before the run
    closes (validation does): it returns an error sentence or ``None``, and checks to store.

    Example:
        >>> execute(spec).status  # doctest: +SKIP
        'FINISHED'
    """

    store = store or spec.workspace.store()
    tags = dict(spec.tags)
    if attempt > 1:
        tags["attempt"] = str(attempt)
    run = start_job_run(
        spec.name,
        kind="job",
        notebook=spec.notebook,
        digest=spec.digest,
        store=store,
        tags=tags,
        parent=spec.parent,
    )
    folder = tempfile.mkdtemp(prefix="nbmlops-job-")
    try:
        with run:  # an exception ends the run FAILED (KILLED on Ctrl-C) and goes on up
            _execute_in(run, spec, attempt, store, folder, review)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return load_job(run.id, store=store)


def start_job_run(
    name: str,
    *,
    kind: str,
    notebook: str,
    digest: str,
    store: Store,
    tags: Mapping[str, str] | None = None,
    parent: str | None = None,
) -> Run:
    """A run of kind ``job`` or ``sweep`` whose context names the notebook it executes.

    The launching process may itself be a notebook kernel; its notebook and cell
    history are not what this run executed, so they are left out.
    """

    run = start_run(name, tags=tags, kind=kind, parent=parent, store=store)
    run._context["notebook"] = {"path": notebook, "digest": digest}
    run._context.pop("history_start", None)
    return run


def _execute_in(
    run: Run, spec: JobSpec, attempt: int, store: Store, folder: str, review: Review | None
) -> None:
    run.log_params(spec.run_params)
    with store.write() as conn:
        conn.execute(
            insert(jobs).values(
                run_id=run.id,
                mode=spec.mode,
                notebook=spec.notebook,
                notebook_digest=spec.digest,
                kernel=spec.kernel,
                cwd=spec.cwd,
                parameters=prm.to_json(spec.parameters),
                data_refs=prm.to_json(spec.data_refs),
                executor=spec.executor,
                sweep_id=spec.sweep_id,
                point=spec.point,
                attempt=attempt,
                reproduces=spec.reproduces,
                validated=spec.validated,
                warnings=json.dumps(spec.warnings),
                timeout=spec.timeout,
            )
        )
        store.audit(
            conn,
            "job.start",
            "run",
            run.id,
            notebook=spec.notebook,
            digest=spec.digest,
            mode=spec.mode,
            parameters=spec.parameters,
            attempt=attempt,
        )
    node, reason = _papermill(spec, run.id, folder)
    error, cell, count = _describe(node, reason)
    checks = None
    if review is not None:
        verdict, checks = review(node, error)
        error = error or verdict
    output_digest = None
    if node is not None:
        body = nbk.to_bytes(node)
        run.log_artifact(body.decode("utf-8"), OUTPUT_ARTIFACT)
        output_digest = digest_bytes(body)
    with store.write() as conn:
        conn.execute(
            update(jobs)
            .where(jobs.c.run_id == run.id)
            .values(
                output_digest=output_digest,
                error_cell=cell,
                error_count=count,
                error=error,
                checks=None if checks is None else json.dumps(checks),
            )
        )
        store.audit(
            conn, "job.end", "run", run.id, status="FAILED" if error else "FINISHED", error=error
        )
    run.end("FAILED" if error else "FINISHED", error)


def execute_with_retries(spec: JobSpec, store: Store | None = None) -> JobResult:
    """Execute, and again after a failure, up to ``spec.retries`` more times (each attempt is its
    own run)."""
    previous: list[str] = []
    for attempt in range(1, spec.retries + 2):
        result = execute(spec, attempt, store)
        if result.status == "FINISHED" or attempt == spec.retries + 1:
            result.previous_attempts = previous
            return result
        previous.append(result.run_id)
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "JobSpec",
    "prepare",
    "execute",
    "execute_with_retries",
    "point_spec",
    "check_kernel",
    "OUTPUT_ARTIFACT",
]
