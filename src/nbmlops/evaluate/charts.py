"""Plotly figures for evaluation reports, built as plain dicts.

A dict needs no plotly import to build, so a report printed in a terminal never
pays for plotly; notebooks and static HTML turn it into a figure through the
``Chart`` block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

BLUE, RED, GREY, GREEN = "#1f5fa8", "#b42318", "#9aa5b1", "#1a7f37"
LAYOUT = {
    "template": "plotly_white",
    "height": 340,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 60},
    "bargap": 0.25,
    "legend": {"orientation": "h", "y": -0.2},
}


def _line(y: float, text: str, colour: str = RED) -> tuple[dict[str, Any], dict[str, Any]]:
    shape = {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": {"dash": "dash", "color": colour, "width": 2},
    }
    note = {
        "xref": "paper",
        "x": 1,
        "y": y,
        "xanchor": "right",
        "yanchor": "bottom",
        "text": text,
        "showarrow": False,
        "font": {"color": colour, "size": 11},
        "bgcolor": "rgba(255,255,255,0.85)",
    }
    return shape, note


def _error_bars(
    values: Sequence[float], ci: Sequence[Sequence[float]] | None
) -> dict[str, Any] | None:
    if not ci:
        return None
    lo, hi = ci
    return {
        "type": "data",
        "symmetric": False,
        "color": "#444",
        "array": [max(h - v, 0) for v, h in zip(values, hi, strict=True)],
        "arrayminus": [max(v - lo_, 0) for v, lo_ in zip(values, lo, strict=True)],
    }


def group_bars(
    groups: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    axis: str,
    line: float | None,
    line_text: str,
    flag_below: bool = True,
    small: Sequence[bool] = (),
    ci: Sequence[Sequence[float]] | None = None,
) -> dict[str, Any]:
    """One bar per group with a reference line; with ``flag_below`` bars under it are red. Small
    groups are grey."""
    colours = []
    for i, v in enumerate(values):
        bad = flag_below and line is not None and v < line
        colours.append(RED if bad else GREY if (small and small[i]) else BLUE)
    bar: dict[str, Any] = {
        "type": "bar",
        "x": list(groups),
        "y": list(values),
        "marker": {"color": colours},
        "name": axis,
        "hovertemplate": "%{x}: %{y:.3f}<extra></extra>",
    }
    errors = _error_bars(values, ci)
    if errors:
        bar["error_y"] = errors
    layout = {
        **LAYOUT,
        "title": {"text": title},
        "yaxis": {"title": {"text": axis}, "rangemode": "tozero"},
        "showlegend": False,
    }
    if line is not None:
        shape, note = _line(line, line_text)
        layout["shapes"], layout["annotations"] = [shape], [note]
    return {"data": [bar], "layout": layout}


def grouped_bars(
    groups: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, axis: str
) -> dict[str, Any]:
    """Several metrics per group side by side (accuracy, true- and false-positive rates)."""
    palette = [BLUE, GREEN, RED, "#8250df", "#9a6700"]
    data = [
        {
            "type": "bar",
            "name": name,
            "x": list(groups),
            "y": list(values),
            "marker": {"color": palette[i % len(palette)]},
            "hovertemplate": f"{name} %{{x}}: %{{y:.3f}}<extra></extra>",
        }
        for i, (name, values) in enumerate(series.items())
    ]
    return {
        "data": data,
        "layout": {
            **LAYOUT,
            "barmode": "group",
            "title": {"text": title},
            "yaxis": {"title": {"text": axis}, "rangemode": "tozero"},
        },
    }


def spread(
    labels: Sequence[str],
    values: Sequence[float],
    flagged: Sequence[bool],
    *,
    overall: float,
    band: float,
    title: str,
    axis: str,
) -> dict[str, Any]:
    """A metric on each subset or slice around the overall value, with the allowed band shaded."""
    colours = [RED if f else BLUE for f in flagged]
    bar = {
        "type": "scatter",
        "mode": "markers",
        "x": list(labels),
        "y": list(values),
        "marker": {"color": colours, "size": 11},
        "hovertemplate": "%{x}: %{y:.4f}<extra></extra>",
    }
    shape, note = _line(overall, f"overall {overall:.3g}", BLUE)
    band_shape = {
        "type": "rect",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "y0": overall - band,
        "y1": overall + band,
        "fillcolor": "rgba(31,95,168,0.10)",
        "line": {"width": 0},
        "layer": "below",
    }
    return {
        "data": [bar],
        "layout": {
            **LAYOUT,
            "title": {"text": title},
            "showlegend": False,
            "yaxis": {"title": {"text": axis}},
            "shapes": [band_shape, shape],
            "annotations": [note],
        },
    }


def latency_boxes(
    series: dict[str, Sequence[float]], *, title: str, budget: float | None = None
) -> dict[str, Any]:
    """Latency distributions (milliseconds) as box plots, with an optional budget line."""
    data = [
        {
            "type": "box",
            "name": name,
            "y": list(values),
            "boxpoints": False,
            "marker": {"color": BLUE},
        }
        for name, values in series.items()
    ]
    layout = {
        **LAYOUT,
        "title": {"text": title},
        "showlegend": False,
        "yaxis": {"title": {"text": "milliseconds"}, "rangemode": "tozero"},
    }
    if budget is not None:
        shape, note = _line(budget, f"budget {budget:g} ms")
        layout["shapes"], layout["annotations"] = [shape], [note]
    return {"data": data, "layout": layout}
