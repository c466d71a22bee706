"""Plotly figures of the panels, as plain dicts: metric curves and parallel coordinates.

Dicts need no plotly import to build; :class:`~nbmlops.panels.frame.ChartArea`
turns them into figures when it shows them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..evaluate.charts import LAYOUT
from ..result import fmt

MAX_POINTS = 2000
PALETTE = [
    "#1f5fa8",
    "#b42318",
    "#1a7f37",
    "#8250df",
    "#9a6700",
    "#0a7ea4",
    "#bf3989",
    "#57606a",
    "#e16f24",
    "#116329",
    "#6639ba",
    "#a40e26",
]


def thin(
    steps: Sequence[int], values: Sequence[float], limit: int = MAX_POINTS
) -> tuple[list[int], list[float | None]]:
    """Every n-th point so a series has at most ``limit`` (the last point is always kept)."""
    every = max(1, math.ceil(len(steps) / limit))
    idx = list(range(0, len(steps), every))
    if idx and idx[-1] != len(steps) - 1:
        idx.append(len(steps) - 1)
    return [steps[i] for i in idx], [
        None if not math.isfinite(values[i]) else values[i] for i in idx
    ]


def curves(
    series: Sequence[tuple[str, Sequence[int], Sequence[float]]],
    *,
    metric: str,
    title: str,
    height: int = 320,
) -> dict[str, Any]:
    """One line per run of ``metric`` over steps; ``series`` holds (label, steps, values)."""
    data = []
    for i, (label, steps, values) in enumerate(series):
        x, y = thin(steps, values)
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(x) < 50 else "lines",
                "name": label,
                "x": x,
                "y": y,
                "line": {"color": PALETTE[i % len(PALETTE)], "width": 2},
                "hovertemplate": f"{label} step %{{x}}: %{{y:.4g}}<extra></extra>",
            }
        )
    layout = {
        **LAYOUT,
        "height": height,
        "title": {"text": title},
        "xaxis": {"title": {"text": "step"}},
        "yaxis": {"title": {"text": metric}},
    }
    return {"data": data, "layout": layout}


def _dimension(label: str, values: Sequence[Any]) -> dict[str, Any] | None:
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values):
        finite = [float(v) for v in numbers if math.isfinite(v)]
        if not finite:
            return None
        return {"label": label, "values": [float(v) if math.isfinite(v) else None for v in numbers]}
    texts = [fmt(v) if v is not None else "(none)" for v in values]
    levels = sorted(set(texts))
    return {
        "label": label,
        "values": [levels.index(t) for t in texts],
        "tickvals": list(range(len(levels))),
        "ticktext": levels,
        "range": [-0.5, len(levels) - 0.5] if len(levels) > 1 else [-1, 1],
    }


def parallel(
    runs: Sequence[dict[str, Any]], params: Sequence[str], metric: str, *, height: int = 360
) -> dict[str, Any]:
    """Parallel coordinates: one axis per param, the metric last and as the line colour."""
    dims = [d for d in (_dimension(p, [r["params"].get(p) for r in runs]) for p in params) if d]
    scores = [r["metrics"].get(metric) for r in runs]
    colour = [s if isinstance(s, float) and math.isfinite(s) else None for s in scores]
    dims.append({"label": metric, "values": colour})
    finite = [c for c in colour if c is not None]
    line: dict[str, Any] = {
        "color": [c if c is not None else (min(finite) if finite else 0) for c in colour],
        "colorscale": "Viridis",
        "showscale": True,
        "colorbar": {"title": {"text": metric}},
    }
    layout = {
        **LAYOUT,
        "height": height,
        "title": {"text": f"Parameters of {len(runs)} runs against {metric}"},
        "margin": {"l": 70, "r": 70, "t": 80, "b": 40},
    }
    return {"data": [{"type": "parcoords", "dimensions": dims, "line": line}], "layout": layout}
