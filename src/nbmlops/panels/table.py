"""The one table widget of every panel: virtualised in the browser, paged, filtered and sorted in
Python.

The browser keeps only the rows in view in its DOM and asks for blocks of
``block_size`` rows as the user scrolls; a :class:`Source` answers each block.
Filter text, sort and chosen columns are synced traits: a change makes Python
recount, send the first block again and bump ``generation`` so the browser drops
its cache. What crosses to the browser for the first page is one block, however
many rows match.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import anywidget
import traitlets

from ..assets import asset
from ..errors import MlopsError
from ..result import Html, fmt, jsonable

BLOCK_SIZE = 100


class Source(Protocol):
    """What a table shows: its columns and any page of its rows."""

    optional: list[str]
    default_chosen: list[str]
    empty_text: str

    def columns(self, chosen: Sequence[str]) -> list[dict[str, Any]]: ...

    def page(
        self, filter: str, sort: Sequence[str], chosen: Sequence[str], offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]: ...


def column(
    key: str,
    label: str | None = None,
    *,
    kind: str = "text",
    sort_key: str | None = None,
    width: int = 130,
) -> dict[str, Any]:
    """A column description: ``kind`` is text, number or status; ``sort_key`` makes it sortable."""
    return {"key": key, "label": label or key, "kind": kind, "sort_key": sort_key, "width": width}


TONES = {
    "FINISHED": "ok",
    "OK": "ok",
    "PASS": "ok",
    "APPROVED": "ok",
    "DRIFT": "alert",
    "FAILED": "alert",
    "FAIL": "alert",
    "ALERT": "alert",
    "REFUSED": "alert",
    "REJECTED": "alert",
    "RUNNING": "info",
    "PENDING": "warn",
    "WARN": "warn",
    "KILLED": "warn",
}


def cell(value: Any) -> Any:
    """A value as the browser shows it: numbers stay numbers, statuses carry their colour."""
    if isinstance(value, Html):
        text = value.text
        return (
            {"text": text, "tone": TONES.get(text.upper(), "")} if text.upper() in TONES else text
        )
    if isinstance(value, float) and not math.isfinite(value):
        return fmt(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return jsonable(value) if isinstance(value, (str, type(None))) else fmt(value)


def status(text: str) -> dict[str, str]:
    """A coloured status cell (``FINISHED`` green, ``FAILED`` red, ...)."""
    return {"text": text, "tone": TONES.get(text.upper(), "")}


class TableWidget(anywidget.AnyWidget):  # type: ignore[misc]
    """A virtualised, server-paged table over a :class:`Source`.

    Example:
        >>> table = TableWidget(StaticSource([column("a")], [{"key": "1",
        ...                     "cells": [1]}]))  # doctest: +SKIP
        >>> table.fetch(0, 10)  # doctest: +SKIP
    """

    _esm = asset("widgets", "table.js")
    _css = asset("widgets", "table.css")

    columns = traitlets.List().tag(sync=True)
    optional_columns = traitlets.List().tag(sync=True)
    chosen = traitlets.List().tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    generation = traitlets.Int(0).tag(sync=True)
    first_rows = traitlets.List().tag(sync=True)
    block_size = traitlets.Int(BLOCK_SIZE).tag(sync=True)
    row_height = traitlets.Int(26).tag(sync=True)
    height = traitlets.Int(320).tag(sync=True)
    filter_text = traitlets.Unicode("").tag(sync=True)
    sort = traitlets.List().tag(sync=True)
    selected = traitlets.List().tag(sync=True)
    activated = traitlets.Unicode("").tag(sync=True)
    multi = traitlets.Bool(True).tag(sync=True)
    show_filter = traitlets.Bool(True).tag(sync=True)
    placeholder = traitlets.Unicode("filter").tag(sync=True)
    empty_text = traitlets.Unicode("Nothing to show.").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, source: Source, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        # the last filter, sort, columns that worked
        self._applied: tuple[str, list[str], list[str]] = (
            "",
            [],
            [],
        )
        self.optional_columns = list(source.optional)
        if not self.chosen:
            self.chosen = list(source.default_chosen)
        self.on_msg(self._on_msg)
        self.observe(self._changed, names=["filter_text", "sort", "chosen"])
        self.refresh()

    def fetch(self, offset: int, limit: int) -> list[dict[str, Any]]:
        """Rows ``offset`` to ``offset + limit`` under the current filter and sort."""
        filter_text, sort, chosen = self._applied
        _, rows = self.source.page(
            filter_text, sort, chosen, max(0, int(offset)), max(1, min(int(limit), 1000))
        )
        return rows

    def refresh(self) -> None:
        """Recount and resend the first block (after a filter, sort or column change, or new
        data)."""
        wanted = (self.filter_text, list(self.sort), list(self.chosen))
        try:
            total, rows = self.source.page(*wanted, 0, self.block_size)
            columns = self.source.columns(wanted[2])
        except MlopsError as e:  # a filter with a typo: say so, keep showing the last good rows
            self.error = str(e)
            return
        self._applied = wanted
        with self.hold_sync():
            self.error = ""
            self.columns = columns
            self.total = total
            self.first_rows = rows
            self.empty_text = self.source.empty_text
            self.generation += 1
            keys = {r["key"] for r in rows}
            # everything is on the first page: drop vanished keys
            if self.selected and total <= len(rows):
                self.selected = [k for k in self.selected if k in keys]

    def _changed(self, _change: dict[str, Any]) -> None:
        self.refresh()

    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        if content.get("type") != "fetch" or content.get("generation") != self.generation:
            return
        offset = int(content.get("offset", 0))
        try:
            rows = self.fetch(offset, int(content.get("limit", self.block_size)))
        except MlopsError as e:
            self.error = str(e)
            return
        self.send({"type": "rows", "offset": offset, "generation": self.generation, "rows": rows})


class StaticSource:
    """Rows held in memory (model versions, drift columns, jobs): filtered by text, sorted in
    Python.

    Example:
        >>> src = StaticSource([column("name", sort_key="name")], [{"key": "a", "cells": ["a"]}])
        >>> src.page("", [], [], 0, 10)[0]
        1
    """

    def __init__(
        self,
        columns: list[dict[str, Any]],
        rows: list[dict[str, Any]],
        *,
        empty_text: str = "Nothing to show.",
    ) -> None:
        self._columns = columns
        self.rows = rows
        self.optional: list[str] = []
        self.default_chosen: list[str] = []
        self.empty_text = empty_text

    def columns(self, chosen: Sequence[str]) -> list[dict[str, Any]]:
        return self._columns

    def replace(self, columns: list[dict[str, Any]], rows: list[dict[str, Any]]) -> None:
        """New content (the table shows it after its ``refresh()``)."""
        self._columns, self.rows = columns, rows

    def page(
        self, filter: str, sort: Sequence[str], chosen: Sequence[str], offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        rows = self.rows
        needle = filter.strip().lower()
        if needle:
            rows = [r for r in rows if any(needle in _text(v).lower() for v in r["cells"])]
        if sort:
            key = sort[0].lstrip("-")
            index = next((i for i, c in enumerate(self._columns) if c["sort_key"] == key), None)
            if index is not None:
                rows = sorted(rows, key=_sort_key(index), reverse=sort[0].startswith("-"))
        return len(rows), rows[offset : offset + limit]


def _text(value: Any) -> str:
    return str(value.get("text", "")) if isinstance(value, dict) else fmt(value)


def _sort_key(index: int) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    def key(row: dict[str, Any]) -> tuple[int, Any]:
        value = row["cells"][index]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (0, value) if math.isfinite(value) else (2, 0)
        text = _text(value)
        return (1, text.lower()) if text else (2, "")

    return key
