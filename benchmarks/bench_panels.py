#!/usr/bin/env python3
"""The runs panel on 10,000 runs vs MLflow's search API, and a Voila dashboard vs a bare Voila
notebook.

1. The same runs (tests/bulk_runs.generate: 20 params, 10 metrics each, seeded) in nbmlops
   (SQLite) and in MLflow (SQLite, peer venv /work/main/.venv-peers). Timed on both sides:
   first page (nbmlops: ``mo.panels.runs()`` until its first block of rows is ready; MLflow:
   ``mlflow.search_runs(max_results=100)``, what its UI asks for first), a filter and a sort
   round trip (100 rows each). Also the bytes the panel sends the browser for its first page,
   at 1,000 and at N runs: they must not grow with N.
2. Voila time to first paint (page requested until the first plotly chart is drawn) of the
   published dashboard against a bare Voila notebook showing the same chart, in headless
   Chromium; the goal is at most 1.5x.

Prints a table of times and ratios, then one JSON line.
Usage: flock /tmp/nbmlops-bench.lock .venv/bin/python benchmarks/bench_panels.py [--runs 10000]
[--paints 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from peers import PEER_PYTHON  # noqa: E402

FILTER = "metrics.accuracy > 0.95 and params.model = 'rf'"
REPEAT = 5

PEER = r"""
import json, sys, time, statistics, logging, warnings
warnings.filterwarnings("ignore"); logging.disable(logging.WARNING)
sys.path.insert(0, sys.argv[1])
from bulk_runs import generate, metric_key, loss_value
import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient
n, folder = int(sys.argv[2]), sys.argv[3]
mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
client = MlflowClient()
exp = client.create_experiment("bench", artifact_location=f"{folder}/artifacts")
data = generate(n)
t = time.perf_counter()
for i, run_id in enumerate(data["ids"]):
    t0 = int((1.7e9 + i * 60) * 1000)
    run = client.create_run(exp, start_time=t0, run_name=f"run-{i:05d}")
    params = [Param("model", data["models"][i]), Param("penalty", data["penalties"][i])]
    params += [Param(f"p{j}", repr(v)) for j, v in enumerate(data["numbers"][i], start=2)]
    metrics = []
    for j in range(10):
        key = metric_key(j)
        if key == "loss":
            metrics += [Metric(key, loss_value(data["accuracy"][i], s), t0 + s, s) for s in
            range(10)]
        else:
            metrics.append(Metric(key, data["accuracy"][i] if key == "accuracy" else j +
            data["others"][i][j], t0, 0))
    client.log_batch(run.info.run_id, metrics=metrics, params=params)
    client.set_terminated(run.info.run_id, end_time=t0 + 30000)
load_s = time.perf_counter() - t

def timed(**kw):
    times, frame = [], None
    for _ in range(5):
        t = time.perf_counter()
        frame = mlflow.search_runs(experiment_ids=[exp], max_results=100, **kw)
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(frame)

first, rows = timed()
filt, frows = timed(filter_string="metrics.accuracy > 0.95 and params.model = 'rf'")
sort, _ = timed(order_by=["metrics.accuracy DESC"])
print(json.dumps({"version": mlflow.__version__, "load_s": load_s, "first_page_s": first, "rows":
rows,
                  "filter_s": filt, "filter_rows": frows, "sort_s": sort}))
