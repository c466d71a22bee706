"""Dataset versions as drift inputs, through the data module's contract (resolve, load, iter_batches).

The data module is built in parallel; this stand-in implements exactly the
contract drift relies on, so the wiring (pinning ``@latest``, choosing memory or
batches, what the stored report records) is checked now.
"""

import dataclasses
import sys
import types

import numpy as np
import pandas as pd
import pytest

import nbmlops as mo
from nbmlops.drift import sources
from nbmlops.errors import NotFound


@dataclasses.dataclass
class VersionInfo:
    id: int
    name: str
    version: int
    digest: str
    rows: int
    columns: int
    ref: str
    created_at: float


@pytest.fixture
def versions(monkeypatch):
    rng = np.random.default_rng(0)
    frames = {1: pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)}),
              2: pd.DataFrame({"x": rng.normal(1, 1, size=2000), "c": rng.choice(["a", "b"], 2000)})}
    calls = []

    def resolve(ref):
        name, _, selector = ref.partition("@")
        version = max(frames) if selector in ("", "latest") else int(selector)
        if name != "loans" or version not in frames:
            raise NotFound(f"No dataset version {ref!r}.")
        frame = frames[version]
        return VersionInfo(version, name, version, f"digest{version}", len(frame), frame.shape[1], f"{name}@{version}", 0.0)

    def load(ref):
        calls.append(("load", ref))
        return frames[resolve(ref).version]

    def iter_batches(ref, columns=None, rows=None):
        calls.append(("iter_batches", ref, tuple(columns or ()), rows))
        frame = frames[resolve(ref).version]
        frame = frame if columns is None else frame[[c for c in columns if c in frame]]
        return (frame.iloc[i:i + rows] for i in range(0, len(frame), rows))

    fake = types.ModuleType("nbmlops.data")
    fake.resolve, fake.load, fake.iter_batches = resolve, load, iter_batches
    monkeypatch.setitem(sys.modules, "nbmlops.data", fake)
    return calls


def test_versions_are_pinned_loaded_or_read_in_batches(workspace, versions, monkeypatch):
    report = mo.drift.compare("loans@1", "loans@latest")
    assert versions == [("load", "loans@1"), ("load", "loans@2")]
    assert report.reference["ref"] == "loans@1" and report.current["label"] == "loans@2"
    stored = mo.evaluate.open_report(report.evaluation_id)
    assert stored.subject["current"] == {"ref": "loans@2", "dataset_version_id": 2, "digest": "digest2", "rows": 2000}
    assert report.drifted_columns == ["x"]
    monkeypatch.setattr(sources, "MEMORY_CELLS", 1000)
    versions.clear()
    batched = mo.drift.compare("loans@1", "loans@2", batch_rows=700, record=False)
    assert batched.mode == "in batches (5 + 3)"
    assert ("iter_batches", "loans@2", (), 700) in versions
    assert batched.column("c")["stats"]["chi2"] == report.column("c")["stats"]["chi2"]


def test_monitors_pin_the_reference_version_and_pass_the_batch_version_to_the_policy(workspace, versions):
    mo.monitor.create("m", reference="loans@latest", max_drift_share=0.4)
    assert mo.monitor.show("m").reference == "loans@2"
    result = mo.monitor.check("m", "loans@1")
    assert result.data_ref == "loans@1" and result.status == "ALERT"
    with pytest.raises(NotFound, match="No dataset version 'loans@9'"):
        mo.monitor.check("m", "loans@9")
