"""The bias panel: a group metric as bars with its threshold line, and the disparity in a
sentence."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..errors import InvalidInput
from ..evaluate.bias_report import SHORT, BiasReport
from ..evaluate.charts import group_bars
from ..evaluate.reports import open_report
from ..result import render_html
from .frame import ChartArea, Messages, Panel
from .table import StaticSource, TableWidget, cell, column

if TYPE_CHECKING:
    from ..store import Store

CLASSIFIER = [
    "selection_rate",
    "accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "precision",
]
REGRESSOR = ["mean_absolute_error", "root_mean_squared_error", "mean_prediction", "mean_error"]


class BiasPanel(Panel):
    """Bars of one metric per group (threshold line, small groups grey) and the groups table."""

    def __init__(self, report: BiasReport) -> None:
        self.report = report
        self.metrics = CLASSIFIER if report.task == "classification" else REGRESSOR
        self.summary = Messages()
        self.summary.value = render_html(report.explain())
        labels = [" × ".join(s["features"]) for s in report.sections]
        self.section = widgets.Dropdown(
            options=[(lab, i) for i, lab in enumerate(labels)],
            value=0,
            description="groups by",
            layout=widgets.Layout(width="320px"),
        )
        self.metric = widgets.Dropdown(
            options=[(SHORT[m], m) for m in self.metrics],
            value=self.metrics[0],
            description="metric",
            layout=widgets.Layout(width="320px"),
        )
        self.chart = ChartArea()
        self.source = StaticSource(*self._table(0))
        self.table = TableWidget(self.source, multi=False, show_filter=False, height=200)
        self.section.observe(lambda _c: self.draw(), names="value")
        self.metric.observe(lambda _c: self.draw(), names="value")
        self.draw()
        box = widgets.VBox(
            [self.summary, widgets.HBox([self.section, self.metric]), self.chart, self.table]
        )
        box.add_class("nbm-bias-panel")
        super().__init__(box, report)

    def _table(self, index: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        groups = self.report.sections[index]["groups"]
        names = ["count", *self.metrics]
        columns = [
            column("group", sort_key="group", width=160),
            *[column(SHORT[m], kind="number", sort_key=SHORT[m], width=110) for m in names],
            column("note", width=160),
        ]
        rows = [
            {
                "key": str(g["group"]),
                "cells": [
                    str(g["group"]),
                    *[cell(g.get(m)) for m in names],
                    "small group" if g["small"] else "",
                ],
            }
            for g in groups
        ]
        return columns, rows

    def draw(self) -> None:
        """Bars of the chosen metric for the chosen grouping, with the line it is judged against."""
        index, metric = self.section.value, self.metric.value
        groups = self.report.sections[index]["groups"]
        values = [float(g[metric]) for g in groups]
        names = [str(g["group"]) for g in groups]
        if metric == "selection_rate" and values and max(values) > 0:
            line, text, below = (
                self.report.threshold * max(values),
                f"{self.report.threshold:.0%} of the highest rate",
                True,
            )
        else:
            line, text, below = (
                float(self.report.overall.get(metric, float("nan"))),
                "overall",
                False,
            )
        label = " × ".join(self.report.sections[index]["features"])
        self.chart.show(
            group_bars(
                names,
                values,
                title=f"{SHORT[metric].capitalize()} by {label}",
                axis=SHORT[metric],
                line=line if line == line else None,
                line_text=text,
                flag_below=below,
                small=[g["small"] for g in groups],
            )
        )
        columns, rows = self._table(index)
        self.source.replace(columns, rows)
        self.table.refresh()


def bias(evaluation: int | str, *, store: Store | None = None) -> BiasPanel:
    """Group metrics of a stored bias evaluation as bars with the threshold line, and the disparity
    sentence.

    Example:
        >>> mo.panels.bias(12)  # doctest: +SKIP
    """

    report = open_report(evaluation, store=store)
    if not isinstance(report, BiasReport):
        raise InvalidInput(
            f"Evaluation {evaluation} is not a bias report; `mlops evaluate list --kind bias` "
            "lists them."
        )
    return BiasPanel(report)
