"""What every panel is made of: a widget tree, a chart area, a line for messages, a static stand-in.

A :class:`Panel` is a Result: where widgets render (JupyterLab, Voila) it is the
live widget; where they do not (nbviewer, GitHub, a notebook opened without its
kernel) the same output carries the static HTML of the Result it stands for.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from IPython.core.formatters import format_display_data
from IPython.display import display

from ..errors import MlopsError
from ..result import Block, Chart, Note, Result, render_html

_TONE_COLOURS = {"info": "#1f5fa8", "ok": "#1a7f37", "warn": "#9a6700", "alert": "#b42318"}


def _display_data(obj: Any) -> dict[str, Any]:

    data, metadata = format_display_data(obj)
    return {"output_type": "display_data", "data": data, "metadata": metadata}


class ChartArea(widgets.Output):  # type: ignore[misc]
    """An output area that shows one plotly figure or one sentence at a time.

    It replaces its ``outputs`` in one assignment, so a background thread can update it while
    the kernel is busy (a comm message is sent at once), unlike ``with output:`` which needs
    the main thread's message context.
    """

    def show(self, figure: dict[str, Any] | Any) -> None:
        """Show a plotly figure (a ``go.Figure`` or its dict) through plotly's own mime renderer."""
        import plotly.graph_objects as go  # lazy: start-up time
        import plotly.io as pio  # lazy: start-up time

        fig = go.Figure(figure) if isinstance(figure, dict) else figure
        # the mimetype renderer whatever the process's default (a terminal IPython's default opens a
        # browser)
        bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_plotly_json())
        title = fig.layout.title.text or "chart"
        bundle["text/plain"] = f"<plotly figure: {title}>"
        self.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def say(self, text: str, tone: str = "info") -> None:
        """Show one sentence instead of a chart."""
        self.outputs = (_display_data(_Sentence(text, tone)),)


class _Sentence:
    def __init__(self, text: str, tone: str) -> None:
        self.text, self.tone = text, tone

    def _repr_html_(self) -> str:
        colour = _TONE_COLOURS.get(self.tone, "#333")
        return (
            f'<p class="nbm-say nbm-say-{self.tone}" '
            f'style="color:{colour}">{html.escape(self.text)}</p>'
        )

    def __repr__(self) -> str:
        return self.text


class Messages(widgets.HTML):  # type: ignore[misc]
    """One line of feedback under a panel's buttons: a result, or an error's one sentence."""

    def say(self, text: str, tone: str = "info") -> None:
        colour = _TONE_COLOURS.get(tone, "#333")
        self.value = (
            f'<p class="nbm-say nbm-say-{tone}" style="color:{colour}">{html.escape(text)}</p>'
        )

    def show_result(self, result: Result | list[Block]) -> None:
        """The tables and sentences of a Result (charts need a ChartArea: an HTML widget runs no
        script)."""
        blocks = result.blocks() if isinstance(result, Result) else result
        self.value = render_html(b for b in blocks if not isinstance(b, Chart))

    def clear(self) -> None:
        self.value = ""


def guarded(messages: Messages | ChartArea, action: Any) -> Any:
    """Run a callback from a button; an MlopsError becomes one red sentence, never a traceback."""
    try:
        return action()
    except MlopsError as e:
        messages.say(str(e), "alert")
    return None


class Panel(Result):
    """A panel: the live widget where widgets render, else the static HTML of ``fallback``.

    Example:
        >>> panel = mo.panels.runs()  # doctest: +SKIP
        >>> panel.table.selected = [run.id]  # doctest: +SKIP
    """

    def __init__(self, root: widgets.Widget, fallback: Result | list[Block]) -> None:
        self.root = root
        self.fallback = fallback

    def blocks(self) -> list[Block]:
        if isinstance(self.fallback, Result):
            return self.fallback.blocks()
        return list(self.fallback)

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.fallback, Result):
            return self.fallback.to_dict()
        return {"notes": [b.text for b in self.fallback if isinstance(b, Note)]}

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle = dict(self.root._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = render_html(b for b in self.blocks())
        bundle["text/plain"] = str(self).rstrip("\n")
        return bundle

    def _ipython_display_(self) -> None:

        display(self._repr_mimebundle_(), raw=True)
