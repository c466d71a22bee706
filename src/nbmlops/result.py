"""Result objects: what every command returns and how it shows itself.

A Result is built from a few display blocks (headings, key/value fields,
tables, notes, raw HTML such as a chart). The same blocks render as plain HTML
in a notebook (JupyterLab, Voila, nbviewer, GitHub: no widget needed) and as
aligned text in a terminal, so every command has exactly one description of its
output.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

TEXT_CELL_WIDTH = 48


def fmt(value: Any) -> str:
    """Format one value the way tables show it.

    Example:
        >>> fmt(0.123456789), fmt(float("nan")), fmt(None), fmt(3)
        ('0.123457', 'NaN', '', '3')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    if isinstance(value, dt.datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def fmt_bytes(n: int | None) -> str:
    """Human-readable byte count.

    Example:
        >>> fmt_bytes(38_400_000)
        '38.4 MB'
    """
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover - loop always returns


def fmt_duration(seconds: float | None) -> str:
    """Short duration such as ``'1.2 s'`` or ``'3 min 05 s'``.

    Example:
        >>> fmt_duration(185.2)
        '3 min 05 s'
    """
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def timestamp(epoch: float | None) -> dt.datetime | None:
    """An aware datetime from epoch seconds (``None`` stays ``None``)."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def jsonable(value: Any) -> Any:
    """Convert a value to something strict JSON can hold (NaN becomes ``"NaN"``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return jsonable(value.item())
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


# ---------------------------------------------------------------- display blocks


@dataclasses.dataclass
class Heading:
    text: str
    level: int = 3


@dataclasses.dataclass
class Fields:
    """Label/value pairs shown as a two-column list."""

    pairs: Sequence[tuple[str, Any]]


@dataclasses.dataclass
class Table:
    """A table; ``marked_rows`` and ``marked_cells`` are highlighted (differences, failures)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    title: str | None = None
    marked_rows: set[int] = dataclasses.field(default_factory=set)
    marked_cells: set[tuple[int, int]] = dataclasses.field(default_factory=set)
    footer: str | None = None

    def frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame([list(r) for r in self.rows], columns=list(self.columns))


@dataclasses.dataclass
class Note:
    """A sentence for the reader; ``tone`` is one of info, ok, warn, alert."""

    text: str
    tone: str = "info"


@dataclasses.dataclass
class Html:
    """Raw HTML for notebooks (a chart, a sparkline) with a text stand-in for terminals."""

    html: str
    text: str = ""


@dataclasses.dataclass
class Chart:
    """A plotly figure (or its dict). Live notebooks and Voila show it interactively through
    plotly's own renderer; static HTML (exports, nbconvert) embeds it; terminals get ``text``."""

    figure: Any
    text: str = ""

    def to_html(self, include_plotlyjs: bool | str = False) -> str:
        import plotly.io as pio  # lazy: start-up time

        return str(
            pio.to_html(
                self.figure,
                full_html=False,
                include_plotlyjs=include_plotlyjs,
                config={"displaylogo": False},
            )
        )


Block = Heading | Fields | Table | Note | Html | Chart

_TONE_COLOURS = {"info": "#1f5fa8", "ok": "#1a7f37", "warn": "#9a6700", "alert": "#b42318"}
_TONE_PREFIX = {"info": "", "ok": "OK: ", "warn": "WARNING: ", "alert": "ALERT: "}


def _html_cell(value: Any) -> str:
    if isinstance(value, Html):
        return value.html
    return html.escape(fmt(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def render_html(blocks: Iterable[Block], *, plotlyjs: bool | str = False) -> str:
    """Render blocks as HTML (inline styles only).

    ``plotlyjs`` is passed to plotly for the first chart: ``True`` embeds plotly.js so the
    page is self-contained, ``False`` assumes the page already has it.
    """
    out = ['<div class="nbmlops-result">']
    for b in blocks:
        if isinstance(b, Chart):
            out.append(b.to_html(plotlyjs))
            plotlyjs = False
        elif isinstance(b, Heading):
            out.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Note):
            colour = _TONE_COLOURS.get(b.tone, "#333")
            weight = "bold" if b.tone in ("alert", "warn") else "normal"
            out.append(
                f'<p style="color:{colour};font-weight:{weight}">'
                f"{html.escape(_TONE_PREFIX.get(b.tone, '') + b.text)}</p>"
            )
        elif isinstance(b, Html):
            out.append(b.html)
        elif isinstance(b, Fields):
            out.append("<table>")
            for label, value in b.pairs:
                out.append(
                    f'<tr><th style="text-align:left">{html.escape(label)}</th>'
                    f'<td style="text-align:left">{_html_cell(value)}</td></tr>'
                )
            out.append("</table>")
        elif isinstance(b, Table):
            out.append(_table_html(b))
    out.append("</div>")
    return "\n".join(out)


def _table_html(t: Table) -> str:
    parts = ["<table>"]
    if t.title:
        parts.append(f'<caption style="text-align:left"><b>{html.escape(t.title)}</b></caption>')
    parts.append("<thead><tr>")
    parts.extend(f"<th>{html.escape(c)}</th>" for c in t.columns)
    parts.append("</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        parts.append("<tr>")
        for j, value in enumerate(row):
            cell = _html_cell(value)
            if i in t.marked_rows or (i, j) in t.marked_cells:
                cell = f"<mark>{cell}</mark>"
            align = "right" if _is_number(value) else "left"
            parts.append(f'<td style="text-align:{align}">{cell}</td>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    if t.footer:
        parts.append(f"<p><small>{html.escape(t.footer)}</small></p>")
    return "".join(parts)


def _clip(text: str, width: int = TEXT_CELL_WIDTH) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _text_cell(value: Any) -> str:
    return _clip(value.text if isinstance(value, Html) else fmt(value))


def render_text(blocks: Iterable[Block]) -> str:
    """Render blocks as plain text for a terminal."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(b.text)
            out.append("=" * len(b.text) if b.level <= 2 else "-" * len(b.text))
        elif isinstance(b, Note):
            out.append(_TONE_PREFIX.get(b.tone, "") + b.text)
        elif isinstance(b, (Html, Chart)):
            if b.text:
                out.append(b.text)
        elif isinstance(b, Fields):
            width = max((len(label) for label, _ in b.pairs), default=0)
            out.extend(f"{label.ljust(width)}  {_text_cell(v)}" for label, v in b.pairs)
        elif isinstance(b, Table):
            out.append(_table_text(b))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _table_text(t: Table) -> str:
    marks = bool(t.marked_rows or t.marked_cells)
    cells = [[_text_cell(v) for v in row] for row in t.rows]
    numeric = [
        all(_is_number(row[j]) or row[j] is None for row in t.rows) if t.rows else False
        for j in range(len(t.columns))
    ]
    widths = [len(c) for c in t.columns]
    for row in cells:
        for j, c in enumerate(row):
            widths[j] = max(widths[j], len(c))

    def line(values: Sequence[str], flag: str = " ") -> str:
        padded = [
            v.rjust(widths[j]) if numeric[j] else v.ljust(widths[j]) for j, v in enumerate(values)
        ]
        return ((flag + " ") if marks else "") + "  ".join(padded).rstrip()

    lines = []
    if t.title:
        lines.append(t.title)
    lines.append(line(list(t.columns)))
    lines.append(line(["-" * w for w in widths]))
    for i, row in enumerate(cells):
        marked = i in t.marked_rows or any((i, j) in t.marked_cells for j in range(len(row)))
        lines.append(line(row, "*" if marked else " "))
    if t.footer:
        lines.append(t.footer)
    if marks:
        lines.append("(* marks a difference)")
    return "\n".join(lines)


def _md_cell(value: Any) -> str:
    return (
        (value.text if isinstance(value, Html) else fmt(value))
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def render_markdown(blocks: Iterable[Block]) -> str:
    """Render blocks as Markdown (model cards, reports pasted into a README or a pull request).

    Example:
        >>> print(render_markdown([Heading("Card", 2), Table(["a"], [[1]])]), end="")
        ## Card
        <BLANKLINE>
        | a |
        | --- |
        | 1 |
    """
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * max(1, min(b.level, 6)) + " " + b.text)
        elif isinstance(b, Note):
            prefix = {"warn": "**Warning:** ", "alert": "**Alert:** ", "ok": "**OK:** "}.get(
                b.tone, ""
            )
            out.append(prefix + b.text)
        elif isinstance(b, (Html, Chart)):
            if b.text:
                out.append(b.text)
            else:
                continue
        elif isinstance(b, Fields):
            out.extend(f"- **{label}:** {_md_cell(v)}" for label, v in b.pairs)
        elif isinstance(b, Table):
            if b.title:
                out.append(f"**{b.title}**\n")
            out.append("| " + " | ".join(_md_cell(c) for c in b.columns) + " |")
            out.append("| " + " | ".join("---" for _ in b.columns) + " |")
            out.extend("| " + " | ".join(_md_cell(v) for v in row) + " |" for row in b.rows)
            if b.footer:
                out.append(f"\n_{b.footer}_")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# ---------------------------------------------------------------- the base class


class Result:
    """Base of every command's return value.

    Subclasses are dataclasses that implement :meth:`blocks`; they get HTML for
    notebooks, text for terminals, ``to_frame()`` for pandas and ``to_json()``
    for scripts.

    Example:
        >>> @dataclasses.dataclass
        ... class Hello(Result):
        ...     name: str
        ...     def blocks(self):
        ...         return [Note(f"Hello {self.name}")]
        >>> print(Hello("ada"), end="")
        Hello ada
    """

    def blocks(self) -> list[Block]:
        raise TypeError(f"{type(self).__name__} must define blocks()")

    @property
    def exit_code(self) -> int:
        """The command line's exit status after printing this result: non-zero for a failed job.

        A command may set it for a verdict its options decide (``--fail-on``); a
        :class:`~nbmlops.verdict.Verdict` derives it from whether it passed."""
        return int(self.__dict__.get("_exit_code", 0))

    @exit_code.setter
    def exit_code(self, value: int) -> None:
        self.__dict__["_exit_code"] = int(value)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-able data."""
        data = jsonable(self)
        return data if isinstance(data, dict) else {"value": data}

    def to_json(self) -> str:
        """The result as strict JSON (NaN and infinities as strings)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_frame(self):  # type: ignore[no-untyped-def]
        """The main table of the result as a pandas DataFrame."""
        for block in self.blocks():
            if isinstance(block, Table):
                return block.frame()
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame([self.to_dict()])

    def _repr_html_(self) -> str:
        # notebooks use _ipython_display_ below; this serves HTML-only consumers that load plotly.js
        # themselves
        return render_html(self.blocks())

    def to_markdown(self) -> str:
        """The result as Markdown (charts are left out)."""
        return render_markdown(self.blocks())

    def to_html(self, *, self_contained: bool = True) -> str:
        """HTML for pages outside a notebook (exports, e-mail): charts carry plotly.js when
        self-contained."""
        return render_html(self.blocks(), plotlyjs=self_contained)

    def _ipython_display_(self) -> None:
        # tables as plain HTML; each chart as plotly's own output, which JupyterLab and Voila
        # render natively, so no output carries a copy of plotly.js
        from IPython.display import display  # lazy: start-up time

        segment: list[Block] = []
        for block in [*self.blocks(), None]:
            if isinstance(block, Chart) or block is None:
                if segment:
                    display(
                        {"text/html": render_html(segment), "text/plain": render_text(segment)},
                        raw=True,
                    )
                    segment = []
                if block is not None:
                    figure = block.figure
                    if isinstance(figure, dict):
                        import plotly.graph_objects as go  # lazy: start-up time

                        figure = go.Figure(figure)
                    display(figure)
            else:
                segment.append(block)

    def __str__(self) -> str:
        return render_text(self.blocks())

    def __repr__(self) -> str:
        return str(self).rstrip("\n")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's text/plain: dataclasses generate a __repr__ that would win otherwise
        printer.text(str(self).rstrip("\n"))


@dataclasses.dataclass(repr=False)
class Message(Result):
    """A short confirmation or notice, optionally with fields."""

    text: str
    tone: str = "info"
    fields: list[tuple[str, Any]] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.text, "tone": self.tone, **{k: jsonable(v) for k, v in self.fields}}

    def blocks(self) -> list[Block]:
        out: list[Block] = [Note(self.text, self.tone)]
        if self.fields:
            out.append(Fields(self.fields))
        return out


def sparkline(values: Sequence[float | None], width: int = 120, height: int = 24) -> Html:
    """A tiny inline SVG line of a series (NaN and infinities skipped); text shows first → last.

    Example:
        >>> sparkline([3, 2, 1]).text
        '3 → 1'
    """
    finite = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(finite) < 2:
        return Html("", fmt(finite[0][1]) if finite else "")
    lo = min(v for _, v in finite)
    hi = max(v for _, v in finite)
    span = (hi - lo) or 1.0
    n = len(values) - 1 or 1
    points = " ".join(
        f"{i * (width - 2) / n + 1:.1f},{height - 1 - (v - lo) * (height - 2) / span:.1f}"
        for i, v in finite
    )
    svg = (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">'
        f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="{points}"/></svg>'
    )
    return Html(svg, f"{fmt(finite[0][1])} → {fmt(finite[-1][1])}")


def status_cell(status: str) -> Html:
    """A run or check status, coloured in HTML."""
    colour = {
        "FINISHED": "#1a7f37",
        "OK": "#1a7f37",
        "PASS": "#1a7f37",
        "FAILED": "#b42318",
        "ALERT": "#b42318",
        "FAIL": "#b42318",
        "RUNNING": "#1f5fa8",
        "WARN": "#9a6700",
        "KILLED": "#6e7781",
    }.get(status, "#333")
    return Html(
        f'<span style="color:{colour};font-weight:600">{html.escape(status)}</span>', status
    )
