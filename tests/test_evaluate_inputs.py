"""Bad input to an evaluation: one sentence each, and nothing written."""

import numpy as np
import pandas as pd
import pytest
from samples import FEATURES, churn_frame, fit_classifier, store_state

import nbmlops as mo
from nbmlops.errors import InvalidInput, MlopsError, NotFound


class NaNModel:
    def predict(self, X):  # type: ignore[no-untyped-def]
        out = np.ones(len(X))
        out[3] = np.nan
        out[10] = np.nan
        return out


class Fixed:
    def __init__(self, values):  # type: ignore[no-untyped-def]
        self.values = np.asarray(values)

    def predict(self, X):  # type: ignore[no-untyped-def]
        return self.values[: len(X)]


@pytest.fixture
def frame():
    return churn_frame(400)


CASES = [
    (
        "missing sensitive column",
        lambda f: (fit_classifier(f), f, "churned", {"sensitive": "ethnicity"}),
        r"^Sensitive column 'ethnicity' is not in X; its columns are income, tenure, gender, "
        r"age_band, region\.$",
    ),
    (
        "one value",
        lambda f: (fit_classifier(f), f.assign(gender="F"), "churned", {"sensitive": "gender"}),
        r"^Sensitive column 'gender' has the same value \(F\) in every row; fairness compares "
        r"groups, so it needs at least two\.$",
    ),
    (
        "label never predicted",
        lambda f: (
            fit_classifier(f),
            f.assign(churned=np.where(f.churned == 1, 2, 0)),
            "churned",
            {"sensitive": "gender"},
        ),
        r"^churned has label\(s\) 2 that the model never predicts \(its classes are 0, 1\); "
        r"encode churned the way the model was trained\.$",
    ),
    (
        "labels never in predictions",
        lambda f: (
            Fixed(np.tile([0, 1], 200)),
            f.assign(churned=np.where(f.churned == 1, "yes", "no")),
            "churned",
            {"sensitive": "gender"},
        ),
        r"^churned has label\(s\) no, yes that the predictions never contain \(they use 0, 1\); "
        r"encode churned the way",
    ),
    (
        "non-binary",
        lambda f: (
            Fixed(np.resize(["a", "b", "c"], 400)),
            f.assign(churned=np.resize(["a", "b", "c"], 400)),
            "churned",
            {"sensitive": "gender"},
        ),
        r"need two labels, but there are 3 \(a, b, c\); pass --positive <label> to compare one "
        r"label against the rest\.$",
    ),
    (
        "NaN predictions",
        lambda f: (NaNModel(), f, "churned", {"sensitive": "gender", "task": "regression"}),
        r"^model predicted 2 NaN or missing values out of 400 \(first at row 3\); check the "
        r"model or drop those rows\.$",
    ),
    (
        "missing labels",
        lambda f: (fit_classifier(f), f, "nope", {"sensitive": "gender"}),
        r"^'nope' is neither a column of X \(columns: income, tenure, gender, age_band, region, "
        r"churned\) nor a file of labels\.$",
    ),
    (
        "two unnamed labels",
        lambda f: (
            Fixed(np.resize(["no", "yes"], 400)),
            f.assign(churned=np.resize(["yes", "no"], 400)),
            "churned",
            {"sensitive": "gender"},
        ),
        r"^The labels are no, yes; say which one is the favourable outcome with --positive",
    ),
]


@pytest.mark.parametrize("case, build, message", CASES, ids=[c[0] for c in CASES])
def test_bad_bias_input_is_one_sentence_and_writes_nothing(workspace, frame, case, build, message):
    store = workspace.store()
    before = store_state(store)
    model, rows, y, options = build(frame)
    with pytest.raises(MlopsError, match=message):
        mo.evaluate.bias(model, rows, y, **options)
    assert store_state(store) == before


def test_model_without_predict_and_missing_files_are_refused(workspace, frame):
    with pytest.raises(
        InvalidInput, match=r"^model is a dict, which has no predict\(\); give a fitted model\.$"
    ):
        mo.evaluate.bias({"not": "a model"}, frame, "churned", sensitive="gender")
    with pytest.raises(NotFound, match=r"^No file named 'missing.csv'\.$"):
        mo.evaluate.bias(fit_classifier(frame), "missing.csv", "churned", sensitive="gender")
    with pytest.raises(
        InvalidInput, match=r"The table lacks column\(s\) 'tenure' that model was trained with\."
    ):
        mo.evaluate.bias(
            fit_classifier(frame), frame.drop(columns=["tenure"]), "churned", sensitive="gender"
        )


def test_sensitive_columns_kept_out_of_training_are_dropped_before_predicting(workspace, frame):
    clf = fit_classifier(frame).fit(frame[FEATURES].to_numpy(), frame.churned)  # no feature names
    report = mo.evaluate.bias(
        clf, frame[[*FEATURES, "gender", "churned"]], "churned", sensitive="gender"
    )
    assert report.rows == 400 and report.evaluation_id is not None
    assert report.subject["data"]["columns"] == 4


def test_labels_may_come_from_a_separate_series_or_file(workspace, frame, tmp_path):
    clf = fit_classifier(frame)
    from_series = mo.evaluate.bias(
        clf, frame.drop(columns="churned"), frame.churned, sensitive="gender", record=False
    )
    frame.churned.to_csv(tmp_path / "y.csv", index=False)
    frame.drop(columns="churned").to_parquet(tmp_path / "X.parquet")
    from_files = mo.evaluate.bias(
        clf, str(tmp_path / "X.parquet"), str(tmp_path / "y.csv"), sensitive="gender", record=False
    )
    assert from_series.summary == from_files.summary
    pd.testing.assert_frame_equal(from_series.to_frame(), from_files.to_frame())
