"""Slice stability: random disjoint subsets and user slices, checked against scikit-learn and
pandas."""

import numpy as np
import pandas as pd
import pytest
from samples import FEATURES, churn_frame, fit_classifier
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

import nbmlops as mo
from nbmlops.errors import InvalidInput
from nbmlops.evaluate.stability import stability


def test_user_slices_equal_scikit_learn_per_slice_and_subsets_partition_the_rows(workspace):
    frame = churn_frame(2000)
    clf = fit_classifier(frame)
    report = mo.evaluate.slices(clf, frame, "churned", by="region,income", folds=4, bins=4)
    pred = clf.predict(frame[FEATURES])
    for row in report.sections[0]["slices"]:
        mask = (frame.region == row["slice"]).to_numpy()
        assert row["count"] == mask.sum()
        assert row["accuracy"] == pytest.approx(
            accuracy_score(frame.churned[mask], pred[mask]), abs=1e-15
        )
        assert row["f1"] == pytest.approx(f1_score(frame.churned[mask], pred[mask]), abs=1e-12)
    bins = pd.qcut(frame.income, 4).astype(str)
    incomes = {r["slice"]: r["count"] for r in report.sections[1]["slices"]}
    assert incomes == bins.value_counts().to_dict()
    counts = [r["count"] for r in report.fold_rows]
    assert sum(counts) == len(frame) and max(counts) - min(counts) <= 1
    weighted = sum(r["accuracy"] * r["count"] for r in report.fold_rows) / len(frame)
    assert weighted == pytest.approx(accuracy_score(frame.churned, pred), abs=1e-12)
    spread = max(r["accuracy"] for r in report.fold_rows) - min(
        r["accuracy"] for r in report.fold_rows
    )
    assert report.fold_spread["accuracy"] == pytest.approx(spread, abs=1e-15)
    assert report.evaluation_id is not None and report.summary["max_fold_spread"] >= spread


def test_a_weak_slice_is_flagged_and_explained():
    rng = np.random.default_rng(3)
    region = rng.choice(["north", "south", "east"], 3000)
    y_true = rng.integers(0, 2, 3000)
    wrong = rng.random(3000) < np.where(region == "east", 0.4, 0.05)
    report = stability(y_true, np.where(wrong, 1 - y_true, y_true), by={"region": region}, folds=5)
    assert [s["slice"] for s in report.flagged_slices(report.sections[0])] == ["east"]
    assert not report.passed
    sentence = [n for n in report.explain() if n.text.startswith("Across region")][0]
    assert sentence.tone == "warn" and sentence.text.endswith("weaker slices: east.")


def test_small_slices_are_shown_but_left_out_of_the_spread():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    region = np.where(np.arange(500) < 10, "tiny", "big")
    report = stability(y, y, by={"region": region}, folds=2, min_slice_size=30)
    tiny = [s for s in report.sections[0]["slices"] if s["slice"] == "tiny"][0]
    assert tiny["small"] and report.sections[0]["spread"]["accuracy"] == 0.0
    assert any("fewer than 30 rows (tiny)" in n.text for n in report.explain())


def test_regression_slices_use_relative_error_spread():
    rng = np.random.default_rng(5)
    region = rng.choice(["a", "b"], 1000)
    y_true = rng.normal(100, 10, 1000)
    y_pred = y_true + rng.normal(0, np.where(region == "a", 2.0, 6.0))
    report = stability(y_true, y_pred, by={"region": region}, folds=3)
    rows = {r["slice"]: r for r in report.sections[0]["slices"]}
    for name, row in rows.items():
        mask = region == name
        assert row["mean_absolute_error"] == pytest.approx(
            mean_absolute_error(y_true[mask], y_pred[mask]), rel=1e-12
        )
        assert row["r2"] == pytest.approx(r2_score(y_true[mask], y_pred[mask]), rel=1e-12)
    maes = [r["mean_absolute_error"] for r in rows.values()]
    overall = mean_absolute_error(y_true, y_pred)
    assert report.sections[0]["spread"]["mean_absolute_error"] == pytest.approx(
        (max(maes) - min(maes)) / overall
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"folds": 1}, "--folds must be a whole number from 2"),
        (
            {"by": {"region": np.array(["x"] * 100)}},
            "Slice column 'region' has one value in every row",
        ),
        ({"max_spread": 0}, "The largest allowed spread must be above 0"),
    ],
)
def test_bad_slice_requests_are_refused(kwargs, message):
    y = np.tile([0, 1], 50)
    with pytest.raises(InvalidInput, match=message):
        stability(y, y, **kwargs)
