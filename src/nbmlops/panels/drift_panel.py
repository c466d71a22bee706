"""The drift panel: one row per column with its verdict colour; click a column for its histograms.

It opens a stored drift evaluation (``%mlops panel drift 12``) or compares two
references (``%mlops panel drift loans@3 loans@4``) through ``mo.drift.compare``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..drift import compare
from ..drift.charts import histograms
from ..drift.report import COLUMNS, DriftReport, column_row
from ..errors import InvalidInput
from ..evaluate.reports import open_report
from ..result import render_html
from .frame import ChartArea, Messages, Panel
from .table import StaticSource, TableWidget, cell, column

if TYPE_CHECKING:
    from ..store import Store

NUMBERS = {"score", "threshold", "p-value (KS/chi²)", "distance (W/JS)", "PSI"}
WIDTHS = {"column": 160, "decided by": 150, "drift": 80, "notes": 320, "missing ref → cur": 150}


def open_drift(source: Any, current: Any = None, *, store: Store | None = None) -> DriftReport:
    """A drift report: a stored evaluation (``12`` or ``"#12"``), or ``source`` compared with
    ``current``."""
    if current is None:
        report = open_report(source, store=store)
        if not isinstance(report, DriftReport):
            raise InvalidInput(
                f"Evaluation {source} is not a drift report; give a drift evaluation or two "
                "references."
            )
        return report

    return compare(source, current, store=store)


class DriftPanel(Panel):
    """Per-column drift with verdict colours and the histograms of the clicked column."""

    def __init__(self, report: DriftReport) -> None:
        self.report = report
        ordered = report.ordered()
        rows = [{"key": r["column"], "cells": [cell(v) for v in column_row(r)]} for r in ordered]
        columns = [
            column(
                name,
                kind="status" if name == "drift" else "number" if name in NUMBERS else "text",
                sort_key=name,
                width=WIDTHS.get(name, 110),
            )
            for name in COLUMNS
        ]
        self.table = TableWidget(
            StaticSource(columns, rows, empty_text="No column could be compared."),
            multi=False,
            placeholder="find a column",
            height=min(360, 40 + 26 * len(rows)),
        )
        self.summary = Messages()
        self.summary.value = render_html([report.verdict(), *report.schema_notes()])
        self.chart = ChartArea()
        self.table.observe(lambda _c: self.show_column(), names="activated")
        first = report.drifted_columns[:1] or [r["column"] for r in ordered[:1]]
        if first:
            self.table.activated = first[0]
            self.show_column()
        box = widgets.VBox([self.summary, self.table, self.chart])
        box.add_class("nbm-drift-panel")
        super().__init__(box, report)

    def show_column(self) -> None:
        """Overlaid reference and current histograms of the clicked column."""
        name = self.table.activated
        try:
            result = self.report.column(name)
        except KeyError:
            self.chart.say("Click a column to see its reference and current distributions.")
            return
        figure = histograms([result])
        if figure is None:
            self.chart.say(
                f"{name} has no histogram (it was not compared: {'; '.join(result['reasons'])}).",
                "warn",
            )
            return
        self.chart.show(figure)


def drift(source: Any, current: Any = None, *, store: Store | None = None) -> DriftPanel:
    """Per-column drift of a stored evaluation (``drift(12)``) or of two references
    (``drift("loans@3", "loans@4")``).

    Example:
        >>> mo.panels.drift("loans@3", new_batch)  # doctest: +SKIP
    """
    return DriftPanel(open_drift(source, current, store=store))
