"""Result rendering: the same blocks as HTML, text and strict JSON."""

from __future__ import annotations

import dataclasses
import json
import math

from nbmlops.result import (
    Chart,
    Fields,
    Heading,
    Html,
    Message,
    Note,
    Result,
    Table,
    fmt,
    fmt_bytes,
    fmt_duration,
)


@dataclasses.dataclass(repr=False)
class Sample(Result):
    value: float

    def blocks(self):
        return [
            Heading("Sample"),
            Fields([("value", self.value), ("escaped", "<b>&</b>")]),
            Table(["k", "v"], [["a", 1.5], ["b", math.nan]], marked_rows={1}),
            Note("careful", "alert"),
        ]


def test_html_escapes_and_marks():
    html = Sample(0.1)._repr_html_()
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in html and "<b>&</b>" not in html
    assert "<mark>b</mark>" in html and "<mark>NaN</mark>" in html
    assert "ALERT: careful" in html


def test_text_aligns_and_marks():
    text = str(Sample(0.1))
    assert text.startswith("Sample\n------\n")
    # numbers right-aligned, marks in front
    assert "  a  1.5\n* b  NaN\n(* marks a difference)" in text
    assert repr(Sample(0.1)) == text.rstrip("\n")


def test_json_is_strict():
    data = json.loads(Sample(math.nan).to_json())
    assert data == {"value": "NaN"}
    assert json.loads(Message("ok", fields=[("n", 3)]).to_json()) == {
        "message": "ok",
        "tone": "info",
        "n": 3,
    }


def test_frame_is_the_first_table():
    assert Sample(1.0).to_frame()["k"].tolist() == ["a", "b"]


def test_charts_render_per_medium():
    import plotly.graph_objects as go

    @dataclasses.dataclass(repr=False)
    class WithChart(Result):
        def blocks(self):
            return [
                Note("before"),
                Chart(go.Figure(go.Bar(x=["a"], y=[1])), "a: 1"),
                Html("<i>x</i>", "x"),
            ]

    r = WithChart()
    assert "a: 1" in str(r) and "plotly" not in str(r)
    # no plotly.js copy
    assert "Plotly.newPlot" in r._repr_html_() and len(r._repr_html_()) < 50_000
    assert len(r.to_html(self_contained=True)) > 1_000_000  # exports carry plotly.js


def test_formatting():
    assert (fmt(0.123456789), fmt(None), fmt(True), fmt(-math.inf)) == (
        "0.123457",
        "",
        "true",
        "-inf",
    )
    assert fmt_bytes(38_400_000) == "38.4 MB" and fmt_bytes(999) == "999 B"
    assert (fmt_duration(0.25), fmt_duration(12.34), fmt_duration(185), fmt_duration(7300)) == (
        "250 ms",
        "12.3 s",
        "3 min 05 s",
        "2 h 01 min",
    )
