"""The runs panel: every run in a virtualised table, filtered and sorted in the store; charts of a
selection.

The filter box takes the runs filter language (``metrics.accuracy > 0.8 and
params.penalty = 'l2'``); clicking a header sorts by it in the database; the
Columns button picks which params and metrics are shown. Selected runs get
their metric curves over steps and a parallel-coordinates chart of their params
against a chosen metric.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import NotFound
from ..result import fmt, fmt_duration, timestamp
from ..tracking.reading import list_runs, metric_history, run_keys
from ..workspace import open_current
from . import charts
from .frame import ChartArea, Panel
from .table import TableWidget, cell, column, status

if TYPE_CHECKING:
    from ..store import Store

DEFAULT_KEYS = 6
MAX_CURVES = 12
MAX_AXES = 12
NO_RUNS = "No runs yet; log one with %%mlops run in a notebook or `with mo.start_run():` in Python."


class RunsSource:
    """Runs through :func:`nbmlops.list_runs`: the filter and sort run in the database."""

    def __init__(self, store: Store, base_filter: str | None = None) -> None:
        self.store = store
        self.base_filter = base_filter
        self.keys = run_keys(store=store)
        self.optional = [f"metrics.{k}" for k in self.keys["metrics"]] + [
            f"params.{k}" for k in self.keys["params"]
        ]
        self.default_chosen = [f"metrics.{k}" for k in self.keys["metrics"][:DEFAULT_KEYS]] + [
            f"params.{k}" for k in self.keys["params"][:DEFAULT_KEYS]
        ]
        self.empty_text = NO_RUNS

    def columns(self, chosen: Sequence[str]) -> list[dict[str, Any]]:
        out = [
            column("id", sort_key="attributes.id", width=90),
            column("name", sort_key="attributes.name", width=170),
            column("status", kind="status", sort_key="attributes.status", width=100),
            column("started", sort_key="attributes.start_time", width=160),
            column("duration", sort_key="attributes.duration", width=100),
        ]
        for name in chosen:
            kind = "number" if name.startswith("metrics.") else "text"
            out.append(column(name, name.split(".", 1)[1], kind=kind, sort_key=name, width=120))
        return out

    def _filter(self, text: str) -> str | None:
        parts = [p.strip() for p in (self.base_filter, text) if p and p.strip()]
        if len(parts) < 2:
            return parts[0] if parts else None
        return " and ".join(f"({p})" for p in parts)

    def page(
        self, filter: str, sort: Sequence[str], chosen: Sequence[str], offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        found = list_runs(
            self._filter(filter),
            list(sort) or None,
            limit,
            offset,
            columns=list(chosen) or [],
            store=self.store,
        )
        self.empty_text = (
            f"No runs match {filter.strip()!r}." if filter.strip() and found.total == 0 else NO_RUNS
        )
        rows = []
        for r in found.runs:
            cells: list[Any] = [
                r["id"][:8],
                r["name"],
                status(r["status"]),
                fmt(timestamp(r["start_time"])),
                fmt_duration(r["duration_s"]),
            ]
            for name in chosen:
                namespace, key = name.split(".", 1)
                cells.append(cell(r[namespace].get(key)))
            rows.append({"key": r["id"], "cells": cells})
        return found.total, rows


class RunsPanel(Panel):
    """The runs table with charts of the selected runs."""

    def __init__(
        self, filter: str | None = None, *, store: Store | None = None, height: int = 360
    ) -> None:
        self.store = store or open_current()
        self.source = RunsSource(self.store, filter)
        self.table = TableWidget(
            self.source,
            height=height,
            placeholder="filter, e.g. metrics.accuracy > 0.8 and params.penalty = 'l2'",
        )
        metrics = self.source.keys["metrics"]
        self.metric = widgets.Dropdown(
            options=metrics,
            value=metrics[0] if metrics else None,
            description="metric",
            layout=widgets.Layout(width="320px"),
        )
        self.curves = ChartArea()
        self.parallel = ChartArea()
        self.table.observe(lambda _c: self.draw(), names="selected")
        self.metric.observe(lambda _c: self.draw(), names="value")
        self.draw()
        box = widgets.VBox(
            [self.table, self.metric, self.curves, self.parallel],
            layout=widgets.Layout(width="100%"),
        )
        box.add_class("nbm-runs-panel")
        first = list_runs(self.source._filter(""), limit=20, store=self.store)
        super().__init__(box, first)

    @property
    def selected(self) -> list[str]:
        """Ids of the selected runs."""
        return list(self.table.selected)

    def draw(self) -> None:
        """Redraw both charts for the current selection and metric."""
        chosen = self.selected
        metric = self.metric.value
        if not chosen:
            self.curves.say(
                "Click runs in the table to compare their metric curves and parameters "
                "(shift-click selects a range)."
            )
            self.parallel.outputs = ()
            return
        if metric is None:
            self.curves.say("The selected runs have no metrics to chart.")
            self.parallel.outputs = ()
            return
        found = list_runs(
            f"attributes.id in ({', '.join(repr(i) for i in chosen)})",
            limit=len(chosen),
            columns=[f"metrics.{metric}"],
            store=self.store,
        )
        by_id = {r["id"]: r for r in found.runs}
        series, missing = [], []
        for run_id in chosen[:MAX_CURVES]:
            run = by_id.get(run_id)
            if run is None:
                continue
            label = f"{run['name']} {run_id[:8]}"
            try:
                history = metric_history(run_id, metric, store=self.store)
            except NotFound:
                missing.append(label)
                continue
            series.append((label, history.steps, history.values))
        if series:
            more = f" (first {MAX_CURVES} of {len(chosen)})" if len(chosen) > MAX_CURVES else ""
            self.curves.show(
                charts.curves(series, metric=metric, title=f"{metric} over steps{more}")
            )
        else:
            self.curves.say(f"None of the selected runs logged {metric}.", "warn")
        runs = [by_id[i] for i in chosen if i in by_id]
        if len(runs) < 2:
            self.parallel.say("Select two runs or more for the parallel-coordinates chart.")
            return
        params = self._varying(runs)
        self.parallel.show(charts.parallel(runs, params, metric))

    @staticmethod
    def _varying(runs: list[dict[str, Any]]) -> list[str]:
        """Params that differ between the runs first (they explain the metric), then the rest."""
        keys = sorted({k for r in runs for k in r["params"]})
        varying = [k for k in keys if len({fmt(r["params"].get(k)) for r in runs}) > 1]
        return (varying + [k for k in keys if k not in varying])[:MAX_AXES]


def runs(filter: str | None = None, *, store: Store | None = None) -> RunsPanel:
    """An interactive table of runs (10,000 stay fast) with charts of the selected ones.

    Example:
        >>> import nbmlops as mo
        >>> mo.panels.runs("params.model = 'rf'")  # doctest: +SKIP
    """
    return RunsPanel(filter, store=store)
