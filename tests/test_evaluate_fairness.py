"""Every number of the bias report equals fairlearn's for the same inputs (fairlearn is the
oracle)."""

from functools import partial

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    mean_prediction,
    selection_rate,
    true_positive_rate,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import (
    accuracy_score,
    mean_absolute_error,
    precision_score,
    root_mean_squared_error,
)

from nbmlops.errors import InvalidInput
from nbmlops.evaluate import assess

RATES = {
    "count": count,
    "selection_rate": selection_rate,
    "accuracy": accuracy_score,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "precision": partial(precision_score, zero_division=0),
}


def data(n=3000, seed=0, groups=("a", "b", "c", "d"), p=(0.5, 0.3, 0.15, 0.05)):
    rng = np.random.default_rng(seed)
    g = rng.choice(len(groups), size=n, p=p)
    y_true = (rng.random(n) < np.array([0.3, 0.4, 0.5, 0.2])[g % 4]).astype(int)
    flip = rng.random(n) < np.array([0.1, 0.15, 0.25, 0.3])[g % 4]
    y_pred = np.where(flip, 1 - y_true, y_true)
    return y_true, y_pred, np.array(groups, dtype=object)[g]


def frame_of(report, section=0):
    return pd.DataFrame(report.sections[section]["groups"]).set_index("group")


def assert_same(ours, theirs):
    np.testing.assert_array_equal(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float))


def test_single_feature_every_group_number_and_disparity_equals_fairlearn():
    y_true, y_pred, sex = data()
    report = assess(y_true, y_pred, {"sex": sex})
    mf = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=sex)
    ours = frame_of(report)
    assert list(ours.index) == [str(i) for i in mf.by_group.index]
    for metric in RATES:
        assert_same(ours[metric], mf.by_group[metric])
        assert report.overall[metric] == pytest.approx(mf.overall[metric], abs=0)
    base = MetricFrame(metrics=selection_rate, y_true=y_true, y_pred=y_true, sensitive_features=sex)
    assert_same(ours["base_rate"], base.by_group)
    d = report.main["disparities"]
    kw = {"sensitive_features": sex}
    assert d["demographic_parity_difference"] == demographic_parity_difference(y_true, y_pred, **kw)
    assert d["demographic_parity_ratio"] == demographic_parity_ratio(y_true, y_pred, **kw)
    assert d["equalized_odds_difference"] == equalized_odds_difference(y_true, y_pred, **kw)
    assert d["equalized_odds_ratio"] == equalized_odds_ratio(y_true, y_pred, **kw)
    assert d["equal_opportunity_difference"] == equal_opportunity_difference(y_true, y_pred, **kw)
    assert report.summary["four_fifths"] is (d["demographic_parity_ratio"] >= 0.8)


def test_intersections_of_three_columns_equal_fairlearn_and_each_column_is_reported_too():
    y_true, y_pred, sex = data(n=4000, seed=1)
    rng = np.random.default_rng(7)
    band = rng.choice(["18-30", "30-50", "50+"], len(y_true))
    # some combinations never occur
    region = np.where(sex == "d", "north", rng.choice(["north", "south"], len(y_true)))
    columns = {"sex": sex, "band": band, "region": region}
    report = assess(y_true, y_pred, columns)
    frame = pd.DataFrame(columns)
    mf = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=frame)
    expected = mf.by_group.dropna()  # fairlearn lists empty combinations as NaN; we leave them out
    ours = frame_of(report)
    assert [tuple(g["values"]) for g in report.main["groups"]] == list(expected.index)
    for metric in RATES:
        assert_same(ours[metric], expected[metric])
    d = report.main["disparities"]
    assert d["demographic_parity_ratio"] == demographic_parity_ratio(
        y_true, y_pred, sensitive_features=frame
    )
    assert d["equalized_odds_difference"] == equalized_odds_difference(
        y_true, y_pred, sensitive_features=frame
    )
    assert d["equal_opportunity_difference"] == equal_opportunity_difference(
        y_true, y_pred, sensitive_features=frame
    )
    assert [s["features"] for s in report.sections] == [
        ["sex", "band", "region"],
        ["sex"],
        ["band"],
        ["region"],
    ]
    assert report.summary["band.demographic_parity_ratio"] == demographic_parity_ratio(
        y_true, y_pred, sensitive_features=band
    )


