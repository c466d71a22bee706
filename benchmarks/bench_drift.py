#!/usr/bin/env python3
"""nbmlops drift vs Evidently's DataDriftPreset, side by side in one run, on identical data.

Data: /work/shared/peers/drift_evidently.py's ``make_data`` (reference and current of
``--rows`` rows, 20 numeric + 5 categorical columns, planted shifts in num_00..03,
num_12, cat_0 and cat_1). Each side runs in its own child process so peak memory is
measured per process (both include generating the data):

  nbmlops               mo.drift.compare(ref, cur): KS + Wasserstein + PSI for every numeric
                        column, chi-square homogeneity + Jensen-Shannon + PSI for every
                        categorical one (all statistics are computed whatever decides)
  nbmlops_batches       the same from Parquet files read in batches (data larger than memory)
  evidently_default     Report([DataDriftPreset()]) in the peers' venv (pandas<3)
  evidently_ks_chi2     the preset forced to num_method="ks", cat_method="chisquare"

Prints times, peak memory, ratios, the columns each flags, checks of the values against
Evidently's (Wasserstein, Jensen-Shannon, KS p-values), then one JSON line.

Usage: python benchmarks/bench_drift.py [--rows 1000000] [--phases ...] [--peers-python PATH]
Run the full size under the lock: flock /tmp/nbmlops-bench.lock .venv/bin/python
benchmarks/bench_drift.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

from peers import PEER_PYTHON as PEERS_PYTHON  # noqa: E402 - puts the peer scripts on sys.path
from peers import PEERS  # noqa: E402

PEER_SCRIPT = os.path.join(PEERS, "drift_evidently.py")
PHASES = ["nbmlops", "nbmlops_batches", "evidently_default", "evidently_ks_chi2"]
SHIFTED = {"num_00", "num_01", "num_02", "num_03", "num_12", "cat_0", "cat_1"}


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def child(phase: str, rows: int, seed: int, folder: str) -> dict:
    """One nbmlops phase, in this (child) process."""
    from drift_evidently import make_data

    t = time.perf_counter()
    if phase == "nbmlops":
        ref, cur = make_data(rows, seed)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    import scipy.stats  # noqa: F401 - imported before timing, as Evidently's import is

    import nbmlops as mo

    mo.drift.compare  # noqa: B018 - import the drift package before timing
    import_s = time.perf_counter() - t
    before, peak_before = rss_mib(), peak_mib()
    t = time.perf_counter()
    if phase == "nbmlops":
        report = mo.drift.compare(ref, cur, tests=["ks", "chi2"], time="none", record=False)
    else:
        report = mo.drift.compare(
            os.path.join(folder, "ref.parquet"),
            os.path.join(folder, "cur.parquet"),
            tests=["ks", "chi2"],
            time="none",
            record=False,
            chunked=True,
            batch_rows=100_000,
        )
    seconds = time.perf_counter() - t
    out = {
        "phase": phase,
        "gen_s": gen_s,
        "import_s": import_s,
        "seconds": seconds,
        "rss_before_mib": before,
        "peak_before_mib": peak_before,
        "peak_rss_mib": peak_mib(),
        "mode": report.mode,
    }
    columns = {r["column"]: r for r in report.columns}
    out["p_values"] = {c: r["score"] for c, r in columns.items()}
    out["distances"] = {
        c: r["stats"].get("wasserstein", r["stats"].get("jensenshannon"))
        for c, r in columns.items()
    }
    out["psi"] = {c: r["stats"]["psi"] for c, r in columns.items()}
    out["flagged_tests"] = sorted(c for c, r in columns.items() if r["drifted"])
    out["flagged_distances"] = sorted(c for c, d in out["distances"].items() if d >= 0.1)
    if phase == "nbmlops":  # the oracle, untimed: scipy's test of homogeneity on a crosstab
        import numpy as np
        import pandas as pd
        from scipy import stats

        worst = 0.0
        for c in [c for c in columns if c.startswith("cat_")]:
            table = pd.crosstab(
                np.r_[np.zeros(len(ref)), np.ones(len(cur))],
                np.r_[ref[c].to_numpy(), cur[c].to_numpy()],
            )
            p = float(stats.chi2_contingency(table.to_numpy())[1])
            worst = max(
                worst,
                abs(p - out["p_values"][c]) / max(abs(p), 1e-300)
                if p != out["p_values"][c]
                else 0.0,
            )
        out["chi2_vs_scipy_max_rel_diff"] = worst
    return out


def run_child(args: argparse.Namespace, phase: str, folder: str) -> dict:
    if phase.startswith("evidently"):
        cmd = [
            args.peers_python,
            PEER_SCRIPT,
            "--rows",
            str(args.rows),
            "--seed",
            str(args.seed),
            "--child",
            phase,
        ]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    else:
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--rows",
            str(args.rows),
            "--seed",
            str(args.seed),
            "--child",
            phase,
            "--folder",
            folder,
        ]
        env = dict(os.environ)
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=env)
    if done.returncode != 0:
        log(done.stderr[-3000:])
        return {
            "error": f"exit {done.returncode}: {(done.stderr.strip().splitlines() or [''])[-1]}"
        }
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found["wall_s"] = time.perf_counter() - t
    return found


def write_parquet(rows: int, seed: int, folder: str) -> None:
    from drift_evidently import make_data

    ref, cur = make_data(rows, seed)
    ref.to_parquet(os.path.join(folder, "ref.parquet"), row_group_size=100_000)
    cur.to_parquet(os.path.join(folder, "cur.parquet"), row_group_size=100_000)


def max_rel(a: dict, b: dict, keys: list[str]) -> float:
    worst = 0.0
    for k in keys:
        x, y = a.get(k), b.get(k)
        if x is None or y is None or x == y:
            continue
        worst = max(worst, abs(x - y) / max(abs(x), abs(y), 1e-300))
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--rows", type=int, default=1_000_000, help="rows in each of reference and current"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--phases", default=",".join(PHASES))
    ap.add_argument(
        "--peers-python",
        default=PEERS_PYTHON,
        help="python of the venv with evidently and pandas<3",
    )
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--folder", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "write":
        write_parquet(args.rows, args.seed, args.folder)
        return
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.seed, args.folder)))
        return
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as folder:
        if "nbmlops_batches" in phases:
            # in a child of its own: a child's peak RSS (ru_maxrss) starts at its parent's RSS when
            # it was forked,
            # so the parent must stay small for the children's peaks to be their own
            subprocess.run(
                [
                    sys.executable,
                    os.path.abspath(__file__),
                    "--rows",
                    str(args.rows),
                    "--seed",
                    str(args.seed),
                    "--child",
                    "write",
                    "--folder",
                    folder,
                ],
                check=True,
                timeout=args.timeout,
            )
        for phase in phases:
            log(f"[bench_drift] rows={args.rows:,} {phase} ...")
            results[phase] = run_child(args, phase, folder)
            r = results[phase]
            if "seconds" in r:
                log(f"[bench_drift]   {r['seconds']:.2f} s, peak {r['peak_rss_mib']:.0f} MiB")
    ours = results.get("nbmlops", {})
    summary, flagged = {}, {}
    for phase, r in results.items():
        if "seconds" not in r:
            summary[phase] = r
            continue
        summary[phase] = {
            "seconds": round(r["seconds"], 3),
            "peak_rss_mib": round(r["peak_rss_mib"], 1),
            "rss_before_mib": round(r["rss_before_mib"], 1),
            "peak_minus_before_mib": round(r["peak_rss_mib"] - r["rss_before_mib"], 1),
        }
        if phase.startswith("nbmlops"):
            flagged[f"{phase} (ks + chi2 homogeneity)"] = r["flagged_tests"]
            flagged[f"{phase} (wasserstein + jensenshannon)"] = r["flagged_distances"]
        else:
            threshold = (lambda v: v < 0.05) if phase.endswith("ks_chi2") else (lambda v: v >= 0.1)
            flagged[phase] = sorted(c for c, v in r["values"].items() if threshold(v))
    ratios, checks = {}, {}
    if "seconds" in ours:
        for phase in ("evidently_default", "evidently_ks_chi2"):
            peer = results.get(phase, {})
            if "seconds" in peer:
                ratios[f"speed_vs_{phase}"] = round(peer["seconds"] / ours["seconds"], 1)
                ratios[f"peak_memory_share_of_{phase}"] = round(
                    ours["peak_rss_mib"] / peer["peak_rss_mib"], 3
                )
        numeric = [c for c in ours["p_values"] if c.startswith("num_")]
        categorical = [c for c in ours["p_values"] if c.startswith("cat_")]
        if "values" in results.get("evidently_ks_chi2", {}):
            checks["ks_p_value_vs_evidently_max_rel_diff"] = max_rel(
                ours["p_values"], results["evidently_ks_chi2"]["values"], numeric
            )
        if "values" in results.get("evidently_default", {}):
            checks["wasserstein_js_vs_evidently_max_rel_diff"] = max_rel(
                ours["distances"], results["evidently_default"]["values"], numeric + categorical
            )
        checks["chi2_homogeneity_vs_scipy_max_rel_diff"] = ours.get("chi2_vs_scipy_max_rel_diff")
        peer_flags = set(flagged.get("evidently_ks_chi2", []))
        checks["unshifted_flagged_by_evidently_chisquare"] = sorted(c for c in peer_flags - SHIFTED)
        checks["unshifted_flagged_by_nbmlops"] = sorted(set(ours["flagged_tests"]) - SHIFTED)
    print(f"\nDrift, {args.rows:,} rows per side, 20 numeric + 5 categorical columns")
    print(f"{'phase':<22}{'seconds':>10}{'peak MiB':>11}{'data MiB':>10}")
    for phase, s in summary.items():
        if "seconds" in s:
            print(
                f"{phase:<22}{s['seconds']:>10.2f}{s['peak_rss_mib']:>11.0f}{s['rss_before_mib']:>10.0f}"
            )
        else:
            print(f"{phase:<22}  {s.get('error')}")
    for key, value in ratios.items():
        print(f"{key}: {value}")
    print("flagged columns:")
    for name, columns in flagged.items():
        print(f"  {name}: {', '.join(columns) or '-'}")
    for key, value in checks.items():
        print(f"{key}: {value}")
    print(
        json.dumps(
            {
                "bench": "drift",
                "rows": args.rows,
                "summary": summary,
                "ratios": ratios,
                "checks": checks,
                "flagged": flagged,
            }
        )
    )


if __name__ == "__main__":
    main()
