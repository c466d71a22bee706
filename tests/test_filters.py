"""The filter language and sorting, checked against plain-Python predicates over what was logged."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

import nbmlops as mo
from nbmlops.errors import InvalidInput
from nbmlops.tracking import filters


@pytest.fixture
def logged(backend):
    """40 runs with mixed params, metrics (some NaN or missing) and tags; returns what was
    logged."""
    rng = np.random.default_rng(7)
    truth = []
    for i in range(40):
        params = {
            "C": float(rng.choice([0.01, 0.1, 0.5, 1.0, 10.0])),
            "penalty": str(rng.choice(["l1", "l2"])),
        }
        if i % 3:
            params["depth"] = int(rng.integers(1, 8))
        metrics = {
            "accuracy": float(rng.random()) if i % 7 else math.nan,
            "val loss": float(rng.random()),
        }
        if i % 5 == 0:
            del metrics["val loss"]
        tags = {"team": str(rng.choice(["risk", "fraud"]))}
        with mo.start_run(name=f"run-{i:02d}", tags=tags) as run:
            mo.log_params(params)
            mo.log_metrics(metrics)
        truth.append(
            {
                "id": run.id,
                "name": f"run-{i:02d}",
                "params": params,
                "metrics": metrics,
                "tags": tags,
            }
        )
    return truth


def _ids(text: str) -> set[str]:
    return {r["id"] for r in mo.list_runs(text, limit=1000).runs}


def _metric(run: dict, key: str) -> float | None:
    value = run["metrics"].get(key)
    return None if value is None or math.isnan(value) else value


ORACLES = {
    "metrics.accuracy > 0.5": lambda r: (_metric(r, "accuracy") or -1) > 0.5,
    "metrics.accuracy <= 0.5 and params.penalty = 'l1'": lambda r: (
        _metric(r, "accuracy") is not None
        and _metric(r, "accuracy") <= 0.5
        and r["params"]["penalty"] == "l1"
    ),
    "params.C >= 0.5 or tags.team = 'fraud'": lambda r: (
        r["params"]["C"] >= 0.5 or r["tags"]["team"] == "fraud"
    ),
    "params.C in (0.01, 10)": lambda r: r["params"]["C"] in (0.01, 10.0),
    "params.penalty not in ('l1')": lambda r: r["params"]["penalty"] != "l1",
    "params.depth > 3": lambda r: r["params"].get("depth", 0) > 3,
    "not (params.depth > 3)": lambda r: not r["params"].get("depth", 0) > 3,
    "metrics.`val loss` < 0.3": lambda r: (
        (_metric(r, "val loss") if _metric(r, "val loss") is not None else 9) < 0.3
    ),
    "attributes.name like 'run-1%'": lambda r: r["name"].startswith("run-1"),
    "name ilike 'RUN-0%' and m.accuracy != 0.5": lambda r: (
        r["name"].startswith("run-0") and _metric(r, "accuracy") is not None
    ),
    "tags.team = 'risk' and (params.C < 0.1 or params.C > 1)": lambda r: (
        r["tags"]["team"] == "risk" and (r["params"]["C"] < 0.1 or r["params"]["C"] > 1)
    ),
    "attributes.status = 'finished'": lambda r: True,
    "attributes.status = 'FAILED'": lambda r: False,
    "attributes.name like 'RUN-1%'": lambda r: False,  # like is case-sensitive on every backend
}


def test_filters_match_a_python_oracle(logged):
    for text, predicate in ORACLES.items():
        assert _ids(text) == {r["id"] for r in logged if predicate(r)}, text
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert _ids(f"attributes.start_time < '{tomorrow}'") == {r["id"] for r in logged}
    assert _ids(f"attributes.start_time > '{tomorrow}'") == set()
    _check_sorting(logged)


def _check_sorting(logged):
    listed = mo.list_runs(sort="-metrics.accuracy", limit=1000).runs
    got = [r["metrics"].get("accuracy") for r in listed]
    present = [v for v in got if v is not None and not math.isnan(v)]
    assert present == sorted(
        (_metric(r, "accuracy") for r in logged if _metric(r, "accuracy") is not None), reverse=True
    )
    assert all(v is None or math.isnan(v) for v in got[len(present) :])
    # two keys: C ascending, then accuracy descending with missing accuracy last
    listed = mo.list_runs(sort=["params.C", "-metrics.accuracy"], limit=1000).runs
    keys = [
        (
            r["params"]["C"],
            -(_metric(r, "accuracy") if _metric(r, "accuracy") is not None else -math.inf),
        )
        for r in listed
    ]
    assert keys == sorted(keys)
    # pages cover every run exactly once
    seen = []
    for offset in range(0, 40, 15):
        page = mo.list_runs(sort="-metrics.accuracy", limit=15, offset=offset)
        assert page.total == 40
        seen += [r["id"] for r in page.runs]
    assert sorted(seen) == sorted(r["id"] for r in logged)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("metrics.accuracy >", "at position 19: expected a number or a quoted string after '>'"),
        ("accuracy > 1", "at position 1: unknown field 'accuracy'"),
        ("metrics.a > 1 and", "at position 18: expected a field"),
        ("metrics.a ! 1", "at position 11: unexpected character '!'"),
        ("(metrics.a > 1", "at position 15: expected ')'"),
        ("metrics.a > 1 metrics.b > 2", "at position 15: expected 'and', 'or' or the end"),
        ("params.a like 3", "'like' needs a quoted pattern"),
        ("metrics.a = 'x'", "metrics.a compares with numbers"),
        ("attributes.start_time > 'yesterday'", "compares with a date"),
        ("params.a not = 1", "expected 'in' or 'like' after 'not'"),
    ],
)
def test_syntax_errors_point_at_the_position(workspace, text, message):
    with pytest.raises(InvalidInput) as info:
        mo.list_runs(text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_sort_attribute(workspace):
    with pytest.raises(InvalidInput, match="Cannot sort by unknown attribute 'colour'"):
        filters.parse_sort("attributes.colour")
