"""sklearn autologging, checked against sklearn's own numbers."""

from __future__ import annotations

import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbmlops as mo


@pytest.fixture
def autologged(workspace):
    mo.autolog("sklearn")
    yield
    mo.autolog("sklearn", disable=True)


def test_fit_inside_a_run_records_params_time_and_score(autologged):
    X, y = make_classification(n_samples=400, random_state=0)
    with mo.start_run() as run:
        clf = LogisticRegression(C=0.3, max_iter=300).fit(X, y)
    detail = mo.get_run(run.id)
    params = {p["key"]: p["value"] for p in detail.params}
    assert params == {k: v for k, v in clf.get_params().items()}
    metrics = {m["key"]: m["last"] for m in detail.metrics}
    assert metrics["training_score"] == clf.score(X, y)
    assert metrics["fit_time_s"] > 0
    assert detail.tags["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"


def test_inner_fits_are_not_logged_twice(autologged):
    X, y = make_classification(n_samples=200, random_state=1)
    with mo.start_run() as run:
        search = GridSearchCV(
            make_pipeline(StandardScaler(), LogisticRegression()),
            {"logisticregression__C": [0.1, 1.0]},
            cv=2,
        ).fit(X, y)
    detail = mo.get_run(run.id)
    assert [m["count"] for m in detail.metrics if m["key"] == "fit_time_s"] == [1]
    assert detail.tags["estimator"].endswith("GridSearchCV")
    assert {m["key"]: m["last"] for m in detail.metrics}["training_score"] == search.score(X, y)


def test_outside_a_run_nothing_is_logged_and_disable_restores(workspace):
    mo.autolog("sklearn")
    X, y = make_classification(n_samples=100, random_state=2)
    LogisticRegression().fit(X, y)
    assert mo.list_runs().total == 0
    mo.autolog("sklearn", disable=True)
    assert not hasattr(LogisticRegression.fit, "__nbmlops_autolog__")