"""


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def panel_state_bytes(table) -> int:  # type: ignore[no-untyped-def]
    """Bytes of the widget state the browser receives when the panel first shows."""
    return len(json.dumps(table.get_state(), default=str))


def bench_nbmlops(n: int) -> dict:
    from bulk_runs import bulk_runs
    from IPython.testing.globalipapp import start_ipython

    import nbmlops as mo
    from nbmlops.store import forget_stores
    from nbmlops.workspace import Workspace

    start_ipython()
    out: dict = {}
    for size in sorted({1000, n}):
        folder = tempfile.mkdtemp(prefix="bench-panels-")
        os.chdir(folder)
        ws, _ = Workspace.init(folder)
        t = time.perf_counter()
        bulk_runs(ws.store(), size)
        load = time.perf_counter() - t
        times, panel = [], None
        for _ in range(REPEAT):
            t = time.perf_counter()
            panel = mo.panels.runs()
            assert len(panel.table.first_rows) == 100
            times.append(time.perf_counter() - t)
        table = panel.table
        out[size] = {
            "load_s": load,
            "first_page_s": statistics.median(times),
            "state_bytes": panel_state_bytes(table),
            "first_rows_bytes": len(json.dumps(table.first_rows)),
        }
        if size == n:
            filt, sort = [], []
            for _ in range(REPEAT):
                t = time.perf_counter()
                table.filter_text = FILTER
                filt.append(time.perf_counter() - t)
                rows = table.total
                table.filter_text = ""
                t = time.perf_counter()
                table.sort = ["-metrics.accuracy"]
                sort.append(time.perf_counter() - t)
                table.sort = []
            out[size].update(
                filter_s=statistics.median(filt), filter_rows=rows, sort_s=statistics.median(sort)
            )
            t = time.perf_counter()
            table.fetch(5000, 100)
            out[size]["scroll_block_s"] = time.perf_counter() - t
        forget_stores()
    return out


def bench_mlflow(n: int) -> dict | None:
    if not Path(PEER_PYTHON).exists():
        log(f"no peer venv at {PEER_PYTHON}; MLflow side skipped")
        return None
    folder = tempfile.mkdtemp(prefix="bench-mlflow-")
    log(f"MLflow: logging {n:,} runs (slow: a few minutes)")
    res = subprocess.run(
        [PEER_PYTHON, "-c", PEER, str(ROOT / "tests"), str(n), folder],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        log(res.stderr[-3000:])
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_voila(paints: int) -> dict:
    """Median time to first paint of the published dashboard and of a bare notebook with the same
    chart."""
    import nbformat
    from browser_servers import free_port, jupyter_env, server
    from nbformat.v4 import new_code_cell, new_notebook
    from playwright.sync_api import sync_playwright
    from samples import churn_frame, fit_classifier

    import nbmlops as mo
    from nbmlops.dashboards import overview, voila_command
    from nbmlops.store import forget_stores
    from nbmlops.workspace import Workspace, open_current

    folder = Path(tempfile.mkdtemp(prefix="bench-dash-"))
    os.chdir(folder)
    ws, _ = Workspace.init(folder)
    frame = churn_frame()
    clf = fit_classifier(frame)
    for accuracy in (0.82, 0.88, 0.91):
        with mo.start_run(name="train") as run:
            mo.log_metric("accuracy", accuracy)
        mo.models.register(clf, "churn", run=run.id)
        mo.evaluate.bias(clf, frame, "churned", sensitive="gender")
    mo.models.promote("churn@3", to="production")
    goals = ["accuracy>=0.85", "demographic_parity_ratio>=0.8"]
    mo.dashboards.publish("churn", goals)
    trend = overview("churn", goals, store=open_current(readonly=True)).trend["figure"]
    bare = folder / "bare.ipynb"
    nb = new_notebook(
        cells=[new_code_cell(f"import plotly.graph_objects as go\ngo.Figure({json.dumps(trend)})")]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, str(bare))
    forget_stores()
    os.environ["MLOPS_HOME"] = str(folder)
    env = jupyter_env(folder / ".scratch", MLOPS_HOME=str(folder))
    results: dict = {"dashboard": [], "bare": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        for name, notebook in (
            ("dashboard", ws.root / "dashboards" / "churn.ipynb"),
            ("bare", bare),
        ):
            port = free_port()
            command, serve_env = voila_command(notebook, port=port, browser=False)
            if name == "bare":  # plain Voila: its own lab template, no nbmlops involved
                command = [
                    c for c in command if not c.startswith(("--template", "--strip", "--show_tr"))
                ]
            with server(
                command,
                env={**env, "JUPYTER_PATH": serve_env["JUPYTER_PATH"], "MLOPS_READONLY": "1"},
                cwd=folder,
                port=port,
                name=f"bench-{name}",
            ) as url:
                # the first request warms the server up and is not counted
                for i in range(paints + 1):
                    page = browser.new_page()
                    page.route(
                        "**/*",
                        lambda r: (
                            r.continue_()
                            if r.request.url.startswith(
                                ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
                            )
                            else r.abort()
                        ),
                    )
                    t = time.perf_counter()
                    page.goto(url + "/", timeout=120_000)
                    page.wait_for_function(
                        "() => document.querySelector('.js-plotly-plot .main-svg')", timeout=120_000
                    )
                    if i:
                        results[name].append(time.perf_counter() - t)
                    page.close()
        browser.close()
    return {k: statistics.median(v) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", "--size", type=int, default=10_000)
    parser.add_argument("--paints", type=int, default=3)
    parser.add_argument("--no-mlflow", action="store_true")
    args = parser.parse_args()
    ours = bench_nbmlops(args.runs)
    peer = None if args.no_mlflow else bench_mlflow(args.runs)
    voila = bench_voila(args.paints)
    big, small = ours[args.runs], ours[min(ours)]
    lines = [
        f"runs panel, {args.runs:,} runs x 20 params x 10 metrics (SQLite)",
        f"  first page ready in Python  {big['first_page_s'] * 1000:8.1f} ms",
        f"  filter round trip           {big['filter_s'] * 1000:8.1f} ms ({big['filter_rows']} "
        "rows)",
        f"  sort round trip             {big['sort_s'] * 1000:8.1f} ms",
        f"  a scrolled-to block         {big['scroll_block_s'] * 1000:8.1f} ms",
        f"  first page sent to browser  {big['state_bytes']:,} B at {args.runs:,} runs, "
        f"{small['state_bytes']:,} B at {min(ours):,} runs",
    ]
    ratios = {}
    if peer:
        for key, label in (
            ("first_page_s", "first page"),
            ("filter_s", "filter"),
            ("sort_s", "sort"),
        ):
            ratios[key] = big[key] / peer[key]
            lines.append(
                f"  MLflow {peer['version']} search_runs {label:10s} {peer[key] * 1000:8.1f} ms  "
                f"-> nbmlops/MLflow {ratios[key]:.2f}x"
            )
    ratios["voila_first_paint"] = voila["dashboard"] / voila["bare"]
    lines += [
        "Voila time to first paint (median)",
        f"  published dashboard {voila['dashboard']:6.2f} s, bare notebook {voila['bare']:6.2f} s "
        f"-> {ratios['voila_first_paint']:.2f}x (goal <= 1.5x)",
    ]
    print("\n".join(lines))
    print(
        json.dumps(
            {
                "bench": "panels",
                "runs": args.runs,
                "nbmlops": ours,
                "mlflow": peer,
                "voila": voila,
                "ratios": ratios,
            },
            default=str,
        )
    )


if __name__ == "__main__":
    main()
