"""Evaluate models beyond accuracy: bias and fairness, stability across slices, speed and size.

``mo.evaluate.bias(clf, X_test, y_test, sensitive=["gender"])`` and its siblings
predict, compute, store the report with the model version and the active run,
and return a Result that renders as tables and charts. ``assess`` computes the
fairness numbers from predictions you already have, storing nothing.

Example:
    >>> import nbmlops as mo
    >>> report = mo.evaluate.bias(clf, X_test, y_test, sensitive="gender")  # doctest: +SKIP
    >>> report.summary["demographic_parity_ratio"]  # doctest: +SKIP
"""

from __future__ import annotations

from .fairness import assess, bias
from .reports import list_reports, open_report
from .speed import perf
from .stability import slices

__all__ = ["bias", "assess", "slices", "perf", "open_report", "list_reports"]
