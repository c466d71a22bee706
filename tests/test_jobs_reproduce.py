"""Reproducing a job: the stored snapshot is executed, metrics are compared exactly or within a
tolerance."""

from __future__ import annotations

import json

import nbformat
from jobs_notebooks import score, write_train

import nbmlops as mo
from nbmlops.jobs import get_job, list_jobs, run_job
from nbmlops.jobs.reproduce import compare_metrics, compare_packages


def test_reproduce_uses_the_snapshot_and_compares_metrics(cli, workspace, tmp_path):
    nb = write_train(tmp_path / "train.ipynb")
    original = run_job(nb, {"C": 3.0, "noise": True}, progress=False)
    assert original.status == "FINISHED"
    # the file changes afterwards: reproduce must still run what ran then
    edited = nbformat.read(str(nb), as_version=4)
    edited.cells[2].source = edited.cells[2].source.replace("1 / (1 + C)", "42.0")
    nbformat.write(edited, str(nb))

    exact = cli("job", "reproduce", original.run_id[:8], "--no-progress", "--json")
    assert exact.exit_code == 1  # the random metric differs: printed, then a non-zero exit
    report = json.loads(exact.stdout)
    assert not report["passed"] and report["status"] == "FINISHED"
    rows = {m["metric"]: m for m in report["metrics"]}
    # the snapshot ran, not the edit
    assert rows["score"]["match"] and rows["score"]["reproduced"] == score(3.0)
    assert not rows["noise"]["match"] and set(rows) == {
        "score",
        "C_seen",
        "loss",
        "noise",
        "malloc_fixed",
    }
    assert "train.ipynb has changed since the original run" in report["notes"][0]
    assert report["parameters"] == {"C": 3.0, "noise": True} and report["packages"] == []

    loose = cli("job", "reproduce", original.run_id, "--tolerance", "1", "--no-progress")
    assert loose.exit_code == 0 and "Reproduced: all 5 metrics agree within 1." in loose.stdout

    again = get_job(report["reproduction"]).job
    assert again.mode == "reproduction" and again.reproduces == original.run_id
    assert (
        again.notebook_digest == original.notebook_digest
        and again.parameters == original.parameters
    )
    assert len(list_jobs(mode="reproduction").jobs) == 2


def test_only_jobs_can_be_reproduced(cli, workspace):
    with mo.start_run(name="manual") as run:
        mo.log_metric("a", 1)
    out = cli("job", "reproduce", run.id[:8])
    assert out.exit_code == 2
    assert out.stderr.strip() == (
        f"Error: Run {run.id[:8]} was not run as a job (no notebook snapshot was stored), "
        "so it cannot be re-executed; only runs made by `mlops job run` or a sweep can be "
        "reproduced."
    )
    assert cli("job", "reproduce", "ffffffff").exit_code == 3


def test_metric_and_package_comparison():
    rows = compare_metrics(
        {"a": 1.0, "b": float("nan"), "c": 2.0},
        {"a": 1.0 + 1e-9, "b": float("nan"), "d": 1.0},
        1e-6,
    )
    assert [(r["metric"], r["match"]) for r in rows] == [
        ("a", True),
        ("b", True),
        ("c", False),
        ("d", False),
    ]
    assert not compare_metrics({"a": 1.0}, {"a": 1.0 + 1e-9}, 0)[0]["match"]
    assert compare_packages(
        {"numpy": "2.0", "pandas": "3.0", "old": "1"}, {"numpy": "2.1", "pandas": "3.0", "new": "2"}
    ) == [
        {"package": "new", "original": None, "reproduced": "2"},
        {"package": "numpy", "original": "2.0", "reproduced": "2.1"},
        {"package": "old", "original": "1", "reproduced": None},
    ]


def test_data_references_are_pinned_and_reproduced_pinned(workspace, tmp_path):
    """``loans@latest`` is pinned to the version it meant when the job ran; a reproduction reads
    that version
    even after newer ones were committed, and both runs are recorded as its consumers."""
    import pandas as pd
    from jobs_notebooks import write_notebook

    from nbmlops.jobs import reproduce

    for rows in (10, 20, 30):
        mo.data.commit(pd.DataFrame({"x": range(rows)}), "loans")
    nb = write_notebook(
        tmp_path / "echo.ipynb",
        'data = "x"\nemail = "a@b"',
        [
            "import nbmlops as mo\nmo.set_tags(data=data, email=email)\nmo.log_metric('rows', "
            "len(mo.data.load(data)))"
        ],
    )
    first = run_job(nb, {"data": "loans@latest", "email": "ops@example.com"}, progress=False)
    info = mo.data.resolve("loans@3")
    assert first.data_refs == {
        "data": {
            "ref": "loans@latest",
            "pinned": "loans@3",
            "digest": info.digest,
            "version_id": info.id,
        }
    }
    # the notebook got what was passed
    assert mo.get_run(first.run_id).tags["data"] == "loans@latest"
    assert first.metrics["rows"] == 30

    mo.data.commit(pd.DataFrame({"x": range(40)}), "loans")  # @latest moves on
    again = reproduce(first.run_id, progress=False)
    assert again.reproduced and again.parameters == {"data": "loans@3", "email": "ops@example.com"}
    # ... and the reproduction the exact version
    assert mo.get_run(again.reproduction).tags["data"] == "loans@3"
    consumers = {r["run_id"] for r in mo.data.lineage("loans@3").consumers}
    assert {first.run_id, again.reproduction} <= consumers
