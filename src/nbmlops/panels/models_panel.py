"""The models panel: versions and aliases, the gates of the selected version, promotion and
approval.

Every button that changes something asks first, showing what the gates say
about the version, and then calls the registry (``promote``, ``approve``,
``reject``), which checks the gates again and records the decision. The answer,
or the one sentence of a refusal, shows under the buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .. import registry
from ..registry.views import HEADLINES, ModelOverview
from ..result import Note, fmt, render_html, timestamp
from ..workspace import open_current
from .frame import Messages, Panel, guarded
from .table import StaticSource, TableWidget, cell, column

if TYPE_CHECKING:
    from ..store import Store

COMMON_ALIASES = ("production", "staging", "champion")


def version_rows(overview: ModelOverview) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Columns and rows of the versions table (aliases and pending requests next to each
    version)."""
    by_version: dict[int, list[str]] = {}
    for alias, version in overview.aliases.items():
        by_version.setdefault(version, []).append(alias)
    waiting = {p["version"]: p["alias"] for p in overview.pending}
    keys = [k for k in HEADLINES if any(k in v["metrics"] for v in overview.versions)][:3]
    columns = [
        column("version", kind="number", sort_key="version", width=80),
        column("aliases", sort_key="aliases", width=150),
        column("pending", kind="status", sort_key="pending", width=170),
        *[column(k, kind="number", sort_key=k, width=100) for k in keys],
        column("model", sort_key="model", width=180),
        column("run", width=90),
        column("registered", sort_key="registered", width=160),
        column("by", sort_key="by", width=100),
    ]
    rows = []
    for v in overview.versions:
        pending = waiting.get(v["version"])
        rows.append(
            {
                "key": f"{overview.name}@{v['version']}",
                "cells": [
                    v["version"],
                    ", ".join(sorted(by_version.get(v["version"], []))),
                    {"text": f"awaits approval → {pending}", "tone": "warn"} if pending else "",
                    *[cell(v["metrics"].get(k)) for k in keys],
                    v["class_name"].rsplit(".", 1)[-1],
                    (v["run_id"] or "")[:8],
                    fmt(timestamp(v["created_at"])),
                    v["created_by"],
                ],
            }
        )
    return columns, rows


