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

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

NAME = "nbmlops"


class KernelEnvEngine(NBClientEngine):  # type: ignore[misc]
    """papermill's nbclient engine, with ``kernel_env`` and ``kernel_cwd`` passed to the kernel
    launch."""

    @classmethod
    def execute_managed_notebook(  # type: ignore[no-untyped-def]
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        kernel_env: dict[str, str] | None = None,
        kernel_cwd: str | None = None,
        **kwargs: Any,
    ):
        kwargs.pop("input_path", None)
        if _is_ipykernel(kernel_name):
            # ipykernel warns on every start that local TCP is unencrypted; in a job's output that
            # is noise
            kwargs.setdefault("extra_arguments", ["--IPKernelApp.log_level=ERROR"])
        client = PapermillNotebookClient(
            nb_man,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        launch: dict[str, Any] = {}
        if kernel_env is not None:
            launch["env"] = kernel_env
        if kernel_cwd is not None:
            launch["cwd"] = kernel_cwd
        return client.execute(**launch)


def _is_ipykernel(kernel_name: str | None) -> bool:

    try:
        argv = KernelSpecManager().get_kernel_spec(kernel_name or "python3").argv
    except NoSuchKernel:
        return False
    return any("ipykernel" in part for part in argv)


papermill_engines.register(NAME, KernelEnvEngine)
