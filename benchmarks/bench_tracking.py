#!/usr/bin/env python3
"""nbmlops tracking vs MLflow (SQLite stores both), side by side in one run.

Workloads (as in /work/shared/peers/tracking_mlflow.py):
  1. N log_metric calls in a loop (default 10,000), then end the run; every point must read back.
  2. Read back the N-point metric history.
  3. R runs (default 1,000) with 10 params and 5 metrics each, then a filter + sort query over them.
Prints a table of times and ratios, then one JSON line.

Usage: python benchmarks/bench_tracking.py [--n 10000] [--runs 1000] [--mlflow-n 2000]
       (--mlflow-n: MLflow's per-call loop is timed on fewer calls, ~5 ms each, and scaled)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def bench_nbmlops(root: str, values: np.ndarray, n_runs: int) -> dict:
    os.chdir(root)
    import nbmlops as mo

    mo.init(root)
    res: dict = {}
    vals = values.tolist()
    with mo.start_run(name="bench") as run:
        t = time.perf_counter()
        for i in range(len(vals)):
            mo.log_metric("loss", vals[i], step=i)
        res["log_metric_loop_s"] = time.perf_counter() - t
        t = time.perf_counter()
    res["end_run_flush_s"] = time.perf_counter() - t
    res["log_metric_per_call_us"] = res["log_metric_loop_s"] / len(vals) * 1e6
    times = []
    for _ in range(5):
        t = time.perf_counter()
        history = mo.metric_history(run.id, "loss")
        times.append(time.perf_counter() - t)
    res["history_read_s"] = statistics.median(times)
    res["history_ok"] = history.steps == list(range(len(vals))) and np.allclose(
        history.values, vals
    )

    rng = np.random.default_rng(1)
    t = time.perf_counter()
    for r in range(n_runs):
        with mo.start_run(name=f"r{r}"):
            mo.log_params({f"p{k}": float(rng.random()) for k in range(10)})
            mo.log_metrics({f"m{k}": float(rng.random()) for k in range(5)})
    res["create_runs_s"] = time.perf_counter() - t
    times = []
    for _ in range(3):
        t = time.perf_counter()
        found = mo.list_runs("metrics.m0 > 0.5", sort="-metrics.m1", limit=n_runs)
        times.append(time.perf_counter() - t)
    res["query_s"] = statistics.median(times)
    res["query_hits"] = len(found.runs)
    return res


def bench_mlflow(root: str, values: np.ndarray, n_loop: int, n_runs: int) -> dict:
    os.chdir(root)
    warnings.filterwarnings("ignore")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    os.environ["MLFLOW_ENABLE_ASYNC_LOGGING"] = "false"
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{root}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    client.search_experiments()
    mlflow.set_experiment("bench")
    res: dict = {}
    vals = values.tolist()
    with mlflow.start_run() as run:
        t = time.perf_counter()
        for i in range(n_loop):
            mlflow.log_metric("loss", vals[i], step=i)
        res["log_metric_loop_s"] = time.perf_counter() - t
        res["log_metric_per_call_us"] = res["log_metric_loop_s"] / n_loop * 1e6
        # the rest of the history, in batches, so the read-back covers all N points
        from mlflow.entities import Metric

        ts = int(time.time() * 1000)
        rest = [Metric("loss", vals[i], ts, i) for i in range(n_loop, len(vals))]
        for k in range(0, len(rest), 1000):
            client.log_batch(run.info.run_id, metrics=rest[k : k + 1000])
    times = []
    for _ in range(3):
        t = time.perf_counter()
        history = client.get_metric_history(run.info.run_id, "loss")
        times.append(time.perf_counter() - t)
    res["history_read_s"] = statistics.median(times)
    res["history_ok"] = len(history) == len(vals)

    rng = np.random.default_rng(1)
    t = time.perf_counter()
    for r in range(n_runs):
        with mlflow.start_run(run_name=f"r{r}"):
            mlflow.log_params({f"p{k}": float(rng.random()) for k in range(10)})
            mlflow.log_metrics({f"m{k}": float(rng.random()) for k in range(5)})
    res["create_runs_s"] = time.perf_counter() - t
    times = []
    for _ in range(3):
        t = time.perf_counter()
        found = mlflow.search_runs(
            filter_string="metrics.m0 > 0.5", order_by=["metrics.m1 DESC"], max_results=n_runs + 1
        )
        times.append(time.perf_counter() - t)
    res["query_s"] = statistics.median(times)
    res["query_hits"] = len(found)
    return res


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", "--size", type=int, default=10_000, help="metric points")
    parser.add_argument("--runs", type=int, default=1_000, help="runs to create and query")
    parser.add_argument(
        "--mlflow-n",
        type=int,
        default=2_000,
        help="MLflow log_metric calls timed one by one (about 5 ms each); per-call cost is "
        "compared",
    )
    args = parser.parse_args()
    values = np.random.default_rng(0).random(args.n)
    with (
        tempfile.TemporaryDirectory(prefix="bench-nbmlops-") as a,
        tempfile.TemporaryDirectory(prefix="bench-mlflow-") as b,
    ):
        log(f"nbmlops: {args.n} log_metric, history, {args.runs} runs ...")
        ours = bench_nbmlops(a, values, args.runs)
        log(
            f"mlflow: {args.mlflow_n} log_metric (per call), history of {args.n}, {args.runs} "
            "runs ..."
        )
        peer = bench_mlflow(b, values, min(args.mlflow_n, args.n), args.runs)
    ratios = {
        "log_metric_per_call": peer["log_metric_per_call_us"] / ours["log_metric_per_call_us"],
        "history_read": peer["history_read_s"] / ours["history_read_s"],
        "create_runs": peer["create_runs_s"] / ours["create_runs_s"],
        "query": peer["query_s"] / ours["query_s"],
    }
    rows = [
        (
            "log_metric, per call",
            f"{ours['log_metric_per_call_us']:.2f} us",
            f"{peer['log_metric_per_call_us']:.0f} us",
            ratios["log_metric_per_call"],
            ">= 500x",
        ),
        (
            f"read {args.n}-point history",
            f"{ours['history_read_s'] * 1000:.1f} ms",
            f"{peer['history_read_s'] * 1000:.1f} ms",
            ratios["history_read"],
            ">= 10x",
        ),
        (
            f"create {args.runs} runs (10 params, 5 metrics)",
            f"{ours['create_runs_s']:.2f} s",
            f"{peer['create_runs_s']:.2f} s",
            ratios["create_runs"],
            "report",
        ),
        (
            "filter + sort over them",
            f"{ours['query_s'] * 1000:.1f} ms",
            f"{peer['query_s'] * 1000:.1f} ms",
            ratios["query"],
            "report",
        ),
    ]
    print(f"{'workload':44} {'nbmlops':>12} {'MLflow':>12} {'ratio':>10}  target")
    for name, mine, theirs, ratio, target in rows:
        print(f"{name:44} {mine:>12} {theirs:>12} {ratio:>9.1f}x  {target}")
    print(
        f"end_run flush of {args.n} points: {ours['end_run_flush_s'] * 1000:.1f} ms; "
        f"history complete: nbmlops {ours['history_ok']}, MLflow {peer['history_ok']}; "
        f"query hits: nbmlops {ours['query_hits']}, MLflow {peer['query_hits']}"
    )
    print(
        json.dumps(
            {
                "bench": "tracking",
                "n": args.n,
                "runs": args.runs,
                "nbmlops": ours,
                "mlflow": peer,
                "ratios": ratios,
            }
        )
    )


if __name__ == "__main__":
    main()
