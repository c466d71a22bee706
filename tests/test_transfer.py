"""Copying a workspace to PostgreSQL + S3: every run, metric, artifact, model and audit event
arrives intact."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sqlalchemy import func, select

import nbmlops as mo
from nbmlops.errors import Conflict
from nbmlops.maintenance.transfer import copy_workspace
from nbmlops.store import audit_chain as audit
from nbmlops.store import meta
from nbmlops.workspace import Workspace


def build_history(store):
    with mo.start_run(name="parent") as parent:
        mo.log_params(C=0.5, penalty="l2")
        for step in range(50):
            mo.log_metric("loss", 1 / (step + 1), step=step)
        mo.log_artifact(b"raw bytes", name="blob.bin")
        with mo.start_run(name="child") as child:
            mo.log_metric("accuracy", 0.875)
        x = np.random.default_rng(0).normal(size=(200, 3))
        y = (x[:, 0] > 0).astype(int)
        mo.models.register(LogisticRegression().fit(x, y), "churn", example=x)
    mo.models.promote("churn@1", to="production")
    return parent.id, child.id


def counts(store):
    with store.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in meta.metadata.sorted_tables
            if t.name != "alembic_version"
        }


def test_copy_to_postgres_and_s3_keeps_everything_and_switches(workspace, pg_url, s3_url, cli):
    store = workspace.store()
    parent_id, child_id = build_history(store)
    before = counts(store)
    out = cli("copy", "--db-url", pg_url, "--objects-url", s3_url, "--switch", "--json")
    assert out.exit_code == 0, out.stderr
    copied = Workspace.find().store()
    assert copied.dialect == "postgresql" and copied.objects.url.startswith("s3://")
    after = counts(copied)
    assert after == {
        **before,
        "audit_events": before["audit_events"] + 1,
    }  # ... and the copy's own event
    # read back through the API, against what was logged
    assert mo.get_run(child_id).run["parent_id"] == parent_id
    history = mo.metric_history(parent_id, "loss")
    assert list(history.to_frame()["value"]) == [1 / (s + 1) for s in range(50)]
    assert mo.load_artifact(parent_id, "blob.bin") == b"raw bytes"
    model = mo.models.load("churn@production")
    assert model.predict(np.array([[1.0, 0, 0], [-1.0, 0, 0]])).tolist() == [1, 0]
    with copied.read() as conn:
        verdict = audit.verify(conn)
    # the chain survived the move unbroken
    assert verdict.passed and verdict.events == before["audit_events"] + 1
    # new rows get fresh ids after the copied ones (sequences moved past them)
    with mo.start_run(name="after the move"):
        mo.log_metric("accuracy", 0.9)
    x = np.random.default_rng(1).normal(size=(50, 3))
    mo.models.register(LogisticRegression().fit(x, (x[:, 1] > 0).astype(int)), "churn", example=x)
    assert mo.models.resolve_version("churn@latest").version == 2


def test_copy_refuses_a_target_that_holds_history(workspace, tmp_path):
    build_history(workspace.store())
    target = f"sqlite:///{tmp_path / 'other.db'}"
    first = copy_workspace(target, str(tmp_path / "other-objects"))
    assert first.rows["runs"] == 2 and not first.switched
    with pytest.raises(
        Conflict, match=r"^The target database already holds runs; copy into an empty database"
    ):
        copy_workspace(target, str(tmp_path / "other-objects"))