def test_bootstrap_intervals_equal_fairlearns_for_the_same_seed():
    y_true, y_pred, sex = data(n=1500, seed=2)
    band = np.random.default_rng(3).choice(["x", "y"], len(y_true))
    features = {"sex": sex, "band": band}
    report = assess(y_true, y_pred, features, n_boot=10, seed=11, confidence=0.9)
    metrics = {k: v for k, v in RATES.items() if k != "count"}
    mf = MetricFrame(
        metrics=metrics,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=pd.DataFrame(features),
        n_boot=10,
        ci_quantiles=[0.05, 0.95],
        random_state=11,
    )
    lo, hi = mf.by_group_ci
    ci = report.main["ci"]
    for metric in metrics:
        np.testing.assert_allclose(ci["groups"][metric][0], lo[metric].dropna(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(ci["groups"][metric][1], hi[metric].dropna(), rtol=0, atol=1e-12)
        assert report.overall_ci[metric] == pytest.approx(
            [mf.overall_ci[0][metric], mf.overall_ci[1][metric]], abs=1e-12
        )
    (d_lo, d_hi), (r_lo, r_hi) = mf.difference_ci(), mf.ratio_ci()
    disp = ci["disparities"]
    assert disp["demographic_parity_difference"] == pytest.approx(
        [d_lo["selection_rate"], d_hi["selection_rate"]], abs=1e-12
    )
    assert disp["demographic_parity_ratio"] == pytest.approx(
        [r_lo["selection_rate"], r_hi["selection_rate"]], abs=1e-12
    )
    assert disp["equal_opportunity_difference"] == pytest.approx(
        [d_lo["true_positive_rate"], d_hi["true_positive_rate"]], abs=1e-12
    )
    # equalized odds has no fairlearn interval: rebuild it from fairlearn's own resamples and
    # function
    sample = pd.DataFrame({"y": y_true, "p": y_pred, **features})
    seeds = np.random.default_rng(11).integers(0, np.iinfo(np.uint32).max, size=10, dtype=np.uint32)
    values = []
    for s in seeds:
        drawn = sample.sample(frac=1, replace=True, random_state=s, ignore_index=True)
        values.append(
            equalized_odds_difference(drawn.y, drawn.p, sensitive_features=drawn[["sex", "band"]])
        )
    assert disp["equalized_odds_difference"] == pytest.approx(
        list(np.quantile(values, [0.05, 0.95])), abs=1e-12
    )


def test_string_labels_with_a_positive_label_match_fairlearn_pos_label():
    y_true, y_pred, sex = data(seed=4)
    words = np.array(["rejected", "approved"], dtype=object)
    report = assess(
        words[y_true], words[y_pred], {"sex": sex}, positive="approved", outcome="approval"
    )
    mf = MetricFrame(
        metrics={
            "selection_rate": partial(selection_rate, pos_label="approved"),
            "true_positive_rate": partial(true_positive_rate, pos_label="approved"),
        },
        y_true=words[y_true],
        y_pred=words[y_pred],
        sensitive_features=sex,
    )
    assert_same(frame_of(report)["selection_rate"], mf.by_group["selection_rate"])
    assert_same(frame_of(report)["true_positive_rate"], mf.by_group["true_positive_rate"])
    assert report.explain()[0].text.startswith("Approval rate for group")


def test_several_labels_need_a_positive_label_and_then_compare_it_against_the_rest():
    rng = np.random.default_rng(5)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)
    y_true, y_pred = labels[rng.integers(0, 3, 600)], labels[rng.integers(0, 3, 600)]
    group = rng.choice(["a", "b"], 600)
    with pytest.raises(
        InvalidInput,
        match=r"need two labels, but there are 3 \(setosa, versicolor, virginica\); pass "
        r"--positive",
    ):
        assess(y_true, y_pred, {"g": group})
    report = assess(y_true, y_pred, {"g": group}, positive="virginica")
    binary_true, binary_pred = (
        (y_true == "virginica").astype(int),
        (y_pred == "virginica").astype(int),
    )
    mf = MetricFrame(
        metrics=RATES, y_true=binary_true, y_pred=binary_pred, sensitive_features=group
    )
    for metric in RATES:
        assert_same(frame_of(report)[metric], mf.by_group[metric])
    assert report.one_vs_rest and any(
        "one label against the rest" in n.text for n in report.explain()
    )


def test_group_without_positives_gets_fairlearns_zero_and_is_explained():
    y_true = np.array([0, 0, 0, 0, 1, 1, 0, 1, 0, 1])
    y_pred = np.array([0, 1, 0, 0, 1, 0, 0, 1, 1, 1])
    group = np.array(["a"] * 4 + ["b"] * 6)
    report = assess(y_true, y_pred, {"g": group}, min_group_size=5)
    mf = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=group)
    for metric in RATES:
        assert_same(frame_of(report)[metric], mf.by_group[metric])
    a = report.main["groups"][0]
    assert a["true_positive_rate"] == 0.0 and "true_positive_rate" in a["undefined"] and a["small"]
    text = " ".join(n.text for n in report.explain())
    assert "In group a the TPR cannot be computed" in text
    assert "1 group has fewer than 5 rows (a: 4)" in text


def test_missing_sensitive_values_form_their_own_group():
    y_true, y_pred, sex = data(n=500, seed=6)
    sex = sex.copy()
    sex[::7] = None
    report = assess(y_true, y_pred, {"sex": sex})
    filled = np.where(pd.isna(sex), "(missing)", sex)
    mf = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=filled)
    ours = frame_of(report)
    assert_same(
        ours.loc[mf.by_group.index.astype(str), "selection_rate"], mf.by_group["selection_rate"]
    )
    assert "(missing)" in ours.index


