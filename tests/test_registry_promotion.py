"""Gates, promotion, approval by a second person, rejection: each move recorded and audited."""

import json

import pytest
from samples import churn_frame, fit_classifier, store_state
from sqlalchemy import select

import nbmlops as mo
from nbmlops.errors import GateFailed, InvalidInput, NotFound, PermissionDenied
from nbmlops.evaluate.storage import get_evaluation, list_evaluations
from nbmlops.store import meta


@pytest.fixture
def churn(workspace):
    """churn@1 registered from a run with accuracy 0.9, evaluated for bias and speed."""
    frame = churn_frame()
    clf = fit_classifier(frame)
    with mo.start_run(name="train") as run:
        mo.log_metric("accuracy", 0.9)
    mo.models.register(clf, "churn", run=run.id)
    mo.evaluate.bias(clf, frame, "churned", sensitive="gender")
    mo.evaluate.perf(clf, frame, budget_s=0.5, cold_start=False)
    return clf, frame


def audit_actions(store):
    with store.read() as conn:
        return [
            (r.action, r.username, r.entity_id)
            for r in conn.execute(select(meta.audit_events).order_by(meta.audit_events.c.seq))
        ]


@pytest.mark.parametrize(
    "text", ["accuracy=>0.8", "accuracy >= high", ">= 0.8", "accuracy>=nan", "p95 <= 20 ms"]
)
def test_a_gate_that_cannot_be_read_is_refused_before_anything_is_written(churn, workspace, text):
    store = workspace.store()
    before = store_state(store)
    with pytest.raises(
        InvalidInput,
        match=r"is not understood; write metric, operator, number, e\.g\. accuracy>=0\.85",
    ):
        mo.models.gate("churn", require=["accuracy>=0.5", text])
    assert store_state(store) == before


def test_promote_checks_gates_against_stored_metrics_and_evaluations(churn, workspace):
    bias = list_evaluations("bias")[0]
    perf = list_evaluations("perf")[0]
    mo.models.gate(
        "churn",
        require=[
            "accuracy>=0.85",
            "bias.accuracy>=0.5",
            f"demographic_parity_ratio>={bias.summary['demographic_parity_ratio'] - 0.01}",
            f"p95_latency_ms<={perf.summary['p95_latency_ms'] + 1000}",
        ],
    )
    done = mo.models.promote("churn@1", to="production", note="first release")
    assert done.text == "churn@production is now version 1. All 4 gates pass."
    assert mo.models.resolve_version("churn@production").version == 1
    check = get_evaluation(mo.models.history("churn").transitions[0]["evaluation_id"])
    assert check.kind == "gates" and check.passed is True
    values = {
        r["gate"].split(">=")[0].split("<=")[0]: (r["value"], r["source"])
        for r in check.report["results"]
    }
    assert values["accuracy"] == (0.9, "source run")
    assert values["bias.accuracy"][1] == f"bias evaluation #{bias.id}"
    assert values["p95_latency_ms"] == (
        perf.summary["p95_latency_ms"],
        f"perf evaluation #{perf.id}",
    )
    assert ("model.promote", "tester", "churn@1") in audit_actions(workspace.store())


def test_a_failing_gate_refuses_with_its_name_and_the_refusal_is_recorded(churn, workspace):
    mo.models.gate(
        "churn", require=["accuracy>=0.95", "p95_latency_ms<=100000", "slices.max_fold_spread<=0.1"]
    )
    with pytest.raises(
        GateFailed,
        match=r"churn@1 was not promoted to production: gate accuracy>=0\.95 failed, "
        r"accuracy is 0\.9 \(and 1 more\)\.",
    ):
        mo.models.promote("churn@1", to="production")
    with pytest.raises(NotFound, match="churn has no alias 'production'"):
        mo.models.resolve_version("churn@production")
    last = mo.models.history("churn").transitions[0]
    assert (last["action"], last["status"]) == ("promote", "refused")
    report = get_evaluation(last["evaluation_id"]).report
    missing = [r for r in report["results"] if r["value"] is None][0]
    assert (
        missing["reason"]
        == "no stored value for slices.max_fold_spread; run evaluate slices for churn@1"
    )
    assert ("model.promote", "tester", "churn@1") in audit_actions(workspace.store())


