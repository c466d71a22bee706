"""Evaluations round-trip through the store on every backend, attached to the active run."""

import pytest

import nbmlops as mo
from nbmlops.errors import InvalidInput, NotFound
from nbmlops.evaluate.storage import get_evaluation, list_evaluations, record_evaluation


def test_report_round_trip_and_run_link(backend):
    with mo.start_run(name="eval") as run:
        eid = record_evaluation(
            "bias",
            subject={"model": "churn@1"},
            summary={"dp_ratio": 0.71},
            report={"groups": {"F": 0.3, "M": 0.42}, "nan": float("nan")},
            passed=False,
        )
    got = get_evaluation(eid)
    assert got.kind == "bias" and got.passed is False and got.run_id == run.id
    assert got.report["groups"] == {"F": 0.3, "M": 0.42}
    assert got.report["nan"] != got.report["nan"]  # NaN survives the round trip
    assert [e.id for e in list_evaluations("bias")] == [eid]
    assert list_evaluations("drift") == []


def test_bad_kind_and_unknown_id(workspace):
    with pytest.raises(InvalidInput, match="Unknown evaluation kind"):
        record_evaluation("vibes", subject={}, summary={}, report={})
    with pytest.raises(NotFound, match="No evaluation has id 999"):
        get_evaluation(999)
