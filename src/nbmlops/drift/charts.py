"""Plotly figures for drift reports and monitor histories, built as plain dicts (no plotly import).

The histogram figure overlays the reference and current shares of one column
and has a drop-down to switch columns, so one compact chart covers every
drifted column instead of one chart each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..evaluate.charts import BLUE, GREY, LAYOUT, RED

MAX_CHART_COLUMNS = 12
PALETTE = [BLUE, RED, "#1a7f37", "#8250df", "#9a6700", "#0a7ea4", "#bf3989"]


def iso_time(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _bars(result: dict[str, Any], visible: bool) -> list[dict[str, Any]]:
    hist = result["histogram"]
    if hist["kind"] == "categorical":
        x: list[Any] = list(hist["labels"])
        width = None
    else:
        edges = hist["edges"]
        centers = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        if hist["kind"] == "datetime":
            x = [iso_time(c) for c in centers]
            width = None
        else:
            x = centers
            width = edges[1] - edges[0]
    out = []
    for side, colour in (("reference", GREY), ("current", BLUE if not result["drifted"] else RED)):
        bar: dict[str, Any] = {
            "type": "bar",
            "name": side,
            "x": x,
            "y": [100 * v for v in hist[side]],
            "marker": {"color": colour},
            "opacity": 0.65,
            "visible": visible,
            "hovertemplate": f"{side} %{{x}}: %{{y:.2f}}%<extra></extra>",
        }
        if width:
            bar["width"] = width
        out.append(bar)
    return out


def _title(result: dict[str, Any]) -> str:
    verdict = "drifted" if result["drifted"] else "no drift"
    return f"{result['column']}: {verdict} ({result['method']} {result['score']:.3g})"


def histograms(results: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Overlaid reference/current histograms, one column at a time, chosen from a drop-down."""
    shown = [r for r in results if r.get("histogram")][:MAX_CHART_COLUMNS]
    if not shown:
        return None
    data: list[dict[str, Any]] = []
    for i, result in enumerate(shown):
        data.extend(_bars(result, i == 0))
    buttons = []
    for i, result in enumerate(shown):
        visible = [j // 2 == i for j in range(len(data))]
        buttons.append(
            {
                "label": result["column"],
                "method": "update",
                "args": [{"visible": visible}, {"title": {"text": _title(result)}}],
            }
        )
    layout = {
        **LAYOUT,
        "barmode": "overlay",
        "title": {"text": _title(shown[0])},
        "yaxis": {"title": {"text": "% of rows"}, "rangemode": "tozero"},
        "margin": {"l": 60, "r": 20, "t": 80, "b": 60},
    }
    if len(shown) > 1:
        layout["updatemenus"] = [
            {
                "type": "dropdown",
                "buttons": buttons,
                "x": 1,
                "xanchor": "right",
                "y": 1.18,
                "yanchor": "top",
                "showactive": True,
            }
        ]
    return {"data": data, "layout": layout}


def metric_windows(
    windows: Sequence[dict[str, Any]],
    reference: dict[str, float],
    names: Sequence[str],
    *,
    title: str,
) -> dict[str, Any]:
    """Each metric per time window (solid) against its reference level (dashed)."""
    x = [iso_time(w["start"]) for w in windows]
    data = []
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": x,
                "y": [w["metrics"].get(name) for w in windows],
                "line": {"color": colour},
            }
        )
        if name in reference:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{name} (reference)",
                    "x": [x[0], x[-1]],
                    "y": [reference[name]] * 2,
                    "line": {"color": colour, "dash": "dash"},
                    "hoverinfo": "skip",
                }
            )
    return {
        "data": data,
        "layout": {
            **LAYOUT,
            "title": {"text": title},
            "xaxis": {"title": {"text": "window start"}},
        },
    }


def _score_text(point: dict[str, Any], column: str) -> str:
    if column not in point["columns"]:
        return "not compared"
    score = point.get("scores", {}).get(column)
    shown = f" (score {score:.3g})" if isinstance(score, (int, float)) else ""
    return ("drifted" if point["columns"][column] else "no drift") + shown


def monitor_history(
    points: Sequence[dict[str, Any]],
    *,
    max_share: float | None,
    limits: dict[str, tuple[str, float]],
    title: str,
) -> dict[str, Any]:
    """A monitor over time: drift share (with its limit), metrics (with theirs), per-column
    scores as a heat map."""
    x = [p["x"] for p in points]
    colours = [
        RED if p["status"] == "ALERT" else "#9a6700" if p["status"] == "WARN" else "#1a7f37"
        for p in points
    ]
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "drift share",
            "x": x,
            "y": [p["drift_share"] for p in points],
            "marker": {"color": colours, "size": 10},
            "line": {"color": GREY},
            "xaxis": "x",
            "yaxis": "y",
            "customdata": [p["status"] for p in points],
            "hovertemplate": "%{x}: %{y:.0%} (%{customdata})<extra></extra>",
        }
    ]
    shapes = []
    if max_share is not None:
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": max_share,
                "y1": max_share,
                "line": {"dash": "dash", "color": RED},
            }
        )
    metric_names = sorted({k for p in points for k in p["metrics"]})
    for i, name in enumerate(metric_names):
        colour = PALETTE[(i + 2) % len(PALETTE)]
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": x,
                "y": [p["metrics"].get(name) for p in points],
                "line": {"color": colour},
                "xaxis": "x",
                "yaxis": "y2",
            }
        )
        if name in limits:
            value = limits[name][1]
            shapes.append(
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "yref": "y2",
                    "y0": value,
                    "y1": value,
                    "line": {"dash": "dot", "color": colour},
                }
            )
    columns = sorted({c for p in points for c in p["columns"]})
    if columns:
        data.append(
            {
                "type": "heatmap",
                "x": x,
                "y": columns,
                "xaxis": "x",
                "yaxis": "y3",
                "showscale": False,
                "z": [[1 if p["columns"].get(c) else 0 for p in points] for c in columns],
                "text": [[_score_text(p, c) for p in points] for c in columns],
                "colorscale": [[0, "#e8eef5"], [1, RED]],
                "zmin": 0,
                "zmax": 1,
                "hovertemplate": "%{y} at %{x}: %{text}<extra></extra>",
            }
        )
    # fixed pixel heights: 170 for the share, 150 for the metrics, 18 per column of the heat map
    share, metrics, heat, gap = 170, 150 if metric_names else 0, 18 * len(columns), 40
    plot = share + metrics + heat + gap * (1 + bool(metric_names))
    top = 1.0
    share_domain = [top - share / plot, top]
    metric_domain = [share_domain[0] - gap / plot - metrics / plot, share_domain[0] - gap / plot]
    heat_domain = [0.0, max(heat / plot, 0.0)]
    layout = {
        **LAYOUT,
        "height": plot + 150,
        "title": {"text": title, "y": 0.99, "yanchor": "top"},
        "shapes": shapes,
        "margin": {"l": 140, "r": 20, "t": 90, "b": 50},
        "yaxis": {
            "title": {"text": "drift share"},
            "domain": share_domain,
            "rangemode": "tozero",
            "tickformat": ".0%",
        },
        "yaxis2": {"title": {"text": "metric"}, "domain": metric_domain},
        "yaxis3": {"domain": heat_domain, "dtick": 1, "automargin": True},
        "xaxis": {"anchor": "y3"},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom"},
    }
    return {"data": data, "layout": layout}
