"""JupyterLab and Voila started on loopback, on free ports, for the browser tests (ENVIRONMENT.md
pitfalls).

Each server gets its own Jupyter config, data and runtime folders (no state from
earlier runs), JupyterLab's news toast is switched off in a private settings
folder, and stopping waits for the server (and its kernels) to exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent
ARTIFACTS = Path(os.environ.get("MLOPS_ARTIFACTS", "ci-artifacts"))
# screenshots go with the other artifacts; MLOPS_DOCS_IMAGES=1 refreshes the ones the docs show
IMAGES = (
    Path(__file__).resolve().parents[1] / "docs" / "images"
    if os.environ.get("MLOPS_DOCS_IMAGES") == "1"
    else ARTIFACTS
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(
    port: int,
    proc: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 90,
    host: str = "127.0.0.1",
) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}:\n{log.read_text()[-3000:]}")


def jupyter_env(scratch: Path, **extra: str) -> dict[str, str]:
    """Environment of a server: private Jupyter folders, no news toast, no MLOPS_* of the test
    process."""
    settings = scratch / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "JPY_"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(scratch / "config"),
        JUPYTER_DATA_DIR=str(scratch / "data"),
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
        IPYTHONDIR=str(scratch / "ipython"),
        JUPYTERLAB_SETTINGS_DIR=str(scratch / "lab-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(scratch / "ws"),
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH")])
        ),
        MLOPS_USER="tester",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def server(
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    port: int,
    name: str,
    host: str = "127.0.0.1",
) -> Iterator[str]:
    """Run ``command`` until the block ends; yields its base URL."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_port(port, proc, log, host=host)
        yield f"http://{host}:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            # the server and the kernels it started, nothing else
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def lab_command(root: Path, port: int) -> list[str]:
    return [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.extension_manager=readonly",
    ]
