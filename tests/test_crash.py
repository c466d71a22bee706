"""Writers killed with SIGKILL at random moments leave a store with no damage and nothing committed
lost.

The harness and the foundation's workloads are in ``crash_harness.py``; later
concepts add their workloads there or in their own modules.
"""

from __future__ import annotations

import os

import crash_workloads  # noqa: F401 - registers the data and jobs workloads and their checks
import pytest
from crash_harness import check_store, crash
from crash_workloads import write_job_notebook

SOAK = bool(os.environ.get("MLOPS_SOAK"))
soak = pytest.mark.skipif(not SOAK, reason="soak runs only under `make soak` (MLOPS_SOAK=1)")
FOUNDATION = ["metrics", "artifacts", "runs", "evaluations"]
WORKLOADS = ["crash_workloads"]


@pytest.mark.slow
def test_50_kills_on_sqlite_and_a_local_folder(workspace):
    names = [*FOUNDATION, "data commits"]
    journal = crash(workspace.root, names, kills=50, seed=1, modules=WORKLOADS)
    figures = check_store(workspace.store(), journal)
    assert figures["run_rows"] >= 50 and all(figures[name] for name in names), figures


@pytest.mark.slow
def test_8_kills_while_running_notebook_jobs(workspace):
    """Kernels take about a second to start, so the kills come later, landing before, during and
    after execution."""
    write_job_notebook(workspace.root)
    journal = crash(
        workspace.root, ["jobs"], kills=8, seed=5, min_delay=1.0, max_delay=8.0, modules=WORKLOADS
    )
    figures = check_store(workspace.store(), journal)
    assert figures["run_rows"] >= 8 and figures["jobs"], figures


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.s3
@pytest.mark.parametrize("backend", ["postgres-s3"], indirect=True)
def test_20_kills_on_postgres_and_s3(backend):
    journal = crash(backend.root, FOUNDATION, kills=20, seed=2, env=_service_env(backend))
    figures = check_store(backend.store(), journal)
    assert figures["run_rows"] >= 20 and all(figures[name] for name in FOUNDATION), figures


def _service_env(workspace):
    """The children find the workspace through MLOPS_HOME; AWS settings come from
    tools/with-services."""
    return {"MLOPS_HOME": str(workspace.root)}


@pytest.mark.soak
@soak
def test_soak_500_kills_on_sqlite(workspace):
    journal = crash(workspace.root, FOUNDATION, kills=500, seed=3, max_delay=1.0)
    check_store(workspace.store(), journal)


@pytest.mark.soak
@soak
@pytest.mark.parametrize("backend", ["postgres-s3"], indirect=True)
def test_soak_200_kills_on_postgres_and_s3(backend):
    journal = crash(
        backend.root, FOUNDATION, kills=200, seed=4, max_delay=1.0, env=_service_env(backend)
    )
    check_store(backend.store(), journal)
