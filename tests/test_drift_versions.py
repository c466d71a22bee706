"""Dataset versions as drift inputs, through the data module's contract (resolve, load,
iter_batches).

Versions are committed through the real data module: ``@latest`` is pinned,
large versions are read in batches, and the stored report records which version.
"""

import numpy as np
import pandas as pd
import pytest

import nbmlops as mo
from nbmlops.drift import sources
from nbmlops.errors import NotFound


@pytest.fixture
def versions(workspace):
    rng = np.random.default_rng(0)
    frames = {
        1: pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)}),
        2: pd.DataFrame({"x": rng.normal(1, 1, size=2000), "c": rng.choice(["a", "b"], 2000)}),
    }
    for version, frame in frames.items():
        mo.data.commit(frame, "loans", message=f"batch {version}")
    return frames


def test_versions_are_pinned_loaded_or_read_in_batches(workspace, versions, monkeypatch):
    report = mo.drift.compare("loans@1", "loans@latest")
    assert report.reference["ref"] == "loans@1" and report.current["label"] == "loans@2"
    stored = mo.evaluate.open_report(report.evaluation_id)
    info = mo.data.resolve("loans@2")
    assert stored.subject["current"] == {
        "ref": "loans@2",
        "dataset_version_id": info.id,
        "digest": info.digest,
        "rows": 2000,
    }
    assert report.drifted_columns == ["x"]
    monkeypatch.setattr(sources, "MEMORY_CELLS", 1000)
    batched = mo.drift.compare("loans@1", "loans@2", batch_rows=700, record=False)
    assert batched.mode == "in batches (5 + 3)"
    assert batched.column("c")["stats"]["chi2"] == report.column("c")["stats"]["chi2"]


def test_monitors_pin_the_reference_version_and_pass_the_batch_version_to_the_policy(
    workspace, versions
):
    mo.monitor.create("m", reference="loans@latest", max_drift_share=0.4)
    assert mo.monitor.show("m").reference == "loans@2"
    result = mo.monitor.check("m", "loans@1")
    assert result.data_ref == "loans@1" and result.status == "ALERT"
    with pytest.raises(NotFound, match=r"^loans has versions 1 to 2; there is no loans@9\.$"):
        mo.monitor.check("m", "loans@9")


def test_a_run_reads_its_versions_only_when_the_comparison_succeeds(workspace, versions):
    """A drift check that refuses its input leaves no lineage; a finished one (batched or not)
    records both sides once."""
    from sqlalchemy import select

    from nbmlops.errors import InvalidInput
    from nbmlops.store import meta

    def inputs(run_id: str) -> list[str]:
        with workspace.store().read() as conn:
            rows = conn.execute(
                select(meta.dataset_versions.c.version)
                .join(meta.lineage, meta.lineage.c.entity_id == meta.dataset_versions.c.id)
                .where(meta.lineage.c.run_id == run_id, meta.lineage.c.direction == "input")
            ).scalars()
            return sorted(f"loans@{v}" for v in rows)

    with mo.start_run(name="refused") as refused:
        with pytest.raises(InvalidInput):
            mo.drift.compare("loans@1", "loans@2", columns=["nosuch"], record=False)
    assert inputs(refused.id) == []
    with mo.start_run(name="compared") as compared:
        mo.drift.compare("loans@1", "loans@2", record=False)
        mo.drift.compare("loans@2", "loans@1", chunked=True, record=False)
    assert inputs(compared.id) == ["loans@1", "loans@2"]
