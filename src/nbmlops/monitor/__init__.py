"""Monitors (``mo.monitor``): a stored drift and quality check that new data is run through.

A monitor names a reference (a dataset version or a file, pinned when the
monitor is made), optionally the model it watches, limits (the share of
drifted columns, minimum or maximum metrics) and a window. ``check`` compares
a new batch with the reference, stores the drift report as an evaluation and a
result row with status OK, WARN or ALERT and the reasons, writes the alert to
the audit trail, hands it to the notifiers and asks the retraining policy what
to do.

Modules: ``monitors`` defines and reads monitors, ``checking`` runs one check
and records it, ``retraining`` holds the policies, ``notify`` the notifiers,
``views`` the Results.

Example:
    >>> import nbmlops as mo
    >>> mo.monitor.create("churn-prod", reference="loans@3", model="churn@production",
    ...                   max_drift_share=0.3, minimum={"accuracy": 0.82},
    ...                   window="7d")  # doctest: +SKIP
    >>> mo.monitor.check("churn-prod", batch_2026_11).status  # doctest: +SKIP
    'ALERT'
"""

from __future__ import annotations

from .checking import assess, check, status_of
from .monitors import create, history, list_monitors, set_policy, show

__all__ = [
    "create",
    "set_policy",
    "check",
    "history",
    "list_monitors",
    "show",
    "assess",
    "status_of",
]
