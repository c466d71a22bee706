"""Validation: the static checks, a fresh-kernel run, and output comparison judged against nbval
itself."""

from __future__ import annotations

import copy
import subprocess
import sys

import nbformat
import pytest
from jobs_notebooks import write_notebook
from nbformat.v4 import new_code_cell, new_notebook
from sqlalchemy import func, select

from nbmlops.errors import GateFailed
from nbmlops.jobs import list_jobs, run_job, validate
from nbmlops.jobs.notebook import notebook_from_bytes
from nbmlops.jobs.validate import execution_order_check, parameters_check
from nbmlops.store.meta import jobs

REPORT_CELLS = [
    "total = sum(range(n))\nprint('total', total)",
    "total * 2",
    "import random\nprint(random.random())",
]


def _executed(path, cells, tags):
    """A notebook saved after a clean run, executed by nbclient (not by us)."""
    from nbclient import NotebookClient

    write_notebook(path, "n = 10", cells, tags=tags)
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=60).execute()
    nbformat.write(nb, str(path))
    return nb


def _nbval_outcomes(folder, *names):
    """What nbval --nbval-lax says about each notebook: True when all its cells pass."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "-o",
            "filterwarnings=ignore",
            "-rA",
            "-q",
            *names,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    return {
        n: not any(line.startswith("FAILED") and n in line for line in lines)
        and any(line.startswith("PASSED") and n in line for line in lines)
        for n in names
    }


@pytest.mark.slow
def test_output_comparison_agrees_with_nbval(workspace, tmp_path):
    tags = {0: ["nbval-check-output"], 1: ["nbval-check-output"]}  # the random cell is not compared
    good = _executed(tmp_path / "good.ipynb", REPORT_CELLS, tags)
    bad = copy.deepcopy(good)
    bad.cells[2].outputs[0].text = "total 44\n"  # a saved output the code does not produce
    nbformat.write(bad, str(tmp_path / "bad.ipynb"))

    passed = validate(tmp_path / "good.ipynb", progress=False)
    failed = validate(tmp_path / "bad.ipynb", progress=False)
    assert passed.passed and [c["status"] for c in passed.checks] == [
        "PASS",
        "PASS",
        "PASS",
        "PASS",
    ]
    assert not failed.passed
    assert failed.checks[-1] == {
        "check": "outputs match",
        "status": "FAIL",
        "detail": "Cell 3 now gives 'total 45\\n' for stdout where the saved notebook has "
        "'total 44\\n'.",
    }
    assert _nbval_outcomes(tmp_path, "good.ipynb", "bad.ipynb") == {
        "good.ipynb": True,
        "bad.ipynb": False,
    }

    # the validation runs are job runs of mode "validation"; the failed one says why
    modes = {j.run_id: (j.mode, j.status) for j in list_jobs().jobs}
    assert modes == {
        passed.run_id: ("validation", "FINISHED"),
        failed.run_id: ("validation", "FAILED"),
    }

    # --validated reuses the passing validation of the same content instead of running it again
    res = run_job(tmp_path / "good.ipynb", {"n": 4}, validated=True, progress=False)
    assert res.status == "FINISHED" and res.validated
    with workspace.store().read() as conn:
        assert conn.execute(select(func.count()).where(jobs.c.mode == "validation")).scalar() == 2


def test_validated_job_refuses_a_notebook_without_parameters_cell(workspace, tmp_path):
    nb = write_notebook(tmp_path / "loose.ipynb", None, ["x = 1"])
    with pytest.raises(
        GateFailed, match=r"^loose.ipynb did not pass validation \(No cell is tagged 'parameters'"
    ):
        run_job(nb, validated=True, progress=False)
    [validation] = list_jobs().jobs  # the validation is recorded; no job ran
    assert validation.mode == "validation" and validation.status == "FAILED"


def _saved(*counts):
    nb = new_notebook()
    for n in counts:
        cell = new_code_cell(f"x = {n}")
        cell.execution_count = n
        nb.cells.append(cell)
    return nb


@pytest.mark.parametrize(
    "counts, status, detail",
    [
        ((1, 2, 3), "PASS", "3 cells ran in order, In [1] to In [3]."),
        ((1, 3, 2), "FAIL", "Cell 3 (In [2]) was run before cell 2 (In [3]) above it"),
        ((4, 5, 9), "WARN", "Execution counts go from In [4] to In [9] over 3 cells"),
        ((1, None, 2), "WARN", "Cell 2 was not run when the notebook was saved"),
        ((None, None), "SKIP", "The saved notebook has no execution counts"),
    ],
)
def test_saved_execution_order(counts, status, detail):
    check = execution_order_check(_saved(*counts))
    assert check["status"] == status and check["detail"].startswith(detail)


def test_parameters_cell_checks():
    def nb(source, tagged=True):
        node = new_notebook(cells=[new_code_cell(source)])
        if tagged:
            node.cells[0].metadata["tags"] = ["parameters"]
        node.metadata["kernelspec"] = {"name": "python3", "language": "python"}
        return notebook_from_bytes(nbformat.writes(node).encode(), "/x/nb.ipynb")

    assert parameters_check(nb("C = 1", tagged=False))[0]["status"] == "FAIL"
    assert parameters_check(nb("C = 1\npenalty = 'l2'")) == [
        {"check": "parameters cell", "status": "PASS", "detail": "cell 1 declares: C, penalty."}
    ]
    odd = parameters_check(nb("C = 1\nprint(C)"))
    assert odd[1]["status"] == "WARN" and "line 2: print(C)" in odd[1]["detail"]
