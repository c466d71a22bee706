"""Track one piece of work as a run: a notebook cell (``%%mlops run``) or a command
(``mlops run -- python train.py``).

The run is opened before the work starts and closed with the work's outcome:
FINISHED, FAILED (the cell raised, the command exited non-zero) or KILLED
(interrupted, or the command died of a signal). Code inside logs into it with
``mo.log_metric`` and friends; a command learns the run through ``MLOPS_RUN_ID``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..errors import InvalidInput, MlopsError
from ..result import Message
from .reading import summarize
from .runs import Run, start_run

# something shown while the work runs (the live chart); stopped once the run has ended
Observer = Callable[[Run], Any]


def run_cell(
    shell: Any,
    cell: str,
    *,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    notes: str = "",
    observe: Observer | None = None,
) -> Message:
    """Execute a notebook cell in ``shell`` (IPython) as one run; a failing cell fails the run and
    raises.

    Example:
        >>> run_cell(get_ipython(), "mo.log_metric('loss', 0.1)", name="try")  # doctest: +SKIP
    """
    run = start_run(name, tags=tags, notes=notes)
    view = observe(run) if observe is not None else None
    try:
        outcome = shell.run_cell(cell, store_history=False)
    except BaseException as e:
        run.end(
            "KILLED" if isinstance(e, KeyboardInterrupt) else "FAILED", f"{type(e).__name__}: {e}"
        )
        if view is not None:
            view.stop()
        raise
    error = outcome.error_before_exec or outcome.error_in_exec
    status = (
        "FINISHED"
        if error is None
        else "KILLED"
        if isinstance(error, KeyboardInterrupt)
        else "FAILED"
    )
    run.end(status, None if error is None else f"{type(error).__name__}: {error}")
    if view is not None:
        view.stop()  # after end(): the last points are written and the status is final
    if error is None:
        return summarize(run.id)
    raise MlopsError(
        f"Run {run.name} ({run.id[:8]}) {status.lower()}: {type(error).__name__}: {error}"
    )


def run_command(
    command: Sequence[str],
    *,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    notes: str = "",
) -> Message:
    """Run a program as one run; it fails (and this raises) when the program exits non-zero.

    Example:
        >>> run_command(["python", "train.py", "--C", "0.5"])  # doctest: +SKIP
    """
    if not command:
        raise InvalidInput("Give a command to run, e.g. mlops run -- python train.py.")
    program = command[0]
    if shutil.which(program) is None:  # before the run exists: a typo records nothing
        raise InvalidInput(f"Cannot start {program!r}: no such program (check the name and PATH).")
    run = start_run(name or os.path.basename(program), tags=tags, notes=notes)
    env = {**os.environ, "MLOPS_RUN_ID": run.id, "MLOPS_HOME": str(run.store.workspace.root)}
    try:
        code = subprocess.run(list(command), env=env, check=False).returncode
    except OSError as e:
        run.end("FAILED", str(e))
        raise InvalidInput(f"Cannot start {program!r}: {e.strerror or e}.") from None
    except KeyboardInterrupt:
        run.end("KILLED", "Interrupted.")
        raise
    if code == 0:
        run.end("FINISHED")
        return summarize(run.id)
    run.end("KILLED" if code < 0 else "FAILED", f"{program} exited with status {code}.")
    raise MlopsError(f"Run {run.name} ({run.id[:8]}) failed: {program} exited with status {code}.")


__all__ = ["run_cell", "run_command"]
