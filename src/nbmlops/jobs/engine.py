"""A papermill engine that starts the kernel with the job's environment and working folder.

papermill's own engine starts the kernel with the calling process's
environment and changes that process's working folder (``cwd=``), which is
neither thread-safe nor able to tell the kernel which run to log into. This
engine hands ``env`` and ``cwd`` to the kernel launch instead (jupyter_client
supports both), through papermill's documented engine registry. Importing this
module imports papermill, so callers import it on first use.
"""

from __future__ import annotations

from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

NAME = "nbmlops"


class KernelEnvEngine(NBClientEngine):  # type: ignore[misc]
    """papermill's nbclient engine, with ``kernel_env`` and ``kernel_cwd`` passed to the kernel launch."""

    @classmethod
    def execute_managed_notebook(  # type: ignore[no-untyped-def]
        cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None, start_timeout=60,
        execution_timeout=None, kernel_env: dict[str, str] | None = None, kernel_cwd: str | None = None,
        **kwargs: Any,
    ):
        kwargs.pop("input_path", None)
        client = PapermillNotebookClient(
            nb_man, timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
            log=logger, log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file, **kwargs,
        )
        launch: dict[str, Any] = {}
        if kernel_env is not None:
            launch["env"] = kernel_env
        if kernel_cwd is not None:
            launch["cwd"] = kernel_cwd
        return client.execute(**launch)


papermill_engines.register(NAME, KernelEnvEngine)
