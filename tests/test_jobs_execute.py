"""A job is a run: real papermill executions in real kernels, read back from the real store."""

from __future__ import annotations

import json

import blake3
import nbformat
import pytest
from jobs_notebooks import score, write_notebook, write_train
from sqlalchemy import select

import nbmlops as mo
from nbmlops.jobs import JobResult, get_job, job_log, list_jobs, run_job
from nbmlops.store.meta import audit_events, jobs, runs


def test_job_from_the_magic_is_a_run_the_notebook_logs_into(ip, workspace, tmp_path):
    nb = write_train(tmp_path / "notebooks" / "train.ipynb")
    res = ip.run_line_magic(
        "mlops",
        f"job run {nb} -p C 0.25 -p n_points 1500 -p widget true --tag team=risk --no-progress",
    )
    assert isinstance(res, JobResult) and res.status == "FINISHED", res.error

    run = mo.get_run(res.run_id)
    assert run.run["kind"] == "job" and run.tags["team"] == "risk"
    params = {p["key"]: p["value"] for p in run.params}
    # passed values, and the literal defaults of the parameters cell
    assert params == {
        "C": 0.25,
        "n_points": 1500,
        "widget": True,
        "penalty": "l2",
        "fail": False,
        "die": False,
        "noise": False,
        "data": None,
    }
    # every point logged inside the kernel was written before papermill returned
    assert res.metrics["score"] == score(0.25) and res.metrics["C_seen"] == 0.25
    loss = mo.metric_history(res.run_id, "loss")
    assert loss.steps == list(range(1500)) and loss.values == [1 / (i + 1) for i in range(1500)]
    # %%mlops run inside the job is a child of the job's run
    [child] = run.children
    assert child["name"] == "inner" and child["status"] == "FINISHED"
    assert mo.get_run(child["id"]).metrics[0]["last"] == 2 * score(0.25)

    # the notebook as executed is stored by digest; the context names it, not the launching shell
    data = nb.read_bytes()
    assert (
        res.notebook_digest == blake3.blake3(data).hexdigest() == run.context["notebook"]["digest"]
    )
    assert workspace.store().objects.get(res.notebook_digest) == data
    assert "history" not in run.context

    raw = mo.load_artifact(res.run_id, "output.ipynb")
    assert res.output_digest == blake3.blake3(raw).hexdigest()
    executed = nbformat.reads(raw.decode(), as_version=4)
    assert "widgets" not in executed.metadata  # widget state stripped
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "C = 0.25" in injected[0].source
    stdout = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    # kernel ran in the notebook's folder
    assert f"cwd {nb.parent}\n" in stdout and f"score {score(0.25)}\n" in stdout

    with workspace.store().read() as conn:
        actions = (
            conn.execute(
                select(audit_events.c.action).where(audit_events.c.entity_id == res.run_id)
            )
            .scalars()
            .all()
        )
    assert {"run.start", "job.start", "job.end", "run.end"} <= set(actions)


def test_failing_cell_unknown_parameter_and_exit_code(cli, workspace, tmp_path):
    nb = write_train(tmp_path / "train.ipynb")
    out = cli("job", "run", str(nb), "-p", "fail", "true", "-p", "zzz", "[1, 2]", "--no-progress")
    assert out.exit_code == 1
    assert "ValueError: asked to fail" in out.stdout
    assert "Parameter 'zzz' is not declared in the parameters cell of train.ipynb" in out.stdout

    [job] = list_jobs().jobs
    assert job.status == "FAILED" and job.parameters == {"fail": True, "zzz": [1, 2]}
    assert job.warnings and "zzz" in job.warnings[0]
    assert job.metrics["score"] == score(1.0)  # what ran before the failure was kept
    executed = nbformat.reads(
        workspace.store().objects.get(job.output_digest).decode(), as_version=4
    )
    failing = executed.cells[job.error_cell]
    assert "raise ValueError" in failing.source and failing.execution_count == job.error_count
    assert job.error == f"ValueError: asked to fail (at In [{job.error_count}])"

    [cell] = job_log(job.run_id, errors=True).cells
    assert "raise ValueError" in cell["source"] and "ValueError: asked to fail" in cell["output"]
    shown = json.loads(cli("job", "show", job.run_id[:8], "--json").stdout)
    assert shown["status"] == "FAILED" and "raise ValueError" in shown["failing_source"]
    assert "Traceback" in shown["traceback"] or "ValueError" in shown["traceback"]


def test_retries_make_new_attempt_runs(workspace, tmp_path):
    nb = write_notebook(
        tmp_path / "flaky.ipynb",
        'marker = "m"',
        [
            'import os\nif not os.path.exists(marker):\n    open(marker, "w").close()\n    raise '
            'RuntimeError("flaky")'
        ],
    )
    res = run_job(nb, {"marker": str(tmp_path / "seen")}, retries=2, progress=False)
    assert res.status == "FINISHED" and res.attempt == 2
    [first] = res.previous_attempts
    earlier = get_job(first).job
    assert earlier.status == "FAILED" and earlier.error.startswith("RuntimeError: flaky")
    assert mo.get_run(res.run_id).tags["attempt"] == "2"


def test_job_runs_on_every_backend(backend, tmp_path):
    nb = write_notebook(
        tmp_path / "tiny.ipynb", "k = 2", ["import nbmlops as mo\nmo.log_metric('k2', k * k)"]
    )
    res = run_job(nb, {"k": 3}, progress=False)
    assert res.status == "FINISHED" and res.metrics == {"k2": 9.0}
    store = backend.store()
    with store.read() as conn:
        row = conn.execute(
            select(jobs.c.output_digest, runs.c.kind).select_from(
                jobs.join(runs, runs.c.id == jobs.c.run_id)
            )
        ).one()
    assert row.kind == "job"
    assert nbformat.reads(
        store.objects.get(row.output_digest, verify=True).decode(), as_version=4
    ).cells


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.ipynb"], "No notebook at 'missing.ipynb'"),
        (["notes.txt"], "is not a Jupyter notebook"),
        (["train.ipynb", "-p", "C", "[1, 2"], "The value of parameter 'C' is not valid YAML"),
        (["train.ipynb", "-p", "1x", "3"], "is not a valid Python name"),
        (["train.ipynb", "-f", "params.yaml"], "must be a YAML mapping"),
        (["train.ipynb", "-k", "no-such-kernel"], "Kernel 'no-such-kernel' is not installed"),
        (["train.ipynb", "--timeout", "-1"], "The timeout must be a positive number"),
        (["train.ipynb", "--retries", "-1"], "retries must be a whole number from 0 to 10"),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(cli, workspace, tmp_path, args, message):
    write_train(tmp_path / "train.ipynb")
    (tmp_path / "notes.txt").write_text("not a notebook")
    (tmp_path / "params.yaml").write_text("- just\n- a list\n")
    out = cli("job", "run", *args, "--no-progress")
    assert out.exit_code in (2, 3) and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    with workspace.store().read() as conn:
        assert conn.execute(select(runs.c.id)).all() == []


def test_jobs_api_is_reachable_from_the_package_without_importing_papermill():
    import subprocess
    import sys

    code = (
        "import sys, nbmlops as mo; assert mo.jobs.run_job is mo.run_job; assert "
        "callable(mo.jobs.sweep); "
        "print(sorted(m for m in ('papermill', 'distributed', 'nbformat') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
