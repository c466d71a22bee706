#!/usr/bin/env python3
"""Benchmark: nbmlops jobs against bare papermill, and sweeps against running the points one by one.

1. Overhead per job: ``nbmlops.jobs.run_job`` (a run, parameters, notebook
   snapshot, executed notebook stored, metrics flushed) against
   ``papermill.execute_notebook`` of the same 3-cell notebook, built by the peer
   script's own ``build_notebook`` (/work/shared/peers/papermill_overhead.py).
   The two alternate, run after run, so machine noise hits both alike.
   Target: at most 1.15x.
2. A sweep of 8 points of a notebook that computes for about 2 s (single-threaded
   NumPy), on 2 workers, against the same sweep with 1 worker (in-process,
   serial): on the local process pool and on a Dask LocalCluster. Target: at most
   0.6x. "cold" includes starting the workers (the pool's fork server, or the
   LocalCluster) inside the timed sweep; "warm" is a second sweep on the same
   pool / an already running cluster, as in a notebook session or on a shared
   cluster.

Run it alone (the machine has 2 cores):
    flock /tmp/nbmlops-bench.lock .venv/bin/python benchmarks/bench_jobs.py
Progress goes to stderr; the ratios, then one JSON line, go to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings

import peers  # noqa: E402,F401 - puts the peer scripts on sys.path

# isort: split
from papermill_overhead import build_notebook  # noqa: E402 - the peer's generator, so both run the same notebook

POINTS = 8
WORK = """import time
import numpy as np
import nbmlops as mo
x = np.random.default_rng(seed).random(200_000)
start = time.process_time()
for _ in range(loops):
    x = np.sqrt(x * x + 1.0) - 0.5
mo.log_metric("cpu_s", time.process_time() - start)
mo.log_metric("value", float(x.mean()))"""


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def calibrate_loops(target_s: float) -> int:
    """Loops of WORK that take about ``target_s`` of CPU on this machine (single-threaded NumPy)."""
    import numpy as np

    x = np.random.default_rng(0).random(200_000)
    start, loops = time.process_time(), 0
    while time.process_time() - start < 0.5:
        x = np.sqrt(x * x + 1.0) - 0.5
        loops += 1
    return max(1, int(loops * target_s / (time.process_time() - start)))


def sweep_notebook(path: str, loops: int) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook()
    params = new_code_cell(f"seed = 0\nloops = {loops}")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, new_code_cell(WORK)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def job_overhead(folder: str, runs: int) -> dict[str, object]:
    import papermill as pm

    from nbmlops.jobs import run_job

    src = os.path.join(folder, "trivial.ipynb")
    build_notebook(src)
    bare, ours = [], []
    # the first pair warms caches (package list, kernel specs) and is dropped
    for i in range(runs + 1):
        parameters = {"n": 2000 + i, "seed": i}
        t = time.perf_counter()
        pm.execute_notebook(
            src,
            os.path.join(folder, f"out_{i}.ipynb"),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            log_output=False,
        )
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = run_job(src, parameters, progress=False)
        ours.append(time.perf_counter() - t)
        assert res.status == "FINISHED", res.error
        log(f"[jobs] run {i}: papermill {bare[-1]:.3f} s, run_job {ours[-1]:.3f} s")
    bare, ours = bare[1:], ours[1:]
    return {
        "runs": runs,
        "papermill_median_s": statistics.median(bare),
        "run_job_median_s": statistics.median(ours),
        "overhead_median_s": statistics.median(o - b for o, b in zip(ours, bare, strict=True)),
        "ratio": statistics.median(ours) / statistics.median(bare),
        "papermill_all_s": [round(x, 3) for x in bare],
        "run_job_all_s": [round(x, 3) for x in ours],
    }


def timed_sweep(nb: str, executor: str) -> tuple[float, object]:
    from nbmlops.jobs import sweep

    t = time.perf_counter()
    res = sweep(
        nb, {"seed": list(range(POINTS))}, executor=executor, metric="value", progress=False
    )
    took = time.perf_counter() - t
    assert res.status == "FINISHED", res.error
    return took, res


def sweeps(folder: str, loops: int) -> dict[str, object]:
    from distributed import LocalCluster

    nb = os.path.join(folder, "compute.ipynb")
    sweep_notebook(nb, loops)
    out: dict[str, object] = {}
    timings: dict[str, float] = {}
    serial_before, res = timed_sweep(nb, "process://?workers=1")
    point_s = statistics.median(p["duration_s"] for p in res.points)  # type: ignore[attr-defined]
    log(f"[sweep] serial: {serial_before:.2f} s ({point_s:.2f} s per point)")
    for label, executor in [
        ("pool_cold", "process://?workers=2"),
        ("pool_warm", "process://?workers=2"),
        ("dask_local_cold", "dask://local?workers=2"),
    ]:
        timings[label], _ = timed_sweep(nb, executor)
        log(f"[sweep] {label}: {timings[label]:.2f} s")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as cluster:
        # workers import papermill once, as a shared cluster has
        timed_sweep(nb, cluster.scheduler_address)
        timings["dask_warm"], _ = timed_sweep(nb, cluster.scheduler_address)
        log(f"[sweep] dask_warm: {timings['dask_warm']:.2f} s")
    # other work on the machine drifts over minutes: the baseline is the mean of a serial run before
    # and after
    serial_after, _ = timed_sweep(nb, "process://?workers=1")
    serial = (serial_before + serial_after) / 2
    log(f"[sweep] serial again: {serial_after:.2f} s")
    out.update(
        serial_s=serial,
        serial_before_s=serial_before,
        serial_after_s=serial_after,
        point_median_s=point_s,
    )
    for label, took in timings.items():
        out[f"{label}_s"], out[f"{label}_ratio"] = took, took / serial
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--runs", "--size", dest="runs", type=int, default=7, help="job/papermill pairs timed"
    )
    ap.add_argument(
        "--point-seconds", type=float, default=2.0, help="CPU seconds of one sweep point"
    )
    ap.add_argument("--only", choices=["job", "sweep"], help="run one of the two parts")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    folder = tempfile.mkdtemp(prefix="bench-jobs-")
    os.environ.setdefault("DASK_TEMPORARY_DIRECTORY", os.path.join(folder, "dask"))
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cwd = os.getcwd()
    try:
        import nbmlops as mo

        os.chdir(folder)
        mo.init(folder)
        result: dict[str, object] = {
            "bench": "jobs",
            "cpus": os.cpu_count(),
            "load_avg_start": os.getloadavg()[0],
        }
        if args.only in (None, "job"):
            job = result["job"] = job_overhead(folder, args.runs)
        if args.only in (None, "sweep"):
            loops = calibrate_loops(args.point_seconds)
            sw = result["sweep"] = {
                "points": POINTS,
                "workers": 2,
                "loops": loops,
                **sweeps(folder, loops),
            }
        result["load_avg_end"] = os.getloadavg()[0]
        if "job" in result:
            print(
                f"job overhead: run_job {job['run_job_median_s']:.3f} s vs papermill "
                f"{job['papermill_median_s']:.3f} s "
                f"= {job['ratio']:.3f}x (target <= 1.15)"
            )
        for label in (
            ("pool_cold", "pool_warm", "dask_local_cold", "dask_warm") if "sweep" in result else ()
        ):
            print(
                f"sweep {POINTS} x {sw['point_median_s']:.1f} s, 2 workers, {label}: "
                f"{sw[label + '_ratio']:.2f}x "
                f"serial ({sw[label + '_s']:.1f} s vs {sw['serial_s']:.1f} s; target <= 0.6)"
            )
        print(json.dumps(result))
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
