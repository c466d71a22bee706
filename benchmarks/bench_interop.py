#!/usr/bin/env python3
"""Moving history to and from MLflow: nbmlops export/import vs the same work done by hand with
MLflow's client.

Workload: R runs (default 50), each with 10 params, 2 tags and M metric points (default 1,000,
seeded values).
  1. export: ``mo.interop.export_mlflow`` into a fresh MLflow sqlite store, against writing the same
  runs with
     ``MlflowClient.create_run`` + ``log_batch`` (1,000 points per call) + ``set_terminated`` into
     another fresh
     store: the least any migration script has to do.
  2. import: ``mo.interop.import_mlflow`` of that store into a fresh workspace, against reading the
  same history
     with MLflow's client (``search_runs`` + ``get_metric_history`` per metric): the least any
     reader does.
Both stores are created (schema migrated) before the clock starts. Prints times and ratios, then one
JSON line.

Usage: python benchmarks/bench_interop.py [--runs 50] [--points 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import warnings

import numpy as np


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def fresh_store(folder: str) -> str:
    from mlflow import MlflowClient

    uri = f"sqlite:///{folder}/mlflow.db"
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri


def workspace_history(root: str, values: np.ndarray, n_runs: int) -> None:
    import nbmlops as mo

    os.chdir(root)
    mo.init(root)
    for r in range(n_runs):
        with mo.start_run(name=f"run-{r}", tags={"team": "risk", "fold": str(r % 5)}) as run:
            run.log_params({f"p{i}": float(values[r, i]) for i in range(10)})
            for step, value in enumerate(values[r].tolist()):
                run.log_metric("loss", value, step=step)


def by_hand_export(uri: str, values: np.ndarray, n_runs: int) -> float:
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    client = MlflowClient(tracking_uri=uri)
    started = time.perf_counter()
    experiment = client.create_experiment(
        "bench", artifact_location=uri.replace("sqlite:///", "").replace("mlflow.db", "art")
    )
    now = int(time.time() * 1000)
    for r in range(n_runs):
        run = client.create_run(experiment, start_time=now, run_name=f"run-{r}")
        client.log_batch(
            run.info.run_id,
            params=[Param(f"p{i}", repr(float(values[r, i]))) for i in range(10)],
            tags=[RunTag("team", "risk"), RunTag("fold", str(r % 5))],
        )
        points = [Metric("loss", v, now + s, s) for s, v in enumerate(values[r].tolist())]
        for start in range(0, len(points), 1000):
            client.log_batch(run.info.run_id, metrics=points[start : start + 1000])
        client.set_terminated(run.info.run_id, "FINISHED", end_time=now + 1)
    return time.perf_counter() - started


def by_hand_read(uri: str) -> tuple[float, int]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    started = time.perf_counter()
    points = 0
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id], max_results=5000):
            for key in run.data.metrics:
                points += len(client.get_metric_history(run.info.run_id, key))
    return time.perf_counter() - started, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--points", type=int, default=1000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ["TQDM_DISABLE"] = "1"
    import nbmlops as mo

    values = np.random.default_rng(0).normal(size=(args.runs, args.points))
    with tempfile.TemporaryDirectory() as tmp:
        source, target, hand, fresh = (
            os.path.join(tmp, d) for d in ("source", "mlflow", "hand", "fresh")
        )
        for folder in (source, target, hand, fresh):
            os.makedirs(folder)
        workspace_history(source, values, args.runs)
        log("workspace ready; creating MLflow stores")
        uri, hand_uri = fresh_store(target), fresh_store(hand)

        started = time.perf_counter()
        exported = mo.interop.export_mlflow(uri, experiment="bench")
        ours_export = time.perf_counter() - started
        theirs_export = by_hand_export(hand_uri, values, args.runs)
        assert exported.metric_points == args.runs * args.points

        os.chdir(fresh)
        mo.init(fresh)
        started = time.perf_counter()
        imported = mo.interop.import_mlflow(uri)
        ours_import = time.perf_counter() - started
        theirs_read, points = by_hand_read(uri)
        assert imported.metric_points == points == args.runs * args.points
        os.chdir(tmp)

    rows = [
        (f"export {args.runs} runs x {args.points} points", ours_export, theirs_export),
        (f"import {args.runs} runs x {args.points} points", ours_import, theirs_read),
    ]
    print(f"{'workload':40} {'nbmlops':>10} {'by hand':>10} {'ratio':>8}")
    for name, mine, theirs in rows:
        print(f"{name:40} {mine:>9.2f}s {theirs:>9.2f}s {mine / theirs:>7.2f}x")
    print(
        "by hand: the same writes with MlflowClient.log_batch; the same reads with search_runs + "
        "get_metric_history "
        "(import also writes everything into the workspace)"
    )
    print(
        json.dumps(
            {
                "bench": "interop",
                "runs": args.runs,
                "points": args.points,
                "nbmlops": {"export_s": ours_export, "import_s": ours_import},
                "mlflow_by_hand": {"export_s": theirs_export, "read_s": theirs_read},
                "ratios": {
                    "export": ours_export / theirs_export,
                    "import": ours_import / theirs_read,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
