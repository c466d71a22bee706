"""The data panel: a dataset's version timeline; pick two versions to see what changed between them.

The versions table selects up to two versions. Two selected show ``mo.data.diff``
of the older against the newer: a sentence, then every schema and statistic change
in a table whose cells are coloured by how much moved (a removed column or a
statistic that moved by a tenth or more in red, other changes in amber, added
columns in green). Naming a key column adds the rows added, removed and changed.
One selected version shows its schema and statistics. File versions compare by path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from ..data.comparison import DiffResult, diff
from ..data.versions import resolve
from ..data.views import VersionLog, log, show
from ..result import Note, fmt, fmt_bytes, render_html, timestamp
from ..workspace import open_current
from .charts import PALETTE
from .frame import ChartArea, Messages, Panel, guarded
from .table import StaticSource, TableWidget, cell, column

if TYPE_CHECKING:
    from ..store import Store

LARGE_MOVE = 0.10  # a statistic that moved by this share of its old value is coloured as an alert
FILES_SHOWN = 500  # file versions: paths listed per kind of change


def version_rows(history: VersionLog) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Columns and rows of the versions table, newest first (``data log`` as a table)."""
    size = "files" if history.kind == "files" else "rows"
    columns = [
        column("version", kind="number", sort_key="version", width=80),
        column("when", sort_key="when", width=160),
        column("who", sort_key="who", width=100),
        column("message", width=260),
        column(size, kind="number", sort_key=size, width=100),
        *(
            [column("cols", kind="number", sort_key="cols", width=60)]
            if history.kind == "table"
            else []
        ),
        column("bytes added", width=110),
        column("tags", sort_key="tags", width=120),
        column("run", width=90),
    ]
    rows = []
    for v in history.versions:
        cells = [
            v["version"],
            fmt(timestamp(v["created_at"])),
            v["author"],
            v["message"],
            v["rows"],
            *([v["columns"]] if history.kind == "table" else []),
            fmt_bytes(v["bytes_added"]),
            ", ".join(v["tags"]),
            (v["run_id"] or "")[:8],
        ]
        rows.append({"key": f"{history.name}@{v['version']}", "cells": cells})
    return columns, rows


def _tone(change: dict[str, Any]) -> str:
    """How loudly a schema or statistic change is coloured."""
    what = change.get("change", "")
    if "stat" not in change:
        return {"added": "ok", "removed": "alert"}.get(what, "warn")
    a, b = change["a"], change["b"]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        moved = abs(b - a) / abs(a) if a else (1.0 if b else 0.0)
        return "alert" if moved >= LARGE_MOVE else "warn"
    return "warn"


