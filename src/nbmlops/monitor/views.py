"""How monitors show themselves: a check's status and reasons, the history chart, the list, one
monitor."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import math
from typing import Any

from ..drift import charts
from ..drift.report import DriftReport
from ..result import (
    Block,
    Chart,
    Fields,
    Heading,
    Html,
    Note,
    Result,
    Table,
    fmt,
    status_cell,
    timestamp,
)
from .retraining import describe

TONE = {"ALERT": "alert", "WARN": "warn", "OK": "ok"}
BANNER = {"ALERT": "#b42318", "WARN": "#9a6700", "OK": "#1a7f37"}


def limits_text(config: dict[str, Any]) -> str:
    """The monitor's limits in one line: ``drift share <= 30%, accuracy >= 0.82``."""
    parts = []
    if config.get("max_drift_share") is not None:
        parts.append(f"drift share <= {config['max_drift_share']:.0%}")
    parts += [f"{k} >= {v:g}" for k, v in config.get("min", {}).items()]
    parts += [f"{k} <= {v:g}" for k, v in config.get("max", {}).items()]
    return ", ".join(parts) or "dataset drift (default share)"


def _banner(status: str, text: str) -> Html:
    """The status as a coloured bar in notebooks; in a terminal the heading and the notes carry
    it."""

    colour = BANNER.get(status, "#333")
    bar = (
        f'<div style="border-left:6px solid {colour};background:{colour}14;padding:8px '
        "12px;margin:6px 0;"
        f'font-size:1.15em;font-weight:600;color:{colour}">{html.escape(status)}: '
        f"{html.escape(text)}</div>"
    )
    return Html(bar, f"*** {status} ***" if status == "ALERT" else "")


@dataclasses.dataclass(repr=False)
class MonitorCheck(Result):
    """The outcome of one monitor check: status, reasons, actions taken or pending, and the drift
    report."""

    monitor: str
    status: str
    reasons: list[dict[str, str]]
    actions: list[dict[str, Any]]
    notifications: list[dict[str, Any]]
    data: str
    data_ref: str
    reference: str
    model: str | None
    result_id: int
    evaluation_id: int | None
    at: float
    report: DriftReport

    def blocks(self) -> list[Block]:
        worst = [r["text"] for r in self.reasons if r["level"] == self.status]
        headline = "; ".join(worst) if worst else "every limit holds"
        out: list[Block] = [
            Heading(f"Monitor {self.monitor}: {self.status}", 2),
            _banner(self.status, headline),
        ]
        out.extend(Note(r["text"], TONE[r["level"]]) for r in self.reasons)
        if not self.reasons:
            out.append(Note("No drift beyond the limits and no quality problem.", "ok"))
        rows = [
            [a["action"], a["status"], "; ".join(filter(None, [a.get("reason"), a.get("outcome")]))]
            for a in self.actions
        ]
        rows += [["notify " + n["notifier"], n["status"], n["detail"]] for n in self.notifications]
        if rows:
            out.append(
                Table(
                    ["action", "status", "detail"],
                    rows,
                    title="Actions",
                    marked_rows={
                        i
                        for i, r in enumerate(rows)
                        if r[1] in ("failed", "pending", "gates failed")
                    },
                )
            )
        fields: list[tuple[str, Any]] = [("data", self.data_ref), ("reference", self.reference)]
        if self.model:
            fields.append(("model", self.model))
        fields += [("result", f"#{self.result_id}"), ("checked", timestamp(self.at))]
        if self.evaluation_id:
            fields.append(("evaluation", f"#{self.evaluation_id}"))
        out.append(Fields(fields))
        out.extend(self.report.blocks())
        return out

    def to_frame(self):  # type: ignore[no-untyped-def]
        return self.report.to_frame()  # type: ignore[no-untyped-call]


