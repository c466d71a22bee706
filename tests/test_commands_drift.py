"""``mlops drift`` and ``%mlops drift``: files on the command line, variables in a notebook,
stored reports."""

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

import nbmlops as mo
from nbmlops.drift import DriftReport, compare
from nbmlops.evaluate.storage import get_evaluation
from nbmlops.examples import credit_applications
from nbmlops.result import Chart


@pytest.fixture(scope="module")
def credit():
    ref = credit_applications(6000, seed=1)
    cur = credit_applications(3000, seed=2, drifted=True)
    for frame, seed in ((ref, 1), (cur, 2)):
        frame["score"] = np.clip(
            0.35 + 0.12 * np.random.default_rng(seed).normal(size=len(frame)), 0, 1
        )
    return ref, cur


def test_cli_compares_files_stores_the_report_and_reopens_it(workspace, cli, credit):
    ref, cur = credit
    ref.to_csv("ref.csv", index=False)
    cur.to_parquet("cur.parquet")
    res = cli(
        "drift",
        "ref.csv",
        "cur.parquet",
        "--target",
        "default",
        "--prediction",
        "score",
        "--exclude",
        "application_id",
        "--json",
    )
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    summary = data["summary"]
    assert summary["drifted_columns"] == len([c for c in data["columns"] if c["drifted"]])
    drifted = {c["column"] for c in data["columns"] if c["drifted"]}
    assert {"income", "purpose"} <= drifted and "gender" not in drifted
    income = next(c for c in data["columns"] if c["column"] == "income")
    assert (
        income["stats"]["ks"]["p_value"]
        == stats.ks_2samp(pd.read_csv("ref.csv").income, cur.income).pvalue
    )
    stored = get_evaluation(data["evaluation_id"])
    assert stored.kind == "drift" and stored.summary["drift_share"] == summary["drift_share"]
    assert (
        stored.subject["reference"]["path"].endswith("ref.csv") and stored.passed is data["passed"]
    )
    shown = cli("evaluate", "show", str(data["evaluation_id"]))
    assert (
        shown.exit_code == 0
        and "Drift: ref.csv → cur.parquet" in shown.stdout
        and "purpose" in shown.stdout
    )
    listed = cli("evaluate", "list")
    assert "drift" in listed.stdout and "drift_share=" in listed.stdout


def test_cli_bad_input_is_one_line_and_stores_nothing(workspace, cli, credit):
    ref, cur = credit
    ref.to_csv("ref.csv", index=False)
    cur.iloc[:0].to_csv("empty.csv", index=False)
    for args, message in [
        (
            ("ref.csv", "ref.csv", "--threshold", "ks=2"),
            "Error: The ks threshold 2 is out of range",
        ),
        (
            ("ref.csv", "empty.csv"),
            "Error: The current data empty.csv has no rows; drift needs at least one row on "
            "each side.",
        ),
        (("ref.csv", "missing.parquet"), "Error: No file named 'missing.parquet'."),
        (
            ("ref.csv", "ref.csv", "--test", "region=ks"),
            "Error: --test region=ks: ks does not compare categorical",
        ),
        (("ref.csv", "ref.csv", "--window", "soon"), "Error: The window 'soon' is not understood"),
    ]:
        res = cli("drift", *args)
        assert res.exit_code == 2 or res.exit_code == 3, (args, res.stdout)
        assert res.stderr.startswith(message) and res.stderr.count("\n") == 1, res.stderr
    assert mo.evaluate.list_reports().evaluations == []


def test_an_unknown_dataset_reference_is_one_sentence(workspace, cli, credit):
    credit[0].to_csv("ref.csv", index=False)
    res = cli("drift", "loans@3", "ref.csv")
    assert res.exit_code == 3
    assert (
        res.stderr == "Error: No dataset is named 'loans'; none is committed yet (data commit).\n"
    )


def test_notebook_variables_render_table_and_histograms_and_attach_to_the_run(ip, credit):
    ref, cur = credit
    ip.user_ns.update(ref_df=ref, new_batch=cur)
    with mo.start_run(name="drift check") as run:
        report = ip.run_line_magic(
            "mlops", "drift ref_df new_batch --target default --prediction score"
        )
    assert isinstance(report, DriftReport) and report.reference["label"] == "ref_df"
    assert get_evaluation(report.evaluation_id).run_id == run.id
    html = report._repr_html_()
    assert "<mark>" in html and "purpose" in html and "Model quality" in html
    figures = [b.figure for b in report.blocks() if isinstance(b, Chart)]
    assert len(figures) == 2  # quality per window, then the histograms with a column drop-down
    hist = go.Figure(figures[-1])
    buttons = [b.label for b in hist.layout.updatemenus[0].buttons]
    assert buttons == report.drifted_columns
    assert len(hist.data) == 2 * len(buttons)
    go.Figure(figures[0])
    page = report.to_html(self_contained=True)
    assert page.count("plotly.js v") == 1 and len(page) < 6_000_000
    frame = report.to_frame()
    assert frame.loc[frame["drift"], "column"].tolist() == report.drifted_columns


def test_without_a_workspace_the_report_says_it_was_not_stored(tmp_path, monkeypatch, credit):
    monkeypatch.chdir(tmp_path)
    report = compare(credit[0], credit[1])
    assert (
        report.evaluation_id is None
        and "Not stored: no workspace here (mlops init creates one)." in str(report)
    )
