"""Every chart a report draws is a figure plotly accepts, and static pages carry plotly.js once."""

import numpy as np
import plotly.graph_objects as go
from samples import churn_frame, fit_classifier

import nbmlops as mo
from nbmlops.evaluate import assess
from nbmlops.evaluate.stability import stability
from nbmlops.result import Chart


def charts(report):
    return [b for b in report.blocks() if isinstance(b, Chart)]


def test_bias_slice_and_perf_charts_are_valid_plotly_figures(workspace):
    rng = np.random.default_rng(0)
    group = rng.choice(["F", "M", "X"], 600, p=[0.48, 0.48, 0.04])
    y = rng.integers(0, 2, 600)
    pred = np.where(rng.random(600) < 0.2, 1 - y, y)
    classifier = assess(y, pred, {"g": group, "band": rng.choice(["a", "b"], 600)}, n_boot=5)
    regressor = assess(rng.normal(size=600), rng.normal(size=600), {"g": group})
    slices = stability(y, pred, by={"g": group}, folds=3)
    frame = churn_frame(300)
    perf = mo.evaluate.perf(
        fit_classifier(frame), frame, budget_s=0.2, cold_start=False, record=False
    )
    drawn = {
        name: charts(r)
        for name, r in {
            "classifier": classifier,
            "regressor": regressor,
            "slices": slices,
            "perf": perf,
        }.items()
    }
    assert {k: len(v) for k, v in drawn.items()} == {
        "classifier": 4,
        "regressor": 1,
        "slices": 2,
        "perf": 1,
    }
    for chart in [c for found in drawn.values() for c in found]:
        figure = go.Figure(chart.figure)  # raises on any property plotly does not know
        assert figure.data
    selection = go.Figure(drawn["classifier"][0].figure)
    assert selection.layout.shapes[0].y0 == 0.8 * max(
        g["selection_rate"] for g in classifier.main["groups"]
    )
    assert selection.data[0].error_y.array is not None  # bootstrap intervals as error bars
    page = classifier.to_html(self_contained=True)
    assert page.count("plotly.js v") == 1 and page.count('class="plotly-graph-div"') == 4
