"""The model registry (``mo.models``): versions, aliases, gates, approvals, model cards.

Example:
    >>> import nbmlops as mo
    >>> mo.models.register(clf, "churn", run=run.id, example=X_train)  # doctest: +SKIP
    >>> mo.models.gate("churn", require=["accuracy>=0.85",
    ...                "demographic_parity_ratio>=0.8"])  # doctest: +SKIP
    >>> mo.models.promote("churn@3", to="production")  # doctest: +SKIP
    >>> model = mo.models.load("churn@production")  # doctest: +SKIP
"""

from __future__ import annotations

from ..modelstore.versions import load, resolve_version, save_version
from .aliases import remove_alias, set_alias
from .card import card
from .compare import compare
from .promotion import approve, check_gates, gate, history, promote, reject
from .registration import register
from .views import describe_version, list_models, show

__all__ = [
    "register",
    "load",
    "show",
    "list_models",
    "describe_version",
    "resolve_version",
    "set_alias",
    "remove_alias",
    "save_version",
    "gate",
    "check_gates",
    "promote",
    "approve",
    "reject",
    "history",
    "card",
    "compare",
]