def change_rows(result: DiffResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every schema and statistic change (tables) or every changed path (files), with its colour."""
    if result.unit == "files":
        columns = [
            column("path", sort_key="path", width=320),
            column("change", kind="status", sort_key="change", width=100),
            column(result.a, width=120),
            column(result.b, width=120),
        ]
        tones = {"added": "ok", "removed": "alert", "changed": "warn"}
        rows = []
        sizes = {
            "added": lambda e: ("", e["size"]),
            "removed": lambda e: (e["size"], ""),
            "changed": lambda e: (e[result.a], e[result.b]),
        }
        for kind, entries in result.samples.items():
            for e in entries:
                rows.append(
                    {
                        "key": f"{kind}:{e['path']}",
                        "cells": [e["path"], {"text": kind, "tone": tones[kind]}, *sizes[kind](e)],
                    }
                )
        return columns, rows
    columns = [
        column("column", sort_key="column", width=160),
        column("what", sort_key="what", width=120),
        column(result.a, width=150),
        column(result.b, width=150),
        column("change", kind="status", sort_key="change", width=160),
    ]
    rows = []
    for s in result.schema:
        rows.append(
            {
                "key": f"schema:{s['column']}",
                "cells": [
                    s["column"],
                    "schema",
                    s.get("a", ""),
                    s.get("b", ""),
                    {"text": s["change"], "tone": _tone(s)},
                ],
            }
        )
    for s in result.stats:
        rows.append(
            {
                "key": f"{s['stat']}:{s['column']}",
                "cells": [
                    s["column"],
                    s["stat"],
                    cell(s["a"]),
                    cell(s["b"]),
                    {"text": fmt(s["change"]), "tone": _tone(s)},
                ],
            }
        )
    return columns, rows


def summary_sentence(result: DiffResult) -> Note:
    """One sentence for the top of the diff: sizes, what changed, how much storage was shared."""
    if result.identical:
        return Note(f"{result.a} and {result.b} hold the same data.", "ok")
    unit = result.unit
    parts = [
        f"{unit} {result.rows[0]:,} → {result.rows[1]:,} ({result.rows[1] - result.rows[0]:+,})"
    ]
    if result.unit == "rows":
        columns = {s["column"] for s in result.stats}
        parts.append(f"{len(result.schema)} schema change{'s' if len(result.schema) != 1 else ''}")
        parts.append(f"statistics moved in {len(columns)} column{'s' if len(columns) != 1 else ''}")
    if result.key is not None:
        parts.append(
            f"by {result.key}: {result.added:,} added, {result.removed:,} removed, "
            f"{result.changed:,} changed"
        )
    shared = (
        f"{fmt_bytes(result.shared_bytes)} of {fmt_bytes(result.bytes_b)} shared with {result.a}"
    )
    return Note(f"{result.a} → {result.b}: {'; '.join(parts)}; {shared}.", "info")


def timeline(history: VersionLog, selected: list[str]) -> dict[str, Any]:
    """Size of each version, in version order with its commit date; selected versions larger and
    red, tags written on.

    Versions are spaced evenly (several commits in one minute stay apart); hovering shows when, who
    and why.
    """
    versions = sorted(history.versions, key=lambda v: v["version"])
    keys = [f"{history.name}@{v['version']}" for v in versions]
    numbers = [v["version"] for v in versions]
    unit = "files" if history.kind == "files" else "rows"
    when = [timestamp(v["created_at"]) for v in versions]
    hover = [
        f"{k} ({unit} {v['rows']:,})<br>{fmt(w)} by "
        f"{v['author']}<br>{v['message'] or '(no message)'}<br>"
        f"{fmt_bytes(v['bytes_added'])} added"
        for k, v, w in zip(keys, versions, when, strict=True)
    ]
    chosen = set(selected)
    marker = {
        "size": [14 if k in chosen else 9 for k in keys],
        "color": [PALETTE[1] if k in chosen else PALETTE[0] for k in keys],
    }
    trace = {
        "type": "scatter",
        "mode": "lines+markers+text",
        "x": numbers,
        "y": [v["rows"] for v in versions],
        "text": [", ".join(v["tags"]) for v in versions],
        "textposition": "top center",
        "hovertext": hover,
        "hoverinfo": "text",
        "marker": marker,
        "line": {"color": "#8c959f", "width": 1},
        "customdata": keys,
    }
    every = max(1, len(numbers) // 12)  # at most about a dozen labelled ticks
    ticks = numbers[::every]
    labels = [
        f"v{n}<br>{w.strftime('%Y-%m-%d') if w else ''}" for n, w in zip(numbers, when, strict=True)
    ][::every]
    layout = {
        "height": 260,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "template": "plotly_white",
        "title": {
            "text": f"{history.name}: {len(versions)} version{'s' if len(versions) != 1 else ''}"
        },
        "xaxis": {
            "tickvals": ticks,
            "ticktext": labels,
            "range": [numbers[0] - 0.5, numbers[-1] + 0.5],
        },
        "yaxis": {
            "title": {"text": unit},
            "range": [0, 1.25 * max(1, *(v["rows"] for v in versions))],
        },
        "showlegend": False,
    }  # headroom above the highest point for its tag
    return {"data": [trace], "layout": layout}


class DataPanel(Panel):
    """A dataset's versions with their timeline; select two to compare, one to see its schema."""

    def __init__(self, name: str, *, store: Store | None = None) -> None:
        self.store = store or open_current()
        focus = None
        if isinstance(name, str) and "@" in name:  # loans@3: that version against the one before it
            focus = resolve(name, store=self.store).version
            name = name.split("@", 1)[0]
        self.history = log(name, store=self.store)
        self.name = self.history.name
        columns, rows = version_rows(self.history)
        self.source = StaticSource(columns, rows)
        self.table = TableWidget(
            self.source,
            multi=True,
            show_filter=len(rows) > 10,
            placeholder="find a version",
            height=min(300, 40 + 26 * len(rows)),
        )
        self.header = Messages()
        self.chart = ChartArea()
        self.hint = Messages()
        self.key = widgets.Combobox(
            value="",
            placeholder="a column naming each row",
            description="key",
            ensure_option=True,
            layout=widgets.Layout(width="340px"),
        )
        self.key.layout.display = "none" if self.history.kind == "files" else "flex"
        self.details = Messages()
        self.changes = TableWidget(
            StaticSource([column("change")], []),
            multi=False,
            placeholder="find a column",
            height=300,
        )
        self.changes.layout.display = "none"
        self.samples = Messages()
        self.diff: DiffResult | None = None
        self.refresh_header()
        # the newest two (what the last commit changed), or the version asked for and the one before
        # it
        start = next((i for i, v in enumerate(self.history.versions) if v["version"] == focus), 0)
        self.table.selected = [r["key"] for r in rows[start : start + 2]]
        self.table.observe(lambda _c: self.show_selection(), names="selected")
        self.key.observe(lambda _c: self.show_selection(), names="value")
        self.show_selection()
        box = widgets.VBox(
            [
                self.header,
                self.chart,
                self.table,
                self.hint,
                self.key,
                self.details,
                self.changes,
                self.samples,
            ]
        )
        box.add_class("nbm-data-panel")
        super().__init__(box, self.history)

    def refresh_header(self) -> None:
        newest = self.history.versions[0]
        size = (
            f"{newest['rows']:,} files"
            if self.history.kind == "files"
            else f"{newest['rows']:,} rows, {newest['columns']} columns"
        )
        tags = (
            ", ".join(f"{t} → @{v['version']}" for v in self.history.versions for t in v["tags"])
            or "none"
        )
        kind = "files" if self.history.kind == "files" else "a table"
        self.header.value = render_html(
            [
                Note(
                    f"Dataset {self.name} ({kind}): {len(self.history.versions)} versions; "
                    f"newest {self.name}@"
                    f"{newest['version']} ({size}); tags {tags}."
                )
            ]
        )

    @property
    def versions(self) -> list[str]:
        """The selected references, older first."""
        return sorted(self.table.selected, key=lambda ref: int(ref.rsplit("@", 1)[1]))

    def show_selection(self) -> None:
        chosen = self.versions
        self.chart.show(timeline(self.history, chosen))
        self.samples.clear()
        self.changes.layout.display = "none"
        self.diff = None
        if len(chosen) == 1:
            self.hint.say("Select a second version to compare the two.")
            view = guarded(self.details, lambda: show(chosen[0], store=self.store))
            if view is not None:
                self.details.show_result(view)
                if view.kind == "table":
                    self.key.options = [c["name"] for c in view.schema]
            return
        if len(chosen) != 2:
            self.hint.say(
                "Select two versions to compare them, or one to see its schema.",
                "warn" if chosen else "info",
            )
            self.details.clear()
            return
        self.hint.clear()
        key = self.key.value if self.key.value in self.key.options else None
        sample = FILES_SHOWN if self.history.kind == "files" else 5
        result = guarded(
            self.details, lambda: diff(*chosen, key=key, sample=sample, store=self.store)
        )
        if result is None:
            return
        self.diff = result
        if result.unit == "rows":
            newer = guarded(self.details, lambda: show(chosen[1], store=self.store))
            self.key.options = [c["name"] for c in newer.schema] if newer is not None else []
        self.details.value = render_html([summary_sentence(result)])
        columns, rows = change_rows(result)
        if rows:
            self.changes.source.replace(columns, rows)
            self.changes.height = min(300, 40 + 26 * len(rows))
            self.changes.refresh()
            self.changes.layout.display = "flex"
        if result.unit == "rows":
            self.samples.show_result(result.keyed_blocks())


def data(name: str, *, store: Store | None = None) -> DataPanel:
    """A dataset's version timeline; select two versions to see their schema and statistic changes.

    ``name@N`` opens with version N compared against the one before it.

    Example:
        >>> mo.panels.data("loans")  # doctest: +SKIP
    """
    return DataPanel(name, store=store)
