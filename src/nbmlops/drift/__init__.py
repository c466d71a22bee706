"""Data drift, prediction drift and concept drift between a reference and a current sample.

Example:
    >>> import nbmlops as mo
    >>> report = mo.drift.compare("loans@3", new_batch, target="default",
    ...                           prediction="score")  # doctest: +SKIP
    >>> report.drifted_columns  # doctest: +SKIP
    ['income', 'credit_score', 'purpose']
"""

from __future__ import annotations

from .detect import compare
from .methods import DEFAULTS, METHODS, Options
from .report import DriftReport

__all__ = ["compare", "DriftReport", "Options", "METHODS", "DEFAULTS"]
