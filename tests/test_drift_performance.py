"""Model quality against the reference and per time window, checked against scikit-learn and
pandas."""

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from nbmlops.drift import compare
from nbmlops.drift.performance import PerformanceTally, parse_window
from nbmlops.errors import InvalidInput


def labelled(n, seed, noise):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = np.clip(0.5 + (y - 0.5) * 0.6 + rng.normal(0, noise, n), 0, 1)
    when = pd.Timestamp("2026-02-02") + pd.to_timedelta(np.sort(rng.uniform(0, 35, n)), unit="D")
    return pd.DataFrame({"x": rng.normal(size=n), "y": y, "score": score, "when": when})


def test_classification_scores_match_scikit_learn_and_windows_match_pandas():
    ref, cur = labelled(5000, 1, 0.3), labelled(4000, 2, 0.6)
    report = compare(ref, cur, target="y", prediction="score", window="7d", record=False)
    perf = {m["metric"]: m for m in report.performance["metrics"]}
    pred = (cur.score >= 0.5).astype(int)
    assert perf["accuracy"]["current"] == pytest.approx(skm.accuracy_score(cur.y, pred))
    assert perf["precision"]["current"] == pytest.approx(skm.precision_score(cur.y, pred))
    assert perf["recall"]["current"] == pytest.approx(skm.recall_score(cur.y, pred))
    assert perf["f1"]["current"] == pytest.approx(skm.f1_score(cur.y, pred))
    assert perf["roc_auc"]["current"] == pytest.approx(
        skm.roc_auc_score(cur.y, cur.score), rel=1e-12
    )
    assert perf["roc_auc"]["reference"] == pytest.approx(
        skm.roc_auc_score(ref.y, ref.score), rel=1e-12
    )
    assert perf["accuracy"]["worse"] and "accuracy" in report.performance_dropped
    # weekly windows start on Mondays: 2026-02-02 is one
    weeks = cur.assign(ok=(pred == cur.y)).groupby(
        pd.Grouper(key="when", freq="W-MON", label="left", closed="left")
    )
    expected = weeks["ok"].mean()
    got = {
        pd.Timestamp(w["start"], unit="s"): w["metrics"]["accuracy"]
        for w in report.performance["windows"]
    }
    assert got == pytest.approx(dict(expected.items()))
    assert "Quality fell against the reference (accuracy" in str(report)


def test_regression_and_multiclass_metrics():
    rng = np.random.default_rng(3)
    y = rng.normal(50, 10, 3000)
    frame = pd.DataFrame({"y": y, "p": y + rng.normal(0, 4, 3000)})
    tally = PerformanceTally("y", "p")
    tally.add(frame.iloc[:1000])
    tally.add(frame.iloc[1000:])
    got = tally.metrics()
    assert tally.task == "regression"
    assert got["mean_absolute_error"] == pytest.approx(skm.mean_absolute_error(frame.y, frame.p))
    assert got["root_mean_squared_error"] == pytest.approx(
        np.sqrt(skm.mean_squared_error(frame.y, frame.p))
    )
    assert got["r2"] == pytest.approx(skm.r2_score(frame.y, frame.p), rel=1e-9)
    labels = pd.DataFrame(
        {"y": rng.choice(["a", "b", "c"], 500), "p": rng.choice(["a", "b", "c"], 500)}
    )
    multi = PerformanceTally("y", "p")
    multi.add(labels)
    assert multi.task == "multiclass" and multi.metrics()["accuracy"] == skm.accuracy_score(
        labels.y, labels.p
    )


def test_rows_without_labels_are_skipped_and_windows_are_parsed():
    frame = pd.DataFrame({"y": [1, 0, None, 1], "p": [1, 0, 1, None]})
    tally = PerformanceTally("y", "p")
    tally.add(frame)
    assert tally.unlabelled == 2 and tally.metrics()["accuracy"] == 1.0
    assert (
        parse_window("30min") == 1800
        and parse_window("2w") == 14 * 86_400
        and parse_window(None) is None
    )
    with pytest.raises(
        InvalidInput, match=r"The window 'weekly' is not understood; write a length such as 7d"
    ):
        parse_window("weekly")