@pytest.mark.parametrize("encode", [lambda y: y.astype(bool), lambda y: np.where(y == 1, 1, -1)])
def test_boolean_and_minus_one_labels_need_no_positive_label(encode):
    y_true, y_pred, sex = data(n=800, seed=8)
    report = assess(encode(y_true), encode(y_pred), {"sex": sex})
    mf = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=sex)
    assert_same(frame_of(report)["true_positive_rate"], mf.by_group["true_positive_rate"])


def test_regression_error_statistics_equal_fairlearn():
    rng = np.random.default_rng(9)
    group = rng.choice(["F", "M", "X"], 2000, p=[0.5, 0.45, 0.05])
    y_true = rng.normal(100, 15, 2000)
    y_pred = y_true + rng.normal(
        np.where(group == "F", 3.0, -1.0), np.where(group == "M", 8.0, 5.0)
    )
    report = assess(y_true, y_pred, {"g": group})
    assert report.task == "regression"
    metrics = {
        "count": count,
        "mean_prediction": mean_prediction,
        "mean_absolute_error": mean_absolute_error,
        "root_mean_squared_error": root_mean_squared_error,
        "mean_error": lambda t, p: float(np.mean(np.asarray(p) - np.asarray(t))),
    }
    mf = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=group)
    ours = frame_of(report)
    for metric in metrics:
        np.testing.assert_allclose(ours[metric], mf.by_group[metric], rtol=1e-12)
    mae = MetricFrame(
        metrics=mean_absolute_error, y_true=y_true, y_pred=y_pred, sensitive_features=group
    )
    d = report.main["disparities"]
    assert d["mean_absolute_error_difference"] == pytest.approx(mae.difference(), rel=1e-12)
    assert d["mean_absolute_error_ratio"] == pytest.approx(mae.ratio(), rel=1e-12)
    assert "over-predicts group F" in " ".join(n.text for n in report.explain())


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1), st.integers(0, 1), st.sampled_from("abc"), st.sampled_from("xy")
        ),
        min_size=2,
        max_size=60,
    )
)
def test_any_small_input_matches_fairlearn(rows):
    y_true, y_pred = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    g1, g2 = np.array([r[2] for r in rows]), np.array([r[3] for r in rows])
    if len(set(g1)) < 2 or len(set(g2)) < 2:
        with pytest.raises(InvalidInput, match="has the same value"):
            assess(y_true, y_pred, {"g1": g1, "g2": g2})
        return
    report = assess(y_true, y_pred, {"g1": g1, "g2": g2})
    frame = pd.DataFrame({"g1": g1, "g2": g2})
    mf = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=frame)
    expected = mf.by_group.dropna()
    for metric in RATES:
        assert_same(frame_of(report)[metric], expected[metric])
    d = report.main["disparities"]
    assert d["demographic_parity_difference"] == demographic_parity_difference(
        y_true, y_pred, sensitive_features=frame
    )
    assert d["equalized_odds_difference"] == equalized_odds_difference(
        y_true, y_pred, sensitive_features=frame
    )
    assert np.isnan(d["demographic_parity_ratio"]) == np.isnan(
        demographic_parity_ratio(y_true, y_pred, sensitive_features=frame)
    )


def test_four_fifths_sentence_names_both_groups_and_the_rule():
    y_true = np.array([1] * 100 + [0] * 100)
    group = np.array(["F"] * 100 + ["M"] * 100)
    y_pred = np.r_[np.ones(71), np.zeros(29), np.ones(100)]  # F selected 71%, M 100%
    report = assess(y_true, y_pred, {"sex": group}, outcome="approval")
    first = report.explain()[0]
    assert first.tone == "alert"
    assert first.text == (
        "Approval rate for group F (71%) is 71% of group M's (100%); "
        "the four-fifths rule asks for at least 80%."
    )
    assert report.passed is False


def test_a_small_group_in_the_headline_is_called_out():
    y_true = np.r_[np.ones(100), np.ones(10)].astype(int)
    group = np.array(["big"] * 100 + ["tiny"] * 10)
    y_pred = np.r_[np.ones(90), np.zeros(10), np.ones(5), np.zeros(5)].astype(int)
    first = assess(y_true, y_pred, {"g": group}).explain()[0].text
    assert first.startswith(
        "Selection rate for group tiny (50%, only 10 rows) is 56% of group big's (90%)"
    )


def test_report_rebuilt_from_its_stored_form_renders_the_same(workspace):
    from nbmlops.evaluate import open_report
    from nbmlops.evaluate.reports import record_report

    y_true, y_pred, sex = data(n=600, seed=10)
    report = assess(y_true, y_pred, {"sex": sex}, n_boot=5)
    report.subject = {"model": "clf", "data": {"name": "X_test", "rows": 600}}
    report.evaluation_id = record_report("bias", report)
    again = open_report(report.evaluation_id)
    assert str(again) == str(report)
    assert again.summary == report.summary
    html = again._repr_html_()
    assert "Selection rate for group" in html and "<table>" in html
