"""The runs panel in Python: pages, server-side filter and sort, columns, selection charts,
fallbacks."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from bulk_runs import bulk_runs

import nbmlops as mo
from nbmlops.panels.runs_panel import NO_RUNS
from nbmlops.panels.table import BLOCK_SIZE

PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture
def many(store):  # type: ignore[no-untyped-def]
    ids = bulk_runs(store, 450, n_params=6, n_metrics=3, loss_steps=7)
    frame = mo.list_runs(limit=1000).to_frame()
    return ids, frame


def _names(rows: list[dict]) -> list[str]:
    return [r["cells"][1] for r in rows]


def test_first_page_is_one_block_and_pages_follow(ip, many) -> None:
    _ids, frame = many
    panel = mo.panels.runs()
    table = panel.table
    assert table.total == len(frame) == 450
    assert len(table.first_rows) == BLOCK_SIZE
    newest_first = frame.sort_values("start_time", ascending=False)["name"].tolist()
    assert _names(table.first_rows) == newest_first[:BLOCK_SIZE]
    assert _names(table.fetch(400, 100)) == newest_first[400:450]
    # a block message from the browser is answered for the current generation only
    sent: list[dict] = []
    table.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    table._on_msg(
        table, {"type": "fetch", "offset": 200, "limit": 100, "generation": table.generation}, []
    )
    table._on_msg(
        table,
        {"type": "fetch", "offset": 300, "limit": 100, "generation": table.generation - 1},
        [],
    )
    assert len(sent) == 1 and sent[0]["offset"] == 200
    assert _names(sent[0]["rows"]) == newest_first[200:300]


def test_sort_and_filter_run_in_the_store(ip, many) -> None:
    _ids, frame = many
    table = mo.panels.runs().table
    table.sort = ["-metrics.accuracy"]
    expected = frame.sort_values("metrics.accuracy", ascending=False)["name"].tolist()
    assert _names(table.first_rows) + _names(table.fetch(100, 100)) == expected[:200]
    table.sort = ["params.p3"]
    assert _names(table.first_rows)[:20] == frame.sort_values("params.p3")["name"].tolist()[:20]
    table.filter_text = "metrics.accuracy > 0.9 and params.model = 'rf'"
    matching = frame[(frame["metrics.accuracy"] > 0.9) & (frame["params.model"] == "rf")]
    assert table.total == len(matching) > 0
    assert set(_names(table.first_rows)) == set(matching["name"])
    assert table.error == ""


def test_a_bad_filter_says_one_sentence_and_keeps_the_rows(ip, many) -> None:
    table = mo.panels.runs().table
    table.filter_text = "metrics.accuracy >"
    assert "syntax error" in table.error and table.error.count(".") >= 1
    assert table.total == 450  # the last good result stays
    assert len(table.fetch(100, 100)) == 100  # and the browser can still page through it
    table.filter_text = "params.model = 'nope'"
    assert table.error == "" and table.total == 0
    assert table.empty_text == "No runs match \"params.model = 'nope'\"."


def test_column_chooser_offers_every_param_and_metric(ip, many) -> None:
    table = mo.panels.runs().table
    assert set(table.optional_columns) == {
        "metrics.accuracy",
        "metrics.loss",
        "metrics.m2",
        "params.model",
        "params.penalty",
        *(f"params.p{j}" for j in range(2, 6)),
    }
    table.chosen = ["params.penalty", "metrics.loss"]
    assert [c["key"] for c in table.columns][-2:] == ["params.penalty", "metrics.loss"]
    row = table.first_rows[0]
    assert len(row["cells"]) == len(table.columns)
    assert row["cells"][-2] in ("l1", "l2", "elasticnet")


def test_selection_draws_curves_and_parallel_coordinates(ip, many) -> None:
    ids, frame = many
    panel = mo.panels.runs()
    assert "Click runs" in json.dumps(panel.curves.outputs[0]["data"])
    panel.metric.value = "loss"
    panel.table.selected = ids[:3]
    figure = panel.curves.outputs[0]["data"][PLOTLY]
    assert len(figure["data"]) == 3
    accuracy = frame.set_index("id").loc[ids[0], "metrics.accuracy"]
    trace = figure["data"][0]
    assert list(trace["x"]) == list(range(7))
    assert trace["y"] == pytest.approx([1 - accuracy + 1 / (s + 1) for s in range(7)])
    parallel = panel.parallel.outputs[0]["data"][PLOTLY]["data"][0]
    assert parallel["type"] == "parcoords"
    labels = [d["label"] for d in parallel["dimensions"]]
    assert labels[-1] == "loss" and "model" in labels and "p2" in labels
    model_axis = next(d for d in parallel["dimensions"] if d["label"] == "model")
    shown = [model_axis["ticktext"][v] for v in model_axis["values"]]
    assert shown == frame.set_index("id").loc[ids[:3], "params.model"].tolist()


def test_no_runs_says_how_to_log_one(ip) -> None:
    panel = mo.panels.runs()
    assert panel.table.total == 0 and panel.table.empty_text == NO_RUNS
    assert "no metrics" in json.dumps(panel.curves.outputs) or "Click runs" in json.dumps(
        panel.curves.outputs
    )


def test_magic_returns_the_panel_with_a_static_fallback(ip, many) -> None:
    panel = ip.run_line_magic("mlops", "panel runs --filter \"params.model = 'gbm'\"")
    assert panel.table.total == 450 // 4 + (1 if 450 % 4 > 1 else 0)
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "<table>" in html and "gbm" in html and "logreg" not in html


def test_panels_need_a_notebook(cli, workspace) -> None:
    res = cli("panel", "runs")
    assert res.exit_code != 0
    assert "needs a notebook" in res.stderr and "mlops runs list" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_frame_oracle_matches_generated_params(many) -> None:
    _ids, frame = many
    assert isinstance(frame, pd.DataFrame)
    assert frame["params.model"].value_counts().to_dict() == {
        "rf": 113,
        "gbm": 113,
        "logreg": 112,
        "svm": 112,
    }
