"""Interactive panels for JupyterLab and Voila (``mo.panels``): runs, live metrics, models, data,
drift, bias, jobs.

Each panel is a Result: the live widget where widgets render, the static HTML of
the Result it stands for elsewhere. Panels call the Python API, never the store.
ipywidgets, anywidget and plotly are imported when a panel is first made.

Example:
    >>> import nbmlops as mo
    >>> mo.panels.runs("metrics.accuracy > 0.8")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_PANELS = {
    "runs": "nbmlops.panels.runs_panel",
    "live": "nbmlops.panels.live_panel",
    "models": "nbmlops.panels.models_panel",
    "data": "nbmlops.panels.data_panel",
    "drift": "nbmlops.panels.drift_panel",
    "bias": "nbmlops.panels.bias_panel",
    "jobs": "nbmlops.panels.jobs_panel",
}

__all__ = list(_PANELS)


def __getattr__(name: str) -> Any:
    if name not in _PANELS:
        raise AttributeError(f"module 'nbmlops.panels' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PANELS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
