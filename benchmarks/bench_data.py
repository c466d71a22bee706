#!/usr/bin/env python3
"""nbmlops data versions side by side with DVC, on the peer's frame
(../shared/peers/dataver_dvc.py).

One run does both: DVC (the peer script, run by the peers' interpreter as a
subprocess: write Parquet + ``dvc add`` v1, then a 1%-modified v2) and nbmlops
(commit v1, then four kinds of v2 on top of it, then load v1 back). Prints the
ratios and one JSON line at the end.

v2 kinds (each committed on top of the same v1):
  block    1% of rows changed in one contiguous block (f0, f1, amount), as the peer does
  scatter  1% of rows changed at scattered positions in 2 of the 10 columns (f0, f1)
  append   v1 plus 1% new rows
  column   v1 plus one new float column

Usage: flock /tmp/nbmlops-bench.lock .venv/bin/python benchmarks/bench_data.py [--rows 2000000]
[--no-peer]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from peers import PEER_PYTHON, PEERS  # noqa: E402 - puts the peer scripts on sys.path

# isort: split
from dataver_dvc import make_frame  # noqa: E402  - the peer's own generator: identical data on both sides


def log(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def timed(fn):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def variants(df, rows: int, seed: int):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    k = max(1, int(round(rows * 0.01)))
    block = df.copy()
    idx = np.arange(rows // 2, rows // 2 + k)  # where the peer changes its block
    for c in ["f0", "f1", "amount"]:
        col = block[c].to_numpy(copy=True)
        col[idx] = col[idx] * 1.01 + 0.5
        block[c] = col
    scatter = df.copy()
    spots = np.sort(np.random.default_rng(seed + 1).choice(rows, size=k, replace=False))
    for c in ["f0", "f1"]:
        col = scatter[c].to_numpy(copy=True)
        col[spots] = col[spots] * 1.01 + 0.5
        scatter[c] = col
    append = pd.concat([df, make_frame(k, seed + 2)], ignore_index=True)
    column = df.assign(f7=np.random.default_rng(seed + 3).normal(0, 1, rows))
    return {"block": block, "scatter": scatter, "append": append, "column": column}


def run_nbmlops(rows: int, seed: int) -> dict[str, object]:
    import pandas as pd

    os.environ["PYTHONWARNINGS"] = "ignore"
    from nbmlops.data import commit, load
    from nbmlops.workspace import Workspace

    tmp = tempfile.mkdtemp(prefix="bench-data-")
    os.chdir(tmp)
    ws, _ = Workspace.init(tmp)
    store = ws.store()
    df = make_frame(rows, seed)
    out: dict[str, object] = {
        "rows": rows,
        "frame_mem_bytes": int(df.memory_usage(deep=True).sum()),
    }
    _, out["pandas_to_parquet_s"] = timed(
        lambda: df.to_parquet("v1.parquet", engine="pyarrow", index=False)
    )
    out["parquet_bytes"] = os.path.getsize("v1.parquet")
    _, out["pandas_read_parquet_s"] = timed(lambda: pd.read_parquet("v1.parquet"))
    log("[nbmlops] commit v1 ...")
    v1, out["commit_v1_s"] = timed(lambda: commit(df, "block", store=store))
    out["stored_v1_bytes"] = v1.bytes_total
    _, out["commit_noop_s"] = timed(lambda: commit(df, "block", store=store))
    for name, frame in variants(df, rows, seed).items():
        if name != "block":
            commit(df, name, store=store)  # the same v1 under another name: no new bytes
        log(f"[nbmlops] commit v2 ({name}) ...")
        v2, seconds = timed(lambda f=frame, n=name: commit(f, n, store=store))
        out[f"{name}_added_bytes"] = v2.bytes_added
        out[f"{name}_added_share"] = v2.bytes_added / v1.bytes_total
        out[f"commit_v2_{name}_s"] = seconds
    log("[nbmlops] load v1 ...")
    loaded, out["load_v1_s"] = timed(lambda: load("block@1", store=store))
    pd.testing.assert_frame_equal(loaded, df)
    return out


def run_peer(rows: int, seed: int) -> dict[str, object] | None:
    if not os.path.exists(PEER_PYTHON):
        log(f"[dvc] {PEER_PYTHON} is missing; the peer is skipped")
        return None
    log("[dvc] running the peer script ...")
    cp = subprocess.run(
        [PEER_PYTHON, f"{PEERS}/dataver_dvc.py", "--rows", str(rows), "--seed", str(seed)],
        capture_output=True,
        text=True,
    )
    if cp.returncode != 0:
        log(cp.stderr[-2000:])
        return None
    return json.loads(cp.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", "--size", dest="rows", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-peer", action="store_true")
    args = ap.parse_args()
    peer = None if args.no_peer else run_peer(args.rows, args.seed)
    ours = run_nbmlops(args.rows, args.seed)
    result: dict[str, object] = {
        "bench": "bench_data",
        "rows": args.rows,
        "nbmlops": ours,
        "dvc": peer,
    }
    print(
        f"rows: {args.rows:,}  frame: {ours['frame_mem_bytes'] / 1e6:.0f} MB  Parquet: "
        f"{ours['parquet_bytes'] / 1e6:.0f} MB"
        f"  stored by nbmlops: {ours['stored_v1_bytes'] / 1e6:.0f} MB"
    )
    limits = {"block": 0.05, "scatter": 0.25, "append": 0.03, "column": 0.15}
    for name, limit in limits.items():
        share = ours[f"{name}_added_share"]
        print(
            f"v2 {name:8s} new bytes: {share:6.2%} of v1 (target <= {limit:.0%})"
            f"{'' if share <= limit else '  OVER'}  commit {ours[f'commit_v2_{name}_s']:.2f} s"
        )
    ratios: dict[str, float] = {
        "load_vs_read_parquet": ours["load_v1_s"] / ours["pandas_read_parquet_s"]
    }  # type: ignore[operator]
    print(
        f"load v1: {ours['load_v1_s']:.2f} s vs pandas.read_parquet "
        f"{ours['pandas_read_parquet_s']:.2f} s "
        f"-> {ratios['load_vs_read_parquet']:.2f}x (target <= 1.5x)"
    )
    if peer:
        dvc_v1 = peer["write_v1_s"] + peer["dvc_add_v1_s"]
        dvc_v2 = peer["write_v2_s"] + peer["dvc_add_v2_s"]
        ratios["commit_v1_vs_dvc"] = ours["commit_v1_s"] / dvc_v1  # type: ignore[operator]
        ratios["commit_v2_block_vs_dvc"] = ours["commit_v2_block_s"] / dvc_v2  # type: ignore[operator]
        ratios["block_bytes_vs_dvc"] = ours["block_added_bytes"] / peer["cache_added_v2_bytes"]  # type: ignore[operator]
        print(
            f"commit v1: {ours['commit_v1_s']:.2f} s vs DVC write+add {dvc_v1:.2f} s -> "
            f"{ratios['commit_v1_vs_dvc']:.2f}x"
        )
        print(
            f"commit v2 (block): {ours['commit_v2_block_s']:.2f} s vs DVC {dvc_v2:.2f} s -> "
            f"{ratios['commit_v2_block_vs_dvc']:.2f}x"
        )
        print(
            f"v2 (block) bytes: nbmlops {ours['block_added_bytes'] / 1e6:.1f} MB vs DVC "
            f"{peer['cache_added_v2_bytes'] / 1e6:.1f} MB -> {ratios['block_bytes_vs_dvc']:.3f}x"
        )
    result["ratios"] = ratios
    print(json.dumps(result))


if __name__ == "__main__":
    main()
