"""How a model version is kept and read back: serialisation formats (skops, joblib behind a
digest check) and finding and loading versions by reference.

It sits below ``evaluate`` and ``registry``: evaluating ``churn@3`` needs to load it,
and the registry (gates, promotion, cards, comparisons) builds on evaluations.
The public API is ``mo.models`` (the registry), which re-exports ``load``.
"""
