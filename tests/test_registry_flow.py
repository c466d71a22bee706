"""The issue's whole flow on the credit example: the gate catches the planted bias, a fair
retrain ships."""

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbmlops as mo
from nbmlops.errors import GateFailed
from nbmlops.examples import credit_applications, features_and_target


def train(bias: float):  # type: ignore[no-untyped-def]
    frame = credit_applications(8000, seed=3, bias=bias)
    X, y = features_and_target(frame)
    with mo.start_run(name=f"credit bias={bias}") as run:
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(
            X[:5000], y[:5000]
        )
        mo.log_metric("accuracy", float((model.predict(X[5000:]) == y[5000:]).mean()))
    test = X[5000:].assign(gender=frame.gender[5000:].astype(str), default=y[5000:])
    return model, run, X[:5000], test


def test_gate_refuses_the_biased_model_and_promotes_the_fair_retrain(ip):
    biased, run, train_rows, test = train(bias=0.15)
    ip.user_ns.update(clf=biased, X_train=train_rows, X_test=test)
    ip.run_line_magic("mlops", f"model register clf --name credit --run {run.id} --example X_train")
    report = ip.run_line_magic(
        "mlops",
        "evaluate bias clf X_test default --sensitive gender --positive 0 --outcome approval",
    )
    assert report.subject["model_ref"] == "credit@1"
    rates = {g["group"]: g["selection_rate"] for g in report.main["groups"]}
    assert rates["F"] < rates["M"]  # women are approved less often: the planted historical bias
    ip.run_line_magic("mlops", "evaluate perf clf X_test --budget 0.5 --no-cold-start")
    ip.run_line_magic(
        "mlops",
        'model gate credit --require "accuracy>=0.7" --require "demographic_parity_ratio>=0.98" '
        '--require "p95_latency_ms<=1000"',
    )
    with pytest.raises(
        GateFailed,
        match=r"credit@1 was not promoted to production: gate demographic_parity_ratio>=0\.98 "
        r"failed, demographic_parity_ratio is 0\.95",
    ):
        ip.run_line_magic("mlops", "model promote credit@1 --to production")

    fair, run, train_rows, test = train(bias=0.0)
    ip.user_ns.update(clf=fair, X_train=train_rows, X_test=test)
    ip.run_line_magic("mlops", f"model register clf --name credit --run {run.id} --example X_train")
    ip.run_line_magic(
        "mlops",
        "evaluate bias clf X_test default --sensitive gender --positive 0 --outcome approval",
    )
    ip.run_line_magic("mlops", "evaluate perf clf X_test --budget 0.5 --no-cold-start")
    done = ip.run_line_magic("mlops", "model promote credit@2 --to production")
    assert done.text == "credit@production is now version 2. All 3 gates pass."
    card = mo.models.card("credit@production").to_markdown()
    assert "Approval rate for group F" in card and "within the four-fifths rule" in card
    assert [t["status"] for t in mo.models.history("credit").transitions] == ["done", "refused"]
