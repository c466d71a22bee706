#!/usr/bin/env python3
"""nbmlops bias metrics against fairlearn, side by side on identical data, in one run.

Data: ``make_data`` imported from /work/shared/peers/bias_fairlearn.py (1,000,000
rows, 4 groups of unequal size, binary labels, seeded). Work timed on each side:
per-group accuracy, selection rate, true- and false-positive rate, their
between-group differences, the demographic parity difference and the equalized
odds difference.

- fairlearn: ``MetricFrame(...).by_group`` + ``.difference()``,
  ``demographic_parity_difference``, ``equalized_odds_difference`` (as the peer script);
- nbmlops: ``nbmlops.evaluate.assess``, which computes all of that and more
  (counts, precision, base rates, ratios, equal opportunity, the four-fifths rule)
  from the same string group labels.

Every number is compared; the run fails unless they are identical. Progress goes
to stderr; the last line of stdout is one JSON object.

Run it alone on the machine:
    flock /tmp/nbmlops-bench.lock .venv/bin/python benchmarks/bench_bias.py
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import warnings

from peers import PEERS  # noqa: E402,F401 - puts the peer scripts on sys.path


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, {"median_s": statistics.median(times), "min_s": min(times), "runs": repeat}


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument(
        "--repeat", type=int, default=7, help="repeats of the nbmlops timing (median reported)"
    )
    ap.add_argument("--fl-repeat", type=int, default=1, help="repeats of the fairlearn timing")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    import fairlearn
    import numpy as np
    import pandas as pd
    from bias_fairlearn import make_data  # the peer's own generator: both sides see identical rows
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        equalized_odds_difference,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score

    from nbmlops.evaluate import assess

    y_true, y_pred, sens = make_data(args.rows, args.seed)
    metrics = {
        "accuracy": accuracy_score,
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
    }

    def fairlearn_all():  # type: ignore[no-untyped-def]
        mf = MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=sens)
        return (
            mf.by_group,
            mf.difference(method="between_groups"),
            demographic_parity_difference(y_true, y_pred, sensitive_features=sens),
            equalized_odds_difference(y_true, y_pred, sensitive_features=sens),
        )

    def nbmlops_all():  # type: ignore[no-untyped-def]
        return assess(y_true, y_pred, {"group": sens})

    # warm-up on 1,000 rows: imports and first-call costs stay out of the timings
    MetricFrame(
        metrics=metrics, y_true=y_true[:1000], y_pred=y_pred[:1000], sensitive_features=sens[:1000]
    )
    assess(y_true[:1000], y_pred[:1000], {"group": sens[:1000]})

    log(f"[bias] nbmlops on {args.rows:,} rows, {args.repeat} runs ...")
    report, t_ours = timed(nbmlops_all, args.repeat)
    log(f"[bias] nbmlops median {t_ours['median_s'] * 1000:.1f} ms")
    log(f"[bias] fairlearn on {args.rows:,} rows, {args.fl_repeat} run(s) (about 35 s each) ...")
    (by_group, diff, dpd, eod), t_fl = timed(fairlearn_all, args.fl_repeat)
    log(f"[bias] fairlearn median {t_fl['median_s']:.1f} s")

    ours = pd.DataFrame(report.main["groups"]).set_index("group")
    worst = 0.0
    for name in metrics:
        theirs = by_group[name].reindex(ours.index).to_numpy(dtype=float)
        worst = max(worst, float(np.max(np.abs(theirs - ours[name].to_numpy(dtype=float)))))
        mine = float(ours[name].max() - ours[name].min())
        worst = max(worst, abs(float(diff[name]) - mine))
    disp = report.main["disparities"]
    worst = max(
        worst,
        abs(float(dpd) - disp["demographic_parity_difference"]),
        abs(float(eod) - disp["equalized_odds_difference"]),
    )
    ratio = t_fl["median_s"] / t_ours["median_s"]
    print(
        f"fairlearn {t_fl['median_s']:.2f} s, nbmlops {t_ours['median_s'] * 1000:.1f} ms: "
        f"nbmlops is {ratio:,.0f}x faster (target: 300x); largest difference in any number: "
        f"{worst!r}"
    )
    out = {
        "bench": "bias",
        "peer": "fairlearn",
        "rows": args.rows,
        "groups": int(ours.shape[0]),
        "versions": {
            "fairlearn": fairlearn.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "fairlearn": t_fl,
        "nbmlops": t_ours,
        "speedup": ratio,
        "max_abs_diff": worst,
        "identical": worst == 0.0,
        "results": {
            "by_group": {m: ours[m].to_dict() for m in metrics},
            "demographic_parity_difference": disp["demographic_parity_difference"],
            "equalized_odds_difference": disp["equalized_odds_difference"],
        },
    }
    print(json.dumps(out))
    return 0 if worst == 0.0 and ratio >= 300 else 1


if __name__ == "__main__":
    sys.exit(main())