def _x(results: list[dict[str, Any]]) -> list[str]:
    """Where each check sits in time: the end of its data's period, or (when some lack one or two
    coincide,
    e.g. the same batch checked twice) the time of the check."""

    def iso(seconds: float) -> str:
        return dt.datetime.fromtimestamp(float(seconds), tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")

    ends = [(r["metrics"].get("period") or [None, None])[1] for r in results]
    if all(e is not None for e in ends) and len(set(ends)) == len(ends):
        return [iso(e) for e in ends]
    return [iso(r["at"]) for r in results]


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


@dataclasses.dataclass(repr=False)
class MonitorHistory(Result):
    """A monitor's results, oldest first."""

    monitor: str
    config: dict[str, Any]
    results: list[dict[str, Any]]

    def metric_names(self) -> list[str]:
        return sorted({k for r in self.results for k in r["metrics"].get("metrics", {})})

    def table(self) -> Table:
        names = self.metric_names()
        rows, marked = [], set()
        for i, r in enumerate(self.results):
            m = r["metrics"]
            first = r["reasons"][0]["text"] if r["reasons"] else ""
            rows.append(
                [
                    f"#{r['id']}",
                    timestamp(r["at"]),
                    r["data"],
                    status_cell(r["status"]),
                    _number(m.get("drift_share")),
                    len(m.get("drifted", [])),
                    *[_number(m.get("metrics", {}).get(n)) for n in names],
                    first,
                    f"#{r['evaluation_id']}" if r["evaluation_id"] else "",
                ]
            )
            if r["status"] == "ALERT":
                marked.add(i)
        return Table(
            [
                "result",
                "checked",
                "data",
                "status",
                "drift share",
                "drifted",
                *names,
                "first reason",
                "evaluation",
            ],
            rows,
            title="Checks",
            marked_rows=marked,
        )

    def blocks(self) -> list[Block]:
        out: list[Block] = [Heading(f"Monitor {self.monitor}: history")]
        if not self.results:
            return [*out, Note(f"No checks yet; run monitor check {self.monitor} DATA.")]

        points = [
            {
                "x": x,
                "status": r["status"],
                "drift_share": _number(r["metrics"].get("drift_share")),
                "metrics": {k: _number(v) for k, v in r["metrics"].get("metrics", {}).items()},
                "columns": r["metrics"].get("columns", {}),
                "scores": r["metrics"].get("scores", {}),
            }
            for x, r in zip(_x(self.results), self.results, strict=True)
        ]
        limits = {k: (">=", v) for k, v in self.config.get("min", {}).items()}
        limits.update({k: ("<=", v) for k, v in self.config.get("max", {}).items()})
        figure = charts.monitor_history(
            points,
            max_share=self.config.get("max_drift_share"),
            limits=limits,
            title=f"{self.monitor}: drift share, metrics and drifted columns",
        )
        statuses = " ".join(r["status"] for r in self.results[-20:])
        out.append(Note(f"{len(self.results)} checks; limits: {limits_text(self.config)}."))
        out.append(Chart(figure, f"Status, oldest to newest: {statuses}"))
        out.append(self.table())
        return out

    def to_frame(self):  # type: ignore[no-untyped-def]
        frame = self.table().frame()  # type: ignore[no-untyped-call]
        frame["status"] = [r["status"] for r in self.results]
        return frame


@dataclasses.dataclass(repr=False)
class MonitorList(Result):
    """Every monitor and its latest status."""

    monitors: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        if not self.monitors:
            return [Note("No monitors yet; monitor create NAME --reference REF makes one.")]
        rows = [
            [
                m["name"],
                m["model"] or "",
                m["reference"],
                limits_text(m["config"]),
                m["policy"].get("level", "notify") if m["policy"] else "notify",
                m["checks"],
                status_cell(m["status"]) if m["status"] else "",
                timestamp(m["at"]),
            ]
            for m in self.monitors
        ]
        return [
            Table(
                [
                    "monitor",
                    "model",
                    "reference",
                    "limits",
                    "policy",
                    "checks",
                    "last status",
                    "last check",
                ],
                rows,
                title="Monitors",
                marked_rows={i for i, m in enumerate(self.monitors) if m["status"] == "ALERT"},
            )
        ]


@dataclasses.dataclass(repr=False)
class MonitorDetail(Result):
    """One monitor: definition, policy, latest results."""

    name: str
    model: str | None
    reference: str
    config: dict[str, Any]
    policy: dict[str, Any]
    created_at: float
    created_by: str
    latest: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        c = self.config
        out: list[Block] = [Heading(f"Monitor {self.name}")]
        if self.latest and self.latest[-1]["status"] != "OK":
            last = self.latest[-1]
            out.append(
                _banner(
                    last["status"],
                    "; ".join(r["text"] for r in last["reasons"] if r["level"] == last["status"]),
                )
            )
        out.append(
            Fields(
                [
                    ("reference", self.reference),
                    ("model", self.model or ""),
                    ("limits", limits_text(c)),
                    ("window", c.get("window") or ""),
                    (
                        "target / prediction",
                        f"{c.get('target') or '-'} / {c.get('prediction') or '-'}",
                    ),
                    ("tests", ", ".join(c.get("tests", [])) or "auto"),
                    ("thresholds", ", ".join(c.get("thresholds", [])) or "defaults"),
                    (
                        "notifiers",
                        ", ".join(c["notify"]) if c.get("notify") is not None else "all installed",
                    ),
                    ("retraining", describe(self.policy)),
                    ("created", f"{fmt(timestamp(self.created_at))} by {self.created_by}"),
                ]
            )
        )
        if self.latest:
            out.append(MonitorHistory(self.name, c, self.latest).table())
        else:
            out.append(Note(f"No checks yet; run monitor check {self.name} DATA."))
        return out
