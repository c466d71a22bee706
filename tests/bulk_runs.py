"""Many finished runs written in a few bulk inserts (10,000 runs in about a second), seeded.

Logging 10,000 runs one by one takes over a minute; the panels' tests and
benchmark need the volume, not the logging path (tests/test_tracking.py covers
that). Rows go through the store's own write transaction, with one audit event
for the batch.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # generate() runs in the peers' venv too, which has no nbmlops
    from sqlalchemy import Connection, Table

    from nbmlops.store import Store

PENALTIES = ["l1", "l2", "elasticnet"]
MODELS = ["rf", "gbm", "logreg", "svm"]


def generate(n: int, *, n_params: int = 20, n_metrics: int = 10, seed: int = 0) -> dict[str, Any]:
    """The runs' values, seeded: ids, text params, number params, accuracy and the other metrics."""
    rng = np.random.default_rng(seed)
    return {
        "ids": [uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i).hex for i in range(n)],
        "accuracy": rng.uniform(0.6, 0.99, n).tolist(),
        "numbers": rng.uniform(0, 10, (n, max(0, n_params - 2))).round(4).tolist(),
        "others": rng.normal(0, 1, (n, n_metrics)).tolist(),
        "models": [MODELS[i % len(MODELS)] for i in range(n)],
        "penalties": [PENALTIES[i % len(PENALTIES)] for i in range(n)],
    }


def metric_key(j: int) -> str:
    return "accuracy" if j == 0 else "loss" if j == 1 else f"m{j}"


def loss_value(accuracy: float, step: int) -> float:
    return float(1.0 - accuracy + 1.0 / (step + 1))


def bulk_runs(
    store: Store,
    n: int,
    *,
    n_params: int = 20,
    n_metrics: int = 10,
    loss_steps: int = 10,
    seed: int = 0,
    start: float = 1.7e9,
) -> list[str]:
    """Write ``n`` finished runs with ``n_params`` params and ``n_metrics`` metrics each; returns
    their ids.

    Params: ``model`` and ``penalty`` (text), ``p2``... (numbers). Metrics: ``accuracy``
    (one point), ``loss`` (``loss_steps`` points, falling), ``m2``... (one point).
    """
    from nbmlops.store import meta

    data = generate(n, n_params=n_params, n_metrics=n_metrics, seed=seed)
    ids, accuracy, numbers, others = data["ids"], data["accuracy"], data["numbers"], data["others"]
    starts = start + np.arange(n) * 60.0
    run_rows, param_rows, metric_rows, latest_rows = [], [], [], []
    for i, run_id in enumerate(ids):
        t0 = float(starts[i])
        run_rows.append(
            {
                "id": run_id,
                "name": f"run-{i:05d}",
                "kind": "run",
                "status": "FINISHED",
                "parent_id": None,
                "username": "tester",
                "host": "bench",
                "pid": None,
                "pid_start": None,
                "start_time": t0,
                "end_time": t0 + 30.0,
                "heartbeat": t0 + 30.0,
                "notes": "",
                "context": None,
                "error": None,
            }
        )
        for key, text in (("model", data["models"][i]), ("penalty", data["penalties"][i])):
            param_rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "value": text,
                    "value_json": json.dumps(text),
                    "value_num": None,
                    "note": None,
                }
            )
        for j, number in enumerate(numbers[i], start=2):
            param_rows.append(
                {
                    "run_id": run_id,
                    "key": f"p{j}",
                    "value": repr(number),
                    "value_json": repr(number),
                    "value_num": number,
                    "note": None,
                }
            )
        for j in range(n_metrics):
            key = metric_key(j)
            steps = loss_steps if key == "loss" else 1
            last = 0.0
            for step in range(steps):
                last = (
                    float(accuracy[i])
                    if key == "accuracy"
                    else (loss_value(accuracy[i], step) if key == "loss" else j + others[i][j])
                )
                metric_rows.append(
                    {
                        "run_id": run_id,
                        "key": key,
                        "value": last,
                        "step": step,
                        "timestamp": t0 + step,
                    }
                )
            latest_rows.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "value": last,
                    "step": steps - 1,
                    "timestamp": t0 + steps - 1,
                    "count": steps,
                }
            )
    with store.write() as conn:
        for table, rows in (
            (meta.runs, run_rows),
            (meta.params, param_rows),
            (meta.metrics, metric_rows),
            (meta.latest_metrics, latest_rows),
        ):
            _insert_many(conn, table, rows)
        store.audit(conn, "run.import", "run", ids[0], runs=n, note="bulk test data")
    return ids


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """One driver-level executemany (SQLAlchemy's per-row parameter processing is most of the
    time)."""
    names = list(rows[0])
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(mark for _ in names)})"
    conn.exec_driver_sql(sql, [tuple(r[n] for n in names) for r in rows])
