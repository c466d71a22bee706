#!/usr/bin/env python3
"""How long ``mlops fsck`` (full and --quick) and ``mlops gc --dry-run`` take on a workspace of
~2,000 objects.

The workspace is built in a temporary folder: runs with artifacts of a few
kilobytes to 1 MB (random bytes, seeded), evaluations and a few dataset
versions (each a manifest plus column chunks), so fsck follows every kind of
reference. Each command is timed as a user runs it (``mlops ...`` in a fresh
process, interpreter start included) and in-process through the Python API.
There is no peer: MLflow and W&B have no integrity check to compare with.
The last line of stdout is one JSON object.

Run it alone on the machine:
    flock /tmp/nbmlops-bench.lock .venv/bin/python benchmarks/bench_fsck.py
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def build(root: Path, objects: int, seed: int) -> dict[str, int]:
    """Fill a fresh workspace until its object store holds at least ``objects`` objects."""
    import numpy as np
    import pandas as pd

    import nbmlops as mo
    from nbmlops.evaluate.storage import record_evaluation

    os.chdir(root)
    mo.Workspace.init(root)
    store = mo.Workspace.find().store()
    rng = random.Random(seed)
    for version in range(5):
        frame = pd.DataFrame(
            {
                "a": np.arange(50_000) + version,
                "b": np.random.default_rng(version).normal(size=50_000),
            }
        )
        mo.data.commit(frame, "table", message=f"v{version}")
    i = 0
    while sum(1 for _ in store.objects) < objects:
        with mo.start_run(name=f"r{i}") as run:
            mo.log_metric("loss", rng.random())
            for j in range(9):
                size = rng.choice([1_000, 4_000, 16_000, 64_000]) if j else 1_000_000
                mo.log_artifact(rng.randbytes(size), f"part-{j}.bin")
            record_evaluation(
                "bias", subject={"run": run.id}, summary={"dp": rng.random()}, report={"i": i}
            )
        i += 1
    count = sum(1 for _ in store.objects)
    size = sum(store.objects.size(d) for d in store.objects)
    return {"objects": count, "bytes": size, "runs": i}


def timed_cli(root: Path, argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "nbmlops", *argv], cwd=root, capture_output=True, text=True
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"mlops {' '.join(argv)} failed: {done.stderr.strip()}")
    return statistics.median(times)


def timed_api(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import nbmlops as mo

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log(f"building a workspace of {args.objects} objects ...")
        start = time.perf_counter()
        shape = build(root, args.objects, seed=0)
        log(f"built in {time.perf_counter() - start:.1f} s: {shape}")
        store = mo.Workspace.find().store()
        report = mo.fsck(store=store)
        if not report.passed:
            raise SystemExit(f"fsck found problems in a fresh workspace: {report.problems}")
        # interpreter + workspace start, for scale
        figures = {
            "cli_fsck_s": timed_cli(root, ["fsck"], args.repeat),
            "cli_fsck_quick_s": timed_cli(root, ["fsck", "--quick"], args.repeat),
            "cli_gc_dry_run_s": timed_cli(root, ["gc", "--dry-run"], args.repeat),
            "cli_status_s": timed_cli(root, ["status"], args.repeat),
            "api_fsck_s": timed_api(lambda: mo.fsck(store=store), args.repeat),
            "api_fsck_quick_s": timed_api(lambda: mo.fsck(rehash=False, store=store), args.repeat),
        }
    for name, seconds in figures.items():
        log(f"{name:>18}: {seconds:6.2f} s")
    log(
        f"full fsck re-hashes {shape['bytes'] / 1e6:.0f} MB in {shape['objects']} objects: "
        f"{shape['bytes'] / 1e6 / figures['api_fsck_s']:.0f} MB/s, "
        f"{shape['objects'] / figures['api_fsck_s']:.0f} objects/s"
    )
    print(
        json.dumps(
            {
                "benchmark": "fsck",
                **shape,
                **{k: round(v, 3) for k, v in figures.items()},
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()
