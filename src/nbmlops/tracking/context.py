"""What a run ran on: notebook and executed cells, git state, Python and packages, host, resources.

Captured at run start and completed at run end. The cells a kernel actually
executed (its input history, in execution order) are kept because a saved
notebook cannot show them: cells run out of order, edited or deleted leave no
trace in the file. Git state and the package set are cached briefly, so
starting many runs in a loop costs no subprocess per run.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3

from ..redaction import redact
from ..store.database import dialect_insert
from ..store.meta import package_sets

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..store import Store

GIT_TTL_S = 2.0
DIFF_LIMIT = 20 << 20


def _shell() -> Any:
    """The running IPython shell, without importing IPython when nobody else did."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]


def notebook_path() -> str | None:
    """The notebook this kernel runs, when it can be known (JupyterLab, VS Code, our jobs)."""
    candidates = [os.environ.get("MLOPS_NOTEBOOK")]
    shell = _shell()
    if shell is not None:
        ns = shell.user_ns
        candidates += [ns.get("__session__"), ns.get("__vsc_ipynb_file__")]
    candidates.append(os.environ.get("JPY_SESSION_NAME"))
    for path in candidates:
        if isinstance(path, str) and path.endswith(".ipynb") and os.path.isfile(path):
            return os.path.abspath(path)
    return None


def kernel_history() -> list[str] | None:
    """Every cell this kernel executed so far, in execution order."""
    shell = _shell()
    if shell is None:
        return None
    history = (
        getattr(shell.history_manager, "input_hist_raw", None) or shell.user_ns.get("In") or []
    )
    return list(history[1:])  # entry 0 is always empty


def redact_bytes(data: bytes) -> bytes:
    """Snapshots (notebook, git diff) are stored with URL credentials hidden, like everything
    else."""
    text = data.decode("utf-8", errors="surrogateescape")
    hidden = redact(text)
    return data if hidden == text else hidden.encode("utf-8", errors="surrogateescape")


# ---------------------------------------------------------------- git

_git_cache: dict[str, tuple[float, dict[str, Any] | None, bytes]] = {}
_git_lock = threading.Lock()


def _git_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            timeout=10,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(cwd: str | None = None) -> tuple[dict[str, Any] | None, bytes]:
    """``({commit, branch, dirty, untracked, diff_digest}, diff bytes)`` or ``(None, b"")``
    outside git."""
    root = _git_root(Path(cwd or os.getcwd()).resolve())
    if root is None:
        return None, b""
    key = str(root)
    with _git_lock:
        hit = _git_cache.get(key)
        if hit and time.monotonic() - hit[0] < GIT_TTL_S:
            return hit[1], hit[2]
    head = _git(root, "rev-parse", "HEAD", "--abbrev-ref", "HEAD")
    status = _git(root, "status", "--porcelain=v1", "--untracked-files=normal")
    if head is None and status is None:
        return None, b""
    lines = (head or b"").decode(errors="replace").split()
    changes = (status or b"").decode(errors="replace").splitlines()
    tracked = [c for c in changes if not c.startswith("??")]
    diff = b""
    if tracked:
        diff = redact_bytes(_git(root, "diff", "HEAD", "--binary", "--no-ext-diff") or b"")
        if len(diff) > DIFF_LIMIT:
            diff = diff[:DIFF_LIMIT]
    state = {
        "root": str(root),
        "commit": lines[0] if lines and len(lines[0]) == 40 else None,
        "branch": lines[1] if len(lines) > 1 else None,
        "dirty": bool(tracked),
        "changed_files": len(tracked),
        "untracked_files": len(changes) - len(tracked),
        "diff_digest": blake3.blake3(diff).hexdigest() if diff else None,
    }
    with _git_lock:
        _git_cache[key] = (time.monotonic(), state, diff)
    return state, diff


# ---------------------------------------------------------------- packages

_packages_cache: tuple[tuple[Any, ...], str, list[str]] | None = None


def _path_stamp() -> tuple[Any, ...]:
    stamp = []
    for entry in sys.path:
        try:
            stamp.append((entry, os.stat(entry).st_mtime_ns))
        except OSError:
            continue
    return tuple(stamp)