class ModelsPanel(Panel):
    """A model's versions; for the selected one its gates and history, and promote/approve/reject
    buttons."""

    def __init__(self, name: str, *, store: Store | None = None) -> None:
        self.name = name
        self.store = store or open_current()
        self.overview = registry.show(name, store=self.store)
        assert isinstance(self.overview, ModelOverview)
        columns, rows = version_rows(self.overview)
        self.source = StaticSource(
            columns,
            rows,
            empty_text=f"{name} has no versions yet; register one with "
            f"%mlops model register clf --name {name}.",
        )
        self.table = TableWidget(
            self.source, multi=False, show_filter=False, height=min(300, 40 + 26 * len(rows))
        )
        if rows:
            self.table.selected = [rows[0]["key"]]
        self.header = Messages()
        self.details = Messages()
        aliases = sorted({*COMMON_ALIASES, *self.overview.aliases})
        self.alias = widgets.Combobox(
            value="production",
            options=aliases,
            description="alias",
            ensure_option=False,
            layout=widgets.Layout(width="260px"),
        )
        self.promote_button = widgets.Button(description="Request promotion", icon="arrow-up")
        self.approve_button = widgets.Button(
            description="Approve", icon="check", button_style="success"
        )
        self.reject_button = widgets.Button(
            description="Reject", icon="times", button_style="danger"
        )
        self.confirm_text = Messages()
        self.confirm_button = widgets.Button(description="Confirm", button_style="warning")
        self.cancel_button = widgets.Button(description="Cancel")
        self.confirm_box = widgets.VBox(
            [self.confirm_text, widgets.HBox([self.confirm_button, self.cancel_button])]
        )
        self.confirm_box.layout.display = "none"
        self.answer = Messages()
        self._pending_action: Callable[[], Any] | None = None
        self.promote_button.on_click(lambda _b: self.ask("promote"))
        self.approve_button.on_click(lambda _b: self.ask("approve"))
        self.reject_button.on_click(lambda _b: self.ask("reject"))
        self.confirm_button.on_click(lambda _b: self.confirm())
        self.cancel_button.on_click(lambda _b: self.cancel())
        self.table.observe(lambda _c: self.show_version(), names="selected")
        self.alias.observe(lambda _c: self.cancel(), names="value")
        self.refresh_header()
        self.show_version()
        actions = widgets.HBox(
            [self.alias, self.promote_button, self.approve_button, self.reject_button]
        )
        box = widgets.VBox(
            [self.header, self.table, self.details, actions, self.confirm_box, self.answer]
        )
        box.add_class("nbm-models-panel")
        super().__init__(box, self.overview)

    @property
    def version(self) -> str | None:
        """The selected version's reference (``churn@3``)."""
        return self.table.selected[0] if self.table.selected else None

    def refresh_header(self) -> None:
        o = self.overview
        gates = ", ".join(o.gates) or "none"
        approval = (
            "a second person approves each promotion" if o.requires_approval else "no approval step"
        )
        aliases = ", ".join(f"{a} → v{v}" for a, v in sorted(o.aliases.items())) or "none yet"
        self.header.value = render_html(
            [Note(f"Model {o.name}: gates {gates}; {approval}; aliases {aliases}.")]
        )

    def show_version(self) -> None:
        ref = self.version
        if ref is None:
            self.details.say("Select a version in the table to see its gates and history.")
            return
        report = guarded(
            self.details,
            lambda: registry.check_gates(
                ref, alias=self.alias.value or None, record=False, store=self.store
            ),
        )
        history = guarded(self.details, lambda: registry.history(ref, store=self.store))
        if report is not None and history is not None:
            self.details.show_result([*report.blocks(), *history.blocks()])

    def ask(self, action: str) -> None:
        """First click: say what will happen and what the gates say; nothing is written yet."""
        ref, alias = self.version, (self.alias.value or "").strip()
        self.answer.clear()
        if ref is None or not alias:
            self.answer.say("Select a version and name an alias first.", "warn")
            return
        waiting = [
            p
            for p in self.overview.pending
            if f"{self.name}@{p['version']}" == ref and p["alias"] == alias
        ]
        if action in ("approve", "reject") and not waiting:
            self.answer.say(
                f"No promotion of {ref} to {alias} awaits a decision; request one first.", "warn"
            )
            return
        report = guarded(
            self.answer,
            lambda: registry.check_gates(ref, alias=alias, record=False, store=self.store),
        )
        if report is None:
            return
        what = {
            "promote": f"Promote {ref} to {alias}",
            "approve": f"Approve the promotion of {ref} to {alias}",
            "reject": f"Reject the promotion of {ref} to {alias}",
        }[action]
        tone = "ok" if report.passed or action == "reject" else "alert"
        self.confirm_text.value = render_html(
            [Note(f"{what}? {report.sentence()}", tone), *report.blocks()[2:]]
        )
        call = {
            "promote": registry.promote,
            "approve": registry.approve,
            "reject": registry.reject,
        }[action]
        self._pending_action = lambda: call(ref, to=alias, store=self.store)
        self.confirm_box.layout.display = "flex"

    def confirm(self) -> None:
        """Second click: do it, show the registry's answer and refresh the table."""
        action, self._pending_action = self._pending_action, None
        self.confirm_box.layout.display = "none"
        if action is None:
            return
        result = guarded(self.answer, action)
        if result is not None:
            self.answer.show_result(result)
        self.reload()

    def cancel(self) -> None:
        self._pending_action = None
        self.confirm_box.layout.display = "none"

    def reload(self) -> None:
        """Read the model again (after a decision here or elsewhere)."""
        selected = list(self.table.selected)
        overview = registry.show(self.name, store=self.store)
        assert isinstance(overview, ModelOverview)
        self.overview = overview
        self.fallback = overview
        self.source.replace(*version_rows(overview))
        self.table.refresh()
        self.table.selected = selected
        self.refresh_header()
        self.show_version()


def models(name: str, *, store: Store | None = None) -> ModelsPanel:
    """A model's versions, aliases, gates and approvals, with buttons to request and approve
    promotions.

    Example:
        >>> mo.panels.models("churn")  # doctest: +SKIP
    """
    return ModelsPanel(name, store=store)