def test_approval_needs_a_second_person(churn, workspace, monkeypatch):
    store = workspace.store()
    mo.models.gate("churn", require=["accuracy>=0.8"], approval=True)
    waiting = mo.models.promote("churn@1", to="production")
    assert (
        waiting.tone == "warn"
        and "someone other than tester must run model approve churn@1" in waiting.text
    )
    with pytest.raises(NotFound):
        mo.models.resolve_version("churn@production")
    before = store_state(store)
    with pytest.raises(
        PermissionDenied,
        match=r"You \(tester\) requested this promotion, so someone else must approve it\.",
    ):
        mo.models.approve("churn@1", to="production")
    assert store_state(store) == before
    monkeypatch.setenv("MLOPS_USER", "grace")
    done = mo.models.approve("churn@1", to="production", note="reviewed the bias report")
    assert (
        done.text
        == "Approved: churn@production is now version 1; requested by tester, approved by grace."
    )
    history = [
        (t["action"], t["status"], t["user"]) for t in mo.models.history("churn@1").transitions
    ]
    assert history == [
        ("promote", "done", "grace"),
        ("approve", "approved", "grace"),
        ("request", "approved", "tester"),
    ]
    actions = audit_actions(store)
    assert ("model.request", "tester", "churn@1") in actions
    assert ("model.approve", "grace", "churn@1") in actions
    with pytest.raises(NotFound, match="No promotion of churn@1 to production awaits approval"):
        mo.models.approve("churn@1", to="production")


def test_reject_and_withdraw_close_a_request(churn, monkeypatch):
    mo.models.gate("churn", approval=True)
    mo.models.promote("churn@1", to="production")
    assert (
        mo.models.reject("churn@1", to="production").text
        == "Withdrew the promotion of churn@1 to production."
    )
    mo.models.promote("churn@1", to="production")
    monkeypatch.setenv("MLOPS_USER", "grace")
    assert (
        "Rejected the promotion of churn@1 to production: stale"
        in mo.models.reject("churn@1", to="production", note="stale").text
    )
    statuses = [
        t["status"] for t in mo.models.history("churn").transitions if t["action"] == "request"
    ]
    assert statuses == ["rejected", "withdrawn"]


def test_promoting_a_missing_version_changes_nothing(churn, workspace):
    store = workspace.store()
    before = store_state(store)
    with pytest.raises(NotFound, match=r"churn has no version 9; its versions are 1 to 1\."):
        mo.models.promote("churn@9", to="production")
    with pytest.raises(InvalidInput, match="'3' cannot be a model alias"):
        mo.models.promote("churn@1", to="3")
    assert store_state(store) == before


def test_a_new_production_version_demotes_the_old_one(churn):
    clf, frame = churn
    mo.models.register(fit_classifier(frame, 0.2), "churn")
    mo.models.promote("churn@1", to="production")
    assert mo.models.promote("churn@2", to="production").text.startswith(
        "churn@production is now version 2 (was version 1)"
    )
    moves = [(t["version"], t["action"]) for t in mo.models.history("churn").transitions[:2]]
    assert moves == [(2, "promote"), (1, "demote")]
    assert (
        mo.models.promote("churn@2", to="production").text
        == "churn@2 already is churn@production; nothing changed."
    )


def test_gate_set_is_stored_shown_and_audited(churn, workspace):
    shown = mo.models.gate(
        "churn", require=["accuracy >= 0.85", "four_fifths==true"], approval=True
    )
    assert shown.text == "Gates of churn: accuracy>=0.85, four_fifths==1; approval required."
    assert mo.models.gate("churn").text == shown.text
    with workspace.store().read() as conn:
        row = conn.execute(select(meta.models)).one()
    assert json.loads(row.gates) == ["accuracy>=0.85", "four_fifths==1"] and row.requires_approval
    assert (
        mo.models.gate("churn", clear=True, approval=False).text
        == "Gates of churn: none; approval not required."
    )
    assert [a for a, _, _ in audit_actions(workspace.store())].count("model.gates") == 2


def test_a_request_left_pending_when_approval_is_dropped_is_superseded(churn):
    mo.models.gate("churn", approval=True)
    mo.models.promote("churn@1", to="production")
    mo.models.gate("churn", approval=False)
    assert mo.models.promote("churn@1", to="production").tone == "ok"
    statuses = [(t["action"], t["status"]) for t in mo.models.history("churn").transitions]
    assert statuses == [("promote", "done"), ("request", "superseded")]