def package_set() -> tuple[str, list[str]]:
    """``(digest, ["name==version", ...])`` for the installed distributions (cached until
    sys.path changes)."""
    global _packages_cache
    stamp = _path_stamp()
    if _packages_cache is not None and _packages_cache[0] == stamp:
        return _packages_cache[1], _packages_cache[2]

    names = sorted(
        {
            f"{d.metadata['Name']}=={d.version}"
            for d in metadata.distributions()
            if d.metadata["Name"]
        },
        key=str.lower,
    )
    digest = blake3.blake3("\n".join(names).encode()).hexdigest()
    _packages_cache = (stamp, digest, names)
    return digest, names


_recorded_package_sets: set[tuple[str, str]] = set()


def ensure_package_set(conn: Connection, digest: str, packages: list[str]) -> None:
    """Store a package list once per distinct set (and ask the database once per process)."""

    key = (str(conn.engine.url), digest)
    if key in _recorded_package_sets:
        return
    insert = dialect_insert(conn)
    conn.execute(
        insert(package_sets)
        .values(digest=digest, packages=json.dumps(packages), created_at=time.time())
        .on_conflict_do_nothing(index_elements=["digest"])
    )
    _recorded_package_sets.add(key)


# ---------------------------------------------------------------- resources


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(field.encode()):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class ResourceClock:
    """Wall time, CPU time and peak memory of this process during a run.

    Linux keeps the process's high-water mark (VmHWM). When a run pushes it
    higher, that new mark is the run's exact peak; otherwise the peak is the
    highest resident size sampled once a second during the run.
    """

    def __init__(self) -> None:
        self.wall0 = time.time()
        self.cpu0 = time.process_time()
        self.hwm0 = _status_kib("VmHWM")
        self.sampled = _status_kib("VmRSS") or 0

    def sample(self) -> None:
        rss = _status_kib("VmRSS")
        if rss is not None and rss > self.sampled:
            self.sampled = rss

    def finish(self) -> dict[str, Any]:
        self.sample()
        hwm = _status_kib("VmHWM")
        if hwm is not None and self.hwm0 is not None and hwm > self.hwm0:
            peak, method = hwm, "exact: the run raised the process high-water mark"
        elif hwm is not None:
            peak, method = self.sampled, "sampled once a second"
        else:
            peak, method = (
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "process lifetime peak",
            )
        return {
            "wall_s": round(time.time() - self.wall0, 6),
            "cpu_s": round(time.process_time() - self.cpu0, 6),
            "peak_memory_bytes": int(peak) * 1024,
            "peak_memory_method": method,
        }


# ---------------------------------------------------------------- capture


@functools.lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def capture_start(store: Store) -> tuple[dict[str, Any], tuple[str, list[str]]]:
    """The context known at run start, and the package set to record with it.

    Objects it refers to (the notebook snapshot, the git diff) are written here,
    before the run's row, as the store requires.
    """
    digest, packages = package_set()
    git, diff = git_state()
    if git and diff:
        store.objects.put(diff)
    context: dict[str, Any] = {
        **_static(),
        "host": socket.gethostname(),
        "user": store.user,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "argv": [redact(a) for a in sys.argv[:20]],
        "packages": {"digest": digest, "count": len(packages)},
        "git": git,
    }
    path = notebook_path()
    if path:
        try:
            context["notebook"] = {
                "path": path,
                "digest": store.objects.put(redact_bytes(Path(path).read_bytes())),
            }
        except OSError:
            context["notebook"] = {"path": path, "digest": None}
    history = kernel_history()
    if history is not None:
        context["history_start"] = len(history)
    return context, (digest, packages)


def capture_end(store: Store, context: dict[str, Any], clock: ResourceClock) -> dict[str, Any]:
    """Complete a run's context: resources used and the cells executed so far."""
    done = dict(context)
    done["resources"] = clock.finish()
    history = kernel_history()
    # without a start mark the run did not execute in this kernel (a job's notebook runs in its own)
    if history is not None and "history_start" in context:
        cells = [redact(cell) for cell in history]
        body = json.dumps(
            {"cells": cells, "run_started_at_cell": context.get("history_start", 0)}
        ).encode()
        done["history"] = {"digest": store.objects.put(body), "cells": len(history)}
    return done
