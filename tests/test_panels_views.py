"""Models, drift, bias and jobs panels driven like a user would: clicks, confirmations, real
stores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from jobs_notebooks import write_train
from samples import FEATURES, churn_frame, fit_classifier, store_state

import nbmlops as mo
from nbmlops.examples import credit_applications

PLOTLY = "application/vnd.plotly.v1+json"


@pytest.fixture
def churn(workspace):  # type: ignore[no-untyped-def]
    """churn@1 (accuracy 0.9) and churn@2 (accuracy 0.7); gates accuracy>=0.8 with approval."""
    frame = churn_frame()
    clf = fit_classifier(frame)
    for accuracy in (0.9, 0.7):
        with mo.start_run(name="train") as run:
            mo.log_metric("accuracy", accuracy)
        mo.models.register(clf, "churn", run=run.id)
    mo.models.gate("churn", require=["accuracy>=0.8"], approval=True)
    return clf, frame


def _figure(area):  # type: ignore[no-untyped-def]
    return area.outputs[0]["data"][PLOTLY]


def test_models_panel_promotion_asks_first_then_needs_a_second_person(
    ip, churn, workspace, monkeypatch
) -> None:
    store = workspace.store()
    panel = mo.panels.models("churn")
    assert [r["cells"][0] for r in panel.table.first_rows] == [2, 1]
    assert panel.version == "churn@2"
    assert "1 of 1 gates fail" in panel.details.value

    # a failing version: the confirm step already says why, and confirming is refused by the
    # registry
    before = store_state(store)
    panel.promote_button.click()
    assert panel.confirm_box.layout.display == "flex"
    assert "1 of 1 gates fail: accuracy&gt;=0.8 (accuracy is 0.7)" in panel.confirm_text.value
    assert store_state(store) == before  # asking writes nothing
    panel.confirm_button.click()
    assert (
        "was not promoted to production" in panel.answer.value and "#b42318" in panel.answer.value
    )

    # the passing version: request, then the requester may not approve it
    panel.table.selected = ["churn@1"]
    panel.promote_button.click()
    assert (
        "All 1 gate pass" in panel.confirm_text.value
        or "All 1 gates pass" in panel.confirm_text.value
    )
    panel.confirm_button.click()
    assert "awaits approval" in panel.answer.value
    pending = [r["cells"][2] for r in panel.table.first_rows if r["key"] == "churn@1"][0]
    assert pending == {"text": "awaits approval → production", "tone": "warn"}
    panel.approve_button.click()
    panel.confirm_button.click()
    assert "someone else must approve" in panel.answer.value
    with pytest.raises(mo.NotFound):
        mo.models.resolve_version("churn@production")

    # a reviewer approves through the same two clicks
    monkeypatch.setenv("MLOPS_USER", "reviewer")
    review = mo.panels.models("churn")
    review.table.selected = ["churn@1"]
    review.approve_button.click()
    assert "Approve the promotion of churn@1 to production?" in review.confirm_text.value
    review.confirm_button.click()
    assert "approved by reviewer" in review.answer.value
    assert mo.models.resolve_version("churn@production").version == 1
    assert [r["cells"][1] for r in review.table.first_rows if r["key"] == "churn@1"] == [
        "production"
    ]
    actions = [t["action"] for t in mo.models.history("churn").transitions]
    assert actions[:3] == ["promote", "approve", "request"]


def test_models_panel_cancel_and_nothing_pending(ip, churn) -> None:
    panel = mo.panels.models("churn")
    panel.table.selected = ["churn@1"]
    panel.approve_button.click()
    assert "No promotion of churn@1 to production awaits a decision" in panel.answer.value
    panel.promote_button.click()
    panel.cancel_button.click()
    assert panel.confirm_box.layout.display == "none"
    panel.confirm_button.click()  # a stale confirm does nothing
    assert mo.models.history("churn").transitions == []


def test_unknown_model_is_one_sentence(ip, workspace) -> None:
    with pytest.raises(mo.NotFound):
        ip.run_line_magic("mlops", "panel models nope")


def test_drift_panel_colours_columns_and_shows_histograms(ip, workspace) -> None:
    reference = credit_applications(3000, seed=1)
    current = credit_applications(3000, seed=2, drifted=True, start="2026-06-01")
    report = mo.drift.compare(reference, current, time=None)
    panel = mo.panels.drift(report.evaluation_id)
    rows = panel.table.first_rows
    assert len(rows) == len(report.columns) and panel.table.total == len(rows)
    tones = {r["key"]: r["cells"][5] for r in rows}
    assert {k for k, v in tones.items() if v["tone"] == "alert"} == set(report.drifted_columns)
    assert "income" in report.drifted_columns
    panel.table.activated = "income"
    figure = _figure(panel.chart)
    assert figure["layout"]["title"]["text"].startswith("income: drifted")
    reference_bars, current_bars = figure["data"]
    edges = report.column("income")["histogram"]["edges"]
    expected = np.histogram(np.clip(current["income"].dropna(), edges[0], edges[-1]), bins=edges)[0]
    assert current_bars["y"] == pytest.approx(100 * expected / expected.sum(), abs=0.05)
    assert "Drift in" in panel.summary.value
    assert panel.table.fetch(0, 100)[0]["key"] in report.drifted_columns  # drifted first


def test_drift_panel_rejects_an_evaluation_of_another_kind(ip, churn) -> None:
    clf, frame = churn
    bias = mo.evaluate.bias(clf, frame, "churned", sensitive="gender")
    with pytest.raises(mo.InvalidInput, match="is not a drift report"):
        ip.run_line_magic("mlops", f"panel drift {bias.evaluation_id}")


def test_bias_panel_bars_match_pandas_and_the_line_is_four_fifths(ip, churn) -> None:
    clf, frame = churn
    report = mo.evaluate.bias(clf, frame, "churned", sensitive="gender")
    panel = ip.run_line_magic("mlops", f"panel bias {report.evaluation_id}")
    rates = frame.assign(pred=clf.predict(frame[FEATURES])).groupby("gender")["pred"].mean()
    figure = _figure(panel.chart)
    bars = dict(zip(figure["data"][0]["x"], figure["data"][0]["y"], strict=True))
    assert bars == pytest.approx(rates.to_dict())
    assert figure["layout"]["shapes"][0]["y0"] == pytest.approx(0.8 * rates.max())
    assert "four-fifths rule" in panel.summary.value
    panel.metric.value = "accuracy"
    correct = (
        frame.assign(ok=clf.predict(frame[FEATURES]) == frame["churned"])
        .groupby("gender")["ok"]
        .mean()
    )
    bars = dict(
        zip(_figure(panel.chart)["data"][0]["x"], _figure(panel.chart)["data"][0]["y"], strict=True)
    )
    assert bars == pytest.approx(correct.to_dict())


@pytest.mark.slow
def test_jobs_panel_lists_jobs_and_sweep_progress(ip, workspace, tmp_path) -> None:
    panel = mo.panels.jobs()
    assert panel.table.total == 0 and "No jobs yet" in panel.table.empty_text
    nb = write_train(tmp_path / "train.ipynb")
    sweep = mo.jobs.sweep(
        nb, grid={"C": [0.5, 1.0]}, parameters={"n_points": 3, "fail": False}, progress=False
    )
    panel.reload()
    rows = {r["cells"][2]: r for r in panel.table.first_rows}
    assert rows["sweep"]["cells"][4] == "2 of 2 points"
    assert rows["sweep"]["cells"][3] == {"text": "FINISHED", "tone": "ok"}
    assert panel.table.total == 3  # the sweep and its two points
    panel.table.activated = sweep.sweep_id
    assert "Sweep" in panel.details.value and "2 points" in panel.details.value


def _loans(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "loan_id": np.arange(rows),
            "amount": rng.gamma(2.0, 1000.0, rows).round(2),
            "region": rng.choice(["north", "south", "east"], rows),
            "rate": rng.uniform(0.01, 0.2, rows),
        }
    )


def test_data_panel_compares_the_newest_two_and_colours_what_moved(ip, workspace) -> None:
    old = _loans(400)
    new = old.iloc[20:].copy()  # 20 rows gone
    new.loc[new.index[:100], "amount"] *= 3  # the mean moves by far more than a tenth
    extra = _loans(30, seed=1).assign(loan_id=np.arange(1000, 1030))
    new = pd.concat([new, extra], ignore_index=True).drop(columns=["rate"]).assign(score=0.5)
    mo.data.commit(old, "loans", message="first")
    mo.data.commit(new, "loans", message="refresh")
    mo.data.set_tag("loans@1", "prod")

    panel = ip.run_line_magic("mlops", "panel data loans")
    assert [r["cells"][0] for r in panel.table.first_rows] == [2, 1]
    assert panel.versions == ["loans@1", "loans@2"]
    assert f"rows 400 → {len(new)} ({len(new) - 400:+})" in panel.details.value
    assert "tags prod → @1" in panel.header.value
    changes = {r["key"]: r["cells"] for r in panel.changes.first_rows}
    assert changes["schema:score"][4] == {"text": "added", "tone": "ok"}
    assert changes["schema:rate"][4] == {"text": "removed", "tone": "alert"}
    mean = changes["mean:amount"]
    assert mean[2] == pytest.approx(old["amount"].mean()) and mean[3] == pytest.approx(
        new["amount"].mean()
    )
    assert mean[4]["tone"] == "alert"
    count = changes["count:loan_id"]
    assert (count[2], count[3]) == (400, len(new)) and count[4][
        "tone"
    ] == "warn"  # 2.5% fewer: amber
    trace = _figure(panel.chart)["data"][0]
    assert trace["x"] == [1, 2] and trace["y"] == [400, len(new)] and trace["text"] == ["prod", ""]
    assert len(set(trace["marker"]["color"])) == 1  # both selected

    panel.key.value = "loan_id"
    assert (panel.diff.added, panel.diff.removed) == (
        len(set(new.loan_id) - set(old.loan_id)),
        len(set(old.loan_id) - set(new.loan_id)),
    )
    common = old.merge(new, on="loan_id", suffixes=("_a", "_b"))
    assert panel.diff.changed == int((common.amount_a != common.amount_b).sum()) == 100
    assert "Sample of added rows" in panel.samples.value

    panel.table.selected = ["loans@1"]
    assert "Schema" in panel.details.value and "rate" in panel.details.value
    assert panel.changes.layout.display == "none" and "Select a second version" in panel.hint.value
    assert len(set(_figure(panel.chart)["data"][0]["marker"]["color"])) == 2
    panel.table.selected = []
    assert "Select two versions" in panel.hint.value and panel.details.value == ""

    focused = mo.panels.data("loans@prod")
    assert focused.versions == ["loans@1"]


def test_data_panel_of_files_lists_the_paths_that_changed(ip, workspace, tmp_path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "a.txt").write_text("one")
    (folder / "b.txt").write_text("two")
    mo.data.commit(str(folder), "scans")
    (folder / "a.txt").write_text("one, again")
    (folder / "c.txt").write_text("three")
    (folder / "b.txt").unlink()
    mo.data.commit(str(folder), "scans")
    panel = mo.panels.data("scans")
    assert panel.key.layout.display == "none"
    changes = {r["key"]: r["cells"][1] for r in panel.changes.first_rows}
    assert changes == {
        "added:c.txt": {"text": "added", "tone": "ok"},
        "removed:b.txt": {"text": "removed", "tone": "alert"},
        "changed:a.txt": {"text": "changed", "tone": "warn"},
    }
    assert "files 2 → 2 (+0)" in panel.details.value


def test_data_panel_of_an_unknown_dataset_is_one_sentence(ip, workspace) -> None:
    with pytest.raises(mo.NotFound, match="No dataset is named 'nope'"):
        ip.run_line_magic("mlops", "panel data nope")
