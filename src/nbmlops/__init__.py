"""nbmlops: a Jupyter-first MLOps workbench.

``%load_ext nbmlops`` registers ``%mlops`` / ``%%mlops``; ``import nbmlops as mo``
gives the same capabilities in Python. Everything below is imported on first
use, so loading the extension stays instant.

Example:
    >>> import nbmlops as mo
    >>> with mo.start_run(name="baseline") as run:  # doctest: +SKIP
    ...     mo.log_params(C=0.5)
    ...     mo.log_metric("accuracy", 0.91)
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import (
    Ambiguous,
    Conflict,
    GateFailed,
    IntegrityError,
    InvalidInput,
    MissingDependency,
    MlopsError,
    NotFound,
    PermissionDenied,
    StoreUnavailable,
    WorkspaceNotFound,
)

__version__ = "0.1.0"

_LAZY = {
    "start_run": "nbmlops.tracking.runs",
    "end_run": "nbmlops.tracking.runs",
    "active_run": "nbmlops.tracking.runs",
    "log_metric": "nbmlops.tracking.runs",
    "log_metrics": "nbmlops.tracking.runs",
    "log_param": "nbmlops.tracking.runs",
    "log_params": "nbmlops.tracking.runs",
    "set_tag": "nbmlops.tracking.runs",
    "set_tags": "nbmlops.tracking.runs",
    "log_artifact": "nbmlops.tracking.runs",
    "note": "nbmlops.tracking.runs",
    "tag_run": "nbmlops.tracking.runs",
    "Run": "nbmlops.tracking.runs",
    "list_runs": "nbmlops.tracking.reading",
    "get_run": "nbmlops.tracking.reading",
    "compare_runs": "nbmlops.tracking.reading",
    "metric_history": "nbmlops.tracking.reading",
    "load_artifact": "nbmlops.tracking.reading",
    "autolog": "nbmlops.tracking.autolog",
    "Workspace": "nbmlops.workspace",
    "fsck": "nbmlops.maintenance.integrity",
    "gc": "nbmlops.maintenance.integrity",
    "audit_log": "nbmlops.maintenance.audit",
    "verify_audit": "nbmlops.maintenance.audit",
    "run_job": "nbmlops.jobs",
}
_ALIASES = {
    "init": ("nbmlops.workspace", "init_workspace"),
    "status": ("nbmlops.workspace", "status"),
}
# namespaces of the API, imported on first use: mo.models.register(...), mo.evaluate.bias(...)
_SUBMODULES = {
    "models": "nbmlops.registry",
    "evaluate": "nbmlops.evaluate",
    "jobs": "nbmlops.jobs",
    "drift": "nbmlops.drift",
    "monitor": "nbmlops.monitor",
    "data": "nbmlops.data",
    "panels": "nbmlops.panels",
    "dashboards": "nbmlops.dashboards",
    "interop": "nbmlops.interop",
}

__all__ = [  # noqa: RUF022 - grouped by concept
    "load_ipython_extension",
    "init",
    "status",
    "Workspace",
    "start_run",
    "end_run",
    "active_run",
    "Run",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "set_tag",
    "set_tags",
    "tag_run",
    "log_artifact",
    "note",
    "autolog",
    "list_runs",
    "get_run",
    "compare_runs",
    "metric_history",
    "load_artifact",
    "fsck",
    "gc",
    "audit_log",
    "verify_audit",
    "models",
    "evaluate",
    "jobs",
    "run_job",
    "drift",
    "monitor",
    "data",
    "panels",
    "dashboards",
    "interop",
    "MlopsError",
    "InvalidInput",
    "NotFound",
    "Ambiguous",
    "WorkspaceNotFound",
    "Conflict",
    "IntegrityError",
    "StoreUnavailable",
    "MissingDependency",
    "PermissionDenied",
    "GateFailed",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    elif name in _ALIASES:
        module, attr = _ALIASES[name]
        value = getattr(importlib.import_module(module), attr)
    else:
        raise AttributeError(f"module 'nbmlops' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbmlops``: register ``%mlops`` and ``%%mlops``."""
    from .magics import register  # lazy: imports the widget libraries

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    ipython.set_custom_exc((), None)
