"""Live metrics: a run's charts redrawn while the cell that logs them is still running.

The metric buffer's writer thread calls the view after each flush (every
``MLOPS_FLUSH_INTERVAL`` seconds, 1 s by default), so the view reads what was
just written and replaces its chart. The kernel's main thread is busy with the
cell; the chart still updates because a widget's state change is a comm message
sent at once from any thread.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import InvalidInput, MlopsError, NotFound
from ..evaluate.charts import LAYOUT
from ..result import Note, fmt
from ..tracking.buffer import BUFFER
from ..tracking.reading import list_runs, metric_history
from ..tracking.runs import active_run
from . import charts
from .frame import ChartArea, Messages, Panel

if TYPE_CHECKING:
    from ..tracking.runs import Run

MAX_SERIES = 6


def stacked(series: list[tuple[str, list[int], list[float]]], *, title: str) -> dict[str, Any]:
    """One panel per metric, stacked, sharing the step axis (metrics have different scales)."""
    n = len(series)
    gap = 0.06
    height = (1 - gap * (n - 1)) / n
    data, layout = (
        [],
        {
            **LAYOUT,
            "height": 160 + 150 * n,
            "title": {"text": title},
            "showlegend": False,
            "xaxis": {"title": {"text": "step"}, "anchor": f"y{n}"},
        },
    )
    for i, (key, steps, values) in enumerate(series):
        x, y = charts.thin(steps, values)
        axis = "y" if i == 0 else f"y{i + 1}"
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers" if len(x) < 50 else "lines",
                "name": key,
                "x": x,
                "y": y,
                "yaxis": axis,
                "line": {"color": charts.PALETTE[i % len(charts.PALETTE)], "width": 2},
                "hovertemplate": f"{key} step %{{x}}: %{{y:.4g}}<extra></extra>",
            }
        )
        top = 1 - i * (height + gap)
        layout["yaxis" if i == 0 else f"yaxis{i + 1}"] = {
            "domain": [max(0.0, top - height), top],
            "title": {"text": key},
        }
    return {"data": data, "layout": layout}


class LiveView(Panel):
    """Charts of one run's metrics, redrawn after each buffer flush until the run ends."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.chart = ChartArea()
        self.status = Messages()
        self._lock = threading.Lock()
        self._seen: dict[str, int] = {}
        self.updates = 0
        self.chart.say(f"Waiting for the first metric of run {run.name} ({run.id[:8]})…")
        self.status.say(f"Live: run {run.name} ({run.id[:8]}) is running.")
        box = widgets.VBox([self.status, self.chart])
        box.add_class("nbm-live-view")
        super().__init__(box, [])
        BUFFER.tick_hooks.append(self.update)

    def blocks(self) -> list[Any]:

        return [
            Note(
                f"Live metrics of run {self.run.name} ({self.run.id[:8]}); open the notebook in "
                "JupyterLab to see the chart."
            )
        ]

    def update(self) -> None:
        """Redraw if new points were written; stops by itself once the run has ended."""
        if self.run.ended:
            self.stop()
            return
        self._draw()

    def _draw(self) -> bool:
        with self._lock:
            try:
                found = list_runs(
                    f"attributes.id = '{self.run.id}'", limit=1, columns=[], store=self.run.store
                )
                if not found.runs:
                    return False
                keys = sorted(found.runs[0]["metrics"])[:MAX_SERIES]
                series = []
                counts = {}
                for key in keys:
                    history = metric_history(self.run.id, key, store=self.run.store)
                    series.append((key, history.steps, history.values))
                    counts[key] = len(history.steps)
            except (MlopsError, NotFound) as e:
                self.status.say(f"Live view paused: {e}", "warn")
                return False
            if not series or counts == self._seen:
                return False
            self._seen = counts
            self.chart.show(stacked(series, title=f"{self.run.name} · {self.run.id[:8]}"))
            latest = ", ".join(f"{k}={fmt(v[-1])}" for k, _s, v in series if v)
            self.status.say(
                f"Live: run {self.run.name} ({self.run.id[:8]}) at {time.strftime('%H:%M:%S')}: "
                f"{latest}."
            )
            self.updates += 1
            return True

    def stop(self) -> None:
        """Draw the final points and stop following the run."""
        if self.update in BUFFER.tick_hooks:
            BUFFER.tick_hooks.remove(self.update)
        self._draw()
        state = self.run.status.lower() if self.run.ended else "stopped following"
        self.status.say(
            f"Run {self.run.name} ({self.run.id[:8]}) {state}; the chart shows every point.",
            "ok" if state == "finished" else "info",
        )


def live(run: Run | None = None) -> LiveView:
    """A chart of ``run``'s metrics (default: the active run) that updates while the run logs.

    Example:
        >>> with mo.start_run() as run:  # doctest: +SKIP
        ...     display(mo.panels.live(run))
        ...     for step in range(100): mo.log_metric("loss", 1 / (step + 1))
    """

    run = run or active_run()
    if run is None:
        raise InvalidInput(
            "No run is active; start one with mo.start_run() or use %%mlops run --live."
        )
    return LiveView(run)
