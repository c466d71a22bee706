"""Column-by-column comparison of DataFrames: choices of tests, verdicts, and messy data."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nbmlops.drift import compare
from nbmlops.errors import InvalidInput, NotFound


def frames(n_ref=4000, n_cur=3000, seed=0):
    rng = np.random.default_rng(seed)

    def side(n, shifted):
        return pd.DataFrame(
            {
                "income": rng.lognormal(10 + (0.3 if shifted else 0), 0.4, n),
                "age": rng.normal(40, 10, n),
                "region": rng.choice(
                    ["north", "south", "east"], n, p=[0.2, 0.5, 0.3] if shifted else [0.4, 0.3, 0.3]
                ),
                "plan": rng.choice(["basic", "pro"], n),
            }
        )

    return side(n_ref, False), side(n_cur, True)


def test_each_column_gets_the_statistics_of_its_kind_with_scipy_p_values():
    ref, cur = frames()
    report = compare(ref, cur, record=False)
    income = report.column("income")
    assert income["kind"] == "numeric" and income["method"] == "wasserstein" and income["drifted"]
    assert income["stats"]["ks"]["p_value"] == stats.ks_2samp(ref.income, cur.income).pvalue
    assert income["stats"]["wasserstein"] == pytest.approx(
        stats.wasserstein_distance(ref.income, cur.income) / ref.income.std(ddof=0), rel=1e-9
    )
    region = report.column("region")
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref.region, cur.region]
    ).to_numpy()
    assert region["stats"]["chi2"]["p_value"] == stats.chi2_contingency(table).pvalue
    assert region["method"] == "jensenshannon" and region["drifted"]
    assert not report.column("age")["drifted"] and not report.column("plan")["drifted"]
    assert (
        report.drifted_columns == ["income", "region"]
        and report.drift_share == 0.5
        and report.dataset_drift
    )


def test_small_samples_are_decided_by_the_tests_and_users_pick_tests_per_column():
    ref, cur = frames(400, 300)
    report = compare(ref, cur, record=False)
    assert report.column("income")["method"] == "ks" and report.column("region")["method"] == "chi2"
    chosen = compare(
        ref,
        cur,
        tests=["income=psi", "jensenshannon"],
        thresholds=["psi=0.05", "share=0.9"],
        record=False,
    )
    assert (
        chosen.column("income")["method"] == "psi" and chosen.column("income")["threshold"] == 0.05
    )
    assert (
        chosen.column("region")["method"] == "jensenshannon"
        and chosen.column("age")["method"] == "ks"
    )
    assert not chosen.dataset_drift


def test_bad_tests_and_thresholds_are_one_sentence_each():
    ref, cur = frames(100, 100)
    with pytest.raises(
        InvalidInput,
        match=r"The ks threshold 1.5 is out of range: a p-value threshold lies strictly "
        r"between 0 and 1 \(default 0.05\)\.",
    ):
        compare(ref, cur, thresholds=["ks=1.5"], record=False)
    with pytest.raises(InvalidInput, match=r"The share threshold 0 is out of range"):
        compare(ref, cur, thresholds={"share": 0}, record=False)
    with pytest.raises(InvalidInput, match=r"Unknown threshold 'pvalue'"):
        compare(ref, cur, thresholds=["pvalue=0.1"], record=False)
    with pytest.raises(
        InvalidInput,
        match=r"--test region=ks: ks does not compare categorical columns such as region; "
        r"use chi2, jensenshannon, psi\.",
    ):
        compare(ref, cur, tests=["region=ks"], record=False)
    with pytest.raises(InvalidInput, match=r"--test salary=ks names no column of the data"):
        compare(ref, cur, tests=["salary=ks"], record=False)
    with pytest.raises(InvalidInput, match=r"Unknown drift test 'anova'"):
        compare(ref, cur, tests=["anova"], record=False)


def test_missing_values_are_dropped_and_their_share_is_compared():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    cur = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    cur.loc[:599, "x"] = np.nan
    cur.loc[:299, "c"] = None
    report = compare(ref, cur, record=False)
    x = report.column("x")
    assert x["count"] == [2000, 1400] and x["missing"]["current"] == 0.3
    assert x["stats"]["ks"]["p_value"] == stats.ks_2samp(ref.x, cur.x.dropna()).pvalue
    assert (
        x["missing"]["p_value"] == stats.chi2_contingency(np.array([[0, 2000], [600, 1400]])).pvalue
    )
    assert x["drifted"] and "missing share 0.0% -> 30.0%" in x["reasons"]
    assert report.column("c")["missing"]["current"] == 0.15


def test_constant_new_categories_datetimes_unequal_sizes_and_small_integer_ranges():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame(
        {
            "const": np.full(5000, 7.5),
            "purpose": rng.choice(["car", "home"], 5000),
            "signup": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.uniform(0, 30, 5000), unit="D"),
            "opened": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(rng.uniform(0, 900, 5000), unit="D"),
            "defaults": rng.choice([0, 1, 2], 5000),
        }
    )
    cur = pd.DataFrame(
        {
            "const": np.full(40, 7.5),
            "purpose": np.r_[["crypto"] * 10, rng.choice(["car", "home"], 30)],
            "signup": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.uniform(0, 30, 40), unit="D"),
            "opened": pd.Timestamp("2020-01-01", tz="UTC")
            + pd.to_timedelta(rng.uniform(600, 900, 40), unit="D"),
            "defaults": rng.choice([0, 1, 2, 3], 40),
        }
    )
    report = compare(ref, cur, time="none", record=False)
    const = report.column("const")
    assert (
        not const["drifted"]
        and const["stats"]["wasserstein"] == 0.0
        and "constant in the reference" in const["notes"][0]
    )
    purpose = report.column("purpose")
    assert purpose["method"] == "chi2" and purpose["drifted"]
    assert any("new in the current data: crypto (25.0% of its rows)" in n for n in purpose["notes"])
    opened = report.column("opened")
    assert opened["kind"] == "datetime" and opened["drifted"]
    assert opened["stats"]["ks"]["p_value"] == pytest.approx(
        stats.ks_2samp(
            ref.opened.map(pd.Timestamp.timestamp), cur.opened.map(pd.Timestamp.timestamp)
        ).pvalue,
        rel=1e-9,
    )
    defaults = report.column("defaults")
    assert defaults["compared_as"] == "categorical" and defaults["method"] == "chi2"
    assert sorted(defaults["histogram"]["labels"]) == ["0", "1", "2", "3"]


def test_the_only_datetime_column_is_the_time_axis_unless_told_otherwise():
    ref, cur = frames(500, 500)
    ref["when"] = pd.date_range("2026-01-01", periods=500, freq="h")
    cur["when"] = pd.date_range("2026-03-01", periods=500, freq="h")
    report = compare(ref, cur, record=False)
    assert report.time_column == "when" and "when" not in [r["column"] for r in report.columns]
    assert report.period == [
        pd.Timestamp("2026-03-01").timestamp(),
        pd.Timestamp("2026-03-21 19:00").timestamp(),
    ]
    compared = compare(ref, cur, time="none", record=False)
    assert compared.column("when")["drifted"] and compared.time_column is None


def test_high_cardinality_categories_are_pooled_with_a_note():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"city": [f"c{i}" for i in rng.integers(0, 500, 20_000)]})
    cur = pd.DataFrame({"city": [f"c{i}" for i in rng.integers(0, 500, 20_000)]})
    result = compare(ref, cur, max_categories=50, record=False).column("city")
    assert (
        "500 categories: the 49 most frequent are compared one by one and the other 451 pooled "
        "as one" in result["notes"]
    )
    assert result["stats"]["categories"] == 50 and not result["drifted"]


def test_schema_differences_are_reported_not_crashed():
    rng = np.random.default_rng(4)
    ref = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": rng.normal(size=300),
            "c": rng.normal(size=300),
            "empty": [np.nan] * 300,
            "gone": rng.normal(size=300),
        }
    )
    cur = pd.DataFrame(
        {
            "a": rng.normal(size=300),
            "b": [f"v{i}" for i in range(300)],
            "c": [np.nan] * 300,
            "empty": [None] * 300,
            "new": rng.normal(size=300),
        }
    )
    report = compare(ref, cur, record=False)
    assert report.schema["only_reference"] == ["gone"] and report.schema["only_current"] == ["new"]
    assert report.schema["type_changed"] == [
        {
            "column": "b",
            "reference": "float64",
            "current": "str",
            "reason": "numeric in the reference, categorical in the current data",
        }
    ]
    c = report.column("c")
    assert (
        c["drifted"]
        and c["missing"]["current"] == 1.0
        and "every value is missing in the current data" in c["notes"][0]
    )
    empty = report.column("empty")
    assert not empty["drifted"] and empty["count"] == [0, 0]
    text = str(report)
    assert "Missing from the current data (not compared): gone." in text
    assert "New in the current data (not compared): new." in text
    assert (
        "b changed type (float64 → str): numeric in the reference, categorical in the current "
        "data; not compared." in text
    )


def test_empty_and_unusable_inputs_are_one_sentence_each(tmp_path):
    ref, cur = frames(100, 100)
    with pytest.raises(
        InvalidInput,
        match=r"^The current data has no rows; drift needs at least one row on each side\.$",
    ):
        compare(ref, cur.iloc[:0], record=False)
    with pytest.raises(
        InvalidInput,
        match=r"^reference is a list; give a DataFrame, a data version such as loans@3, a "
        r"CSV/Parquet file, or batches of DataFrames\.$",
    ):
        compare([1, 2, 3], cur, record=False)
    with pytest.raises(NotFound, match=r"^No file named 'nope.csv'\.$"):
        compare("nope.csv", cur, record=False)
    with pytest.raises(NotFound, match=r"No file or dataset version is called 'not a ref'"):
        compare("not a ref", cur, record=False)
    with pytest.raises(
        InvalidInput,
        match=r"^The current data has no column 'score'; check --target / --prediction\.$",
    ):
        compare(ref, cur, prediction="score", record=False)


def test_target_and_prediction_are_reported_apart_from_the_features():
    ref, cur = frames(2000, 2000)
    rng = np.random.default_rng(5)
    ref["y"], cur["y"] = rng.integers(0, 2, 2000), rng.integers(0, 2, 2000)
    ref["score"], cur["score"] = rng.uniform(size=2000), rng.uniform(0.3, 1, size=2000)
    report = compare(ref, cur, target="y", prediction="score", record=False)
    assert [r["column"] for r in report.columns] == ["income", "age", "region", "plan"]
    assert report.prediction["drifted"] and not report.target["drifted"]
    assert report.summary["prediction_drift"] is True and "The prediction (score) drifted" in str(
        report
    )
