"""Retraining policies carried out: the notebook runs as a job, its model becomes the challenger,
and promotion
is requested (approval) or made when the gates pass (auto); each step is recorded and audited."""

import json

import nbformat
import pytest
from jobs_notebooks import write_notebook
from sqlalchemy import select
from test_monitor import audit, train_credit_model

import nbmlops as mo
from nbmlops.examples import credit_applications
from nbmlops.store import meta

RETRAIN_SOURCE = """
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
import nbmlops as mo
from nbmlops.examples import FEATURES

frame = pd.read_parquet(data)
categories = ["region", "purpose", "occupation"]
model = make_pipeline(
    make_column_transformer((OneHotEncoder(handle_unknown="ignore"), categories),
                            (StandardScaler(), [f for f in FEATURES if f not in categories])),
    LogisticRegression(max_iter=500)).fit(frame[FEATURES], frame["default"])
mo.log_metric("accuracy", model.score(frame[FEATURES], frame["default"]))
if fail:
    raise RuntimeError("planted failure")
mo.models.register(model, model_name, example=frame[FEATURES])
"""


def retrain_notebook(path):
    return write_notebook(
        path, "data = None\nmodel_name = 'unused'\nfail = False", [RETRAIN_SOURCE]
    )


def stored_actions(store, result_id):
    with store.read() as conn:
        return json.loads(
            conn.execute(
                select(meta.monitor_results.c.actions).where(meta.monitor_results.c.id == result_id)
            ).scalar_one()
        )


@pytest.fixture
def drifting_monitor(workspace, tmp_path):
    train_credit_model()
    credit_applications(4000, seed=1).to_parquet(tmp_path / "reference.parquet")
    credit_applications(3000, seed=3, drifted=True).to_parquet(tmp_path / "november.parquet")
    mo.monitor.create(
        "credit",
        reference=str(tmp_path / "reference.parquet"),
        model="credit@production",
        max_drift_share=0.2,
        exclude=["application_id"],
    )
    return workspace.store(), tmp_path


@pytest.mark.slow
def test_approval_level_registers_a_challenger_and_waits_for_a_second_person(
    drifting_monitor, monkeypatch
):
    store, folder = drifting_monitor
    notebook = retrain_notebook(folder / "retrain.ipynb")
    mo.monitor.set_policy("credit", on="alert", retrain=str(notebook), approval="required")
    result = mo.monitor.check("credit", str(folder / "november.parquet"))
    assert result.status == "ALERT"
    [action] = result.actions
    assert action["status"] == "awaiting approval", action.get("outcome")
    assert action["challenger"] == "credit@2" and action["alias"] == "production"
    assert action["parameters"] == {
        "data": str(folder / "november.parquet"),
        "model_name": "credit",
    }
    # the job is a run tagged with the check that launched it, and the model came from that run
    job = mo.get_run(action["run_id"])
    assert job.run["status"] == "FINISHED" and job.tags["monitor_check"] == str(result.result_id)
    assert mo.models.resolve_version("credit@challenger").version == 2
    assert mo.models.resolve_version("credit@production").version == 1  # nothing promoted yet
    # the outcome is stored with the check
    assert stored_actions(store, result.result_id)[0] == action
    [event] = audit(store, "monitor.retrain")
    assert event["status"] == "awaiting approval" and event["challenger"] == "credit@2"
    # a second alert while the challenger awaits approval starts no second job
    again = mo.monitor.check("credit", str(folder / "november.parquet"))
    assert again.actions[0]["status"] == "skipped"
    assert again.actions[0]["outcome"] == (
        f"not started: credit@2 from the retraining of check #{result.result_id} "
        "still awaits approval to become production"
    )
    with store.read() as conn:
        jobs = conn.execute(select(meta.runs.c.id).where(meta.runs.c.kind == "job")).all()
    assert len(jobs) == 1
    # the requester cannot approve; someone else can, and production moves to the challenger
    with pytest.raises(mo.PermissionDenied):
        mo.models.approve("credit@2", to="production")
    monkeypatch.setenv("MLOPS_USER", "reviewer")
    mo.models.approve("credit@2", to="production")
    assert mo.models.resolve_version("credit@production").version == 2


@pytest.mark.slow
def test_auto_level_promotes_when_gates_pass_and_records_failures(drifting_monitor):
    store, folder = drifting_monitor
    notebook = retrain_notebook(folder / "retrain.ipynb")
    mo.monitor.set_policy("credit", on="alert", retrain=str(notebook), approval="auto")
    mo.models.gate("credit", require=["accuracy>=0.99"])  # the retrained model cannot reach this
    refused = mo.monitor.check("credit", str(folder / "november.parquet")).actions[0]
    assert refused["status"] == "gates failed" and refused["challenger"] == "credit@2"
    assert "gate accuracy>=0.99 failed" in refused["outcome"]
    assert mo.models.resolve_version("credit@production").version == 1
    mo.models.gate("credit", require=["accuracy>=0.5"])
    promoted = mo.monitor.check("credit", str(folder / "november.parquet")).actions[0]
    assert promoted["status"] == "promoted" and promoted["challenger"] == "credit@3"
    assert mo.models.resolve_version("credit@production").version == 3
    # a notebook that fails is an outcome of the check, named with its cell, not an error
    source = nbformat.read(str(notebook), as_version=4)
    source.cells[0].source = "data = None\nmodel_name = 'unused'\nfail = True"
    nbformat.write(source, str(notebook))
    failed = mo.monitor.check("credit", str(folder / "november.parquet")).actions[0]
    assert failed["status"] == "failed" and "planted failure" in failed["outcome"]
    assert mo.get_run(failed["run_id"]).run["status"] == "FAILED"
    statuses = [e["status"] for e in audit(store, "monitor.retrain")]
    assert statuses == ["gates failed", "promoted", "failed"]
