"""Champion against challenger on the same rows, checked against scikit-learn and pandas."""

import numpy as np
import pandas as pd
import pytest
from samples import FEATURES, churn_frame, fit_classifier
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.tree import DecisionTreeClassifier

import nbmlops as mo
from nbmlops.evaluate.storage import list_evaluations


def test_compare_two_versions_on_the_same_data(workspace):
    frame = churn_frame(1500)
    train, test = frame.iloc[:1000], frame.iloc[1000:].reset_index(drop=True)
    champion = fit_classifier(train)
    challenger = DecisionTreeClassifier(max_depth=3, random_state=0).fit(
        train[FEATURES], train.churned
    )
    mo.models.register(champion, "churn")
    mo.models.register(challenger, "churn", alias="challenger")
    mo.models.promote("churn@1", to="champion")
    result = mo.models.compare(
        "churn@champion", "churn@challenger", data=test, target="churned", sensitive="gender"
    )
    y = test.churned
    preds = [m.predict(test[FEATURES]) for m in (champion, challenger)]
    by_metric = {m["metric"]: (m["a"], m["b"]) for m in result.metrics}
    for i, pred in enumerate(preds):
        assert by_metric["accuracy"][i] == pytest.approx(accuracy_score(y, pred), abs=1e-15)
        assert by_metric["precision"][i] == pytest.approx(precision_score(y, pred), abs=1e-15)
        assert by_metric["recall"][i] == pytest.approx(recall_score(y, pred), abs=1e-15)
        assert by_metric["f1"][i] == pytest.approx(f1_score(y, pred), abs=1e-12)
    proba = [m.predict_proba(test[FEATURES])[:, 1] for m in (champion, challenger)]
    assert by_metric["roc_auc"] == pytest.approx(
        (roc_auc_score(y, proba[0]), roc_auc_score(y, proba[1]))
    )
    assert result.agreement == pytest.approx(np.mean(preds[0] == preds[1]))
    right = pd.DataFrame({"a": preds[0] == y, "b": preds[1] == y})
    assert result.fixes == int((~right.a & right.b).sum()) and result.breaks == int(
        (right.a & ~right.b).sum()
    )
    assert "demographic_parity_ratio" in by_metric and "p50_latency_ms" in by_metric
    assert (result.a, result.b) == ("churn@champion (churn@1)", "churn@challenger (churn@2)")
    stored = list_evaluations("compare")[0]
    assert stored.model_version_id == mo.models.resolve_version("churn@2").id
    assert "The two models agree on" in str(result)
