"""Dashboards without a browser: publish, goals against independent numbers, export, read-only,
bad input."""

from __future__ import annotations

import re

import nbformat
import pytest
from fairlearn.metrics import demographic_parity_ratio
from samples import FEATURES, churn_frame, fit_classifier, store_state

import nbmlops as mo
from nbmlops.dashboards import dashboard_path, overview, show
from nbmlops.errors import PermissionDenied
from nbmlops.workspace import open_current

GOALS = ["accuracy>=0.85", "demographic_parity_ratio>=0.95"]


@pytest.fixture
def churn(workspace):  # type: ignore[no-untyped-def]
    """Three versions (accuracy 0.82, 0.88, 0.91), a bias report each, v3 in production."""
    frame = churn_frame()
    clf = fit_classifier(frame)
    for accuracy in (0.82, 0.88, 0.91):
        with mo.start_run(name="train") as run:
            mo.log_metric("accuracy", accuracy)
        mo.models.register(clf, "churn", run=run.id)
        mo.evaluate.bias(clf, frame, "churned", sensitive="gender")
    mo.models.promote("churn@3", to="production", note="quarterly release")
    return clf, frame


def test_publish_writes_the_notebook_with_the_goals(cli, churn, workspace) -> None:
    res = cli("dashboard", "publish", "churn", "--goal", GOALS[0], "--goal", GOALS[1])
    assert res.exit_code == 0, res.stderr
    nb = nbformat.read(dashboard_path("churn"), as_version=4)
    assert nb.metadata["nbmlops"]["goals"] == GOALS
    parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(parameters.source, namespace)  # noqa: S102 - the cell we wrote
    assert namespace["model"] == "churn" and namespace["goals"] == GOALS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope", "--goal", "accuracy>=0.8"],
            "No model is named 'nope'; registered models: churn.",
        ),
        (
            ["churn", "--goal", "acurracy>=0.8"],
            "names 'acurracy', which nothing stores for churn@production; known "
            "metrics are accuracy, ",
        ),
        (["churn", "--goal", "accuracy=>0.8"], "is not understood"),
    ],
)
def test_bad_publish_input_is_one_sentence_and_writes_nothing(
    cli, churn, workspace, args, message
) -> None:
    res = cli("dashboard", "publish", *args)
    assert res.exit_code != 0 and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (workspace.root / "dashboards").exists()


def test_goals_hold_the_numbers_an_independent_tool_computes(churn, workspace) -> None:
    clf, frame = churn
    view = overview("churn", GOALS, store=open_current(readonly=True))
    predicted = clf.predict(frame[FEATURES])
    ratio = demographic_parity_ratio(
        frame["churned"], predicted, sensitive_features=frame["gender"]
    )
    accuracy, parity = view.goals
    assert accuracy.value == 0.91 and accuracy.met is True
    assert parity.value == pytest.approx(ratio) and ratio < 0.95 and parity.met is False
    assert (
        "goal is NOT met" in parity.sentence
        and "lowest selection rate divided by the highest" in parity.sentence
    )
    assert view.production["version"] == 3 and view.production["alias"] == "production"
    assert view.trend["series"]["accuracy"] == [0.82, 0.88, 0.91]
    assert view.approvals[0]["note"] == "quarterly release"
    text = str(view)
    assert "1 of 2 goals are met." in text and "NOT MET" in text
    assert "No drift check is stored for churn yet" in text


def test_export_is_one_self_contained_page(cli, churn, workspace, tmp_path) -> None:
    cli("dashboard", "publish", "churn", "--goal", GOALS[0], "--goal", GOALS[1])
    res = cli("dashboard", "export", "churn", "--out", str(tmp_path / "churn.html"))
    assert res.exit_code == 0, res.stderr
    page = (tmp_path / "churn.html").read_text()
    assert page.count("plotly.js v") == 1  # the library's banner: embedded once
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", page)
    assert "NOT MET" in page and ">MET<" in page and "quarterly release" in page


def test_export_of_an_unpublished_dashboard_says_how_to_publish(cli, churn) -> None:
    res = cli("dashboard", "export", "churn")
    assert res.exit_code != 0 and "mlops dashboard publish churn --goal" in res.stderr


def test_the_dashboard_process_cannot_write(churn, workspace, monkeypatch) -> None:
    store = workspace.store()
    before = store_state(store)
    monkeypatch.setenv("MLOPS_READONLY", "1")
    from nbmlops.store import forget_stores

    forget_stores()
    with pytest.raises(PermissionDenied, match="read-only; writes are refused"):
        mo.models.promote("churn@2", to="production")
    with pytest.raises(PermissionDenied):
        mo.start_run(name="sneaky")
    readonly = open_current()
    assert readonly.readonly and "mode=ro" in str(readonly.engine.url)
    # even below the API, SQLite refuses
    with (
        pytest.raises(PermissionDenied),
        readonly.read() as conn,
    ):
        conn.exec_driver_sql("DELETE FROM runs")
    monkeypatch.delenv("MLOPS_READONLY")
    forget_stores()
    assert store_state(workspace.store()) == before


def test_a_missing_database_shows_a_sentence_not_a_traceback(
    churn, workspace, capsys, monkeypatch
) -> None:
    from nbmlops.store import forget_stores

    forget_stores()
    (workspace.root / ".mlops" / "meta.db").unlink()
    displayed = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **_kw: displayed.append(obj))
    show("churn", GOALS)
    [html] = displayed
    assert "This dashboard cannot be shown right now: Cannot reach the database" in html.data
    assert "Traceback" not in html.data


def test_dashboard_reads_every_backend_and_writes_on_none(backend, monkeypatch) -> None:
    frame = churn_frame()
    with mo.start_run(name="train") as run:
        mo.log_metric("accuracy", 0.9)
    mo.models.register(fit_classifier(frame), "churn", run=run.id)
    mo.dashboards.publish("churn", ["accuracy>=0.85"])
    store = backend.store()
    before = store_state(store)
    monkeypatch.setenv("MLOPS_READONLY", "1")
    from nbmlops.store import forget_stores

    forget_stores()
    readonly = open_current()
    view = overview("churn", ["accuracy>=0.85"], store=readonly)
    assert view.goals[0].value == 0.9 and view.goals[0].met is True and view.production is None
    # the database refuses too
    with (
        pytest.raises(PermissionDenied, match="read-only"),
        readonly.read() as conn,
    ):
        conn.exec_driver_sql("DELETE FROM audit_events")
    monkeypatch.delenv("MLOPS_READONLY")
    forget_stores()
    assert store_state(backend.store()) == before
