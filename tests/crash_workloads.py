"""Crash workloads of the data and jobs concepts: dataset commits and notebook jobs, SIGKILLed at
random moments.

Registered with :func:`crash_harness.workload`; a test lists this module in
``crash(..., modules=["crash_workloads"])`` so the forkserver preloads pandas
and papermill once, and imports it so the checks are registered in the test
process too.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
from crash_harness import Journal, workload
from jobs_notebooks import write_notebook

import nbmlops as mo
from nbmlops import data, jobs  # noqa: F401 - preloaded by the forkserver

DATASET = "crash-loans"
JOB_NOTEBOOK = "crash-job.ipynb"


def version_frame(seed: int) -> pd.DataFrame:
    """The frame a commit with this seed stores: mixed dtypes, a datetime and a categorical, 1 to
    5,000 rows."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5_000))
    return pd.DataFrame(
        {
            "loan_id": np.arange(seed % 1000, seed % 1000 + n, dtype="int64"),
            "amount": rng.normal(10_000, 2_500, n).round(2),
            "region": pd.Categorical(rng.choice(["north", "south", "east", "west"], n)),
            "approved": rng.random(n) < 0.6,
            "opened": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
            "note": rng.choice(["", "late", "early", None], n),
        }
    )


def frame_digest(frame: pd.DataFrame) -> str:
    return format(int(pd.util.hash_pandas_object(frame, index=True).sum()) & (2**64 - 1), "016x")


@workload("data commits")
def commit_versions(journal: Journal, rng: random.Random, state: dict[str, Any]) -> None:
    """Commit the next version of one dataset; the seed is the message, so every stored version
    can be regenerated."""
    seed = rng.getrandbits(32)
    frame = version_frame(seed)
    done = mo.data.commit(frame, DATASET, message=f"seed {seed}")
    journal.record(ref=done.ref, seed=seed, digest=frame_digest(frame), unchanged=done.unchanged)


@commit_versions.checker
def _check_versions(store: Any, entries: list[dict[str, Any]]) -> None:
    from pandas.testing import assert_frame_equal
    from sqlalchemy import select

    from nbmlops.store import meta

    for e in entries:
        expected = version_frame(e["seed"])
        assert frame_digest(expected) == e["digest"], "the generator is not deterministic"
        assert_frame_equal(mo.data.load(e["ref"], store=store), expected)
    with store.read() as conn:
        stored = conn.execute(
            select(meta.dataset_versions.c.version, meta.dataset_versions.c.message)
            .join(meta.datasets)
            .where(meta.datasets.c.name == DATASET)
        ).all()
    assert sorted(v for v, _ in stored) == list(range(1, len(stored) + 1)), (
        "version numbers have a gap"
    )
    # also the versions committed just before a kill, never journaled
    for (
        version,
        message,
    ) in stored:
        assert_frame_equal(
            mo.data.load(f"{DATASET}@{version}", store=store),
            version_frame(int(message.split()[1])),
        )
    assert {e["ref"] for e in entries} <= {f"{DATASET}@{v}" for v, _ in stored}


def write_job_notebook(root: Path) -> Path:
    """A notebook that logs its parameter back as a metric; kernels start in about a second, so
    kills land anywhere."""
    return write_notebook(
        root / JOB_NOTEBOOK,
        "value = 0",
        [
            "import nbmlops as mo\nmo.log_metric('value', value)\nprint('value', value)",
        ],
    )


@workload("jobs")
def run_jobs(journal: Journal, rng: random.Random, state: dict[str, Any]) -> None:
    """Execute the job notebook with a random parameter (the test wrote it into the workspace)."""
    value = rng.getrandbits(16)
    done = mo.run_job(JOB_NOTEBOOK, {"value": value}, progress=False)
    journal.record(run=done.run_id, value=value, status=done.status)


@run_jobs.checker
def _check_jobs(store: Any, entries: list[dict[str, Any]]) -> None:
    from sqlalchemy import select

    from nbmlops.store import meta

    with store.read() as conn:
        rows = conn.execute(
            select(
                meta.runs.c.id,
                meta.runs.c.status,
                meta.jobs.c.output_digest,
                meta.jobs.c.parameters,
            ).join(meta.jobs, meta.jobs.c.run_id == meta.runs.c.id)
        ).all()
    by_id = {r.id: r for r in rows}
    assert all(r.status in ("FINISHED", "FAILED", "KILLED") for r in rows), {
        r.id[:8]: r.status for r in rows
    }
    for e in entries:  # the notebook cannot fail: every job the call reported is FINISHED
        assert e["status"] == "FINISHED" and by_id[e["run"]].status == "FINISHED", e
    for row in rows:
        if row.status != "FINISHED":
            continue
        executed = nbformat.reads(
            store.objects.get(row.output_digest, verify=True).decode(), as_version=4
        )
        value = json.loads(row.parameters)["value"]
        printed = "".join(
            o.get("text", "")
            for c in executed.cells
            if c.cell_type == "code"
            for o in c.get("outputs", [])
        )
        assert f"value {value}" in printed, (
            f"job {row.id[:8]}: its output notebook lacks its own result"
        )
        metrics = {m["key"]: m["last"] for m in mo.get_run(row.id, store=store).metrics}
        assert metrics["value"] == value
