"""Sweeps: one notebook over a grid or random search, each point a child job run of the sweep run.

Points run on an executor chosen by URL (``executors.py``): a local process
pool by default, or Dask. A point that fails (an error in a cell, a kernel that
dies, a worker that is lost) is recorded and the others go on; ``retries``
re-runs a failed point as a new attempt. The result ranks every point by the
chosen metric, best first; the sweep run itself carries the best value of that
metric and a ``best_run`` tag, so sweeps compare in ``mlops runs list`` too.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from ..errors import InvalidInput
from ..result import (
    Block,
    Chart,
    Fields,
    Heading,
    Note,
    Result,
    Table,
    fmt,
    fmt_duration,
    status_cell,
)
from ..store.meta import jobs
from ..workspace import open_current
from . import notebook as nbk
from . import parameters as prm
from . import space as sp
from .execute import execute_with_retries, point_spec, prepare, start_job_run
from .executors import open_executor
from .results import JobResult
from .validate import require_validation

if TYPE_CHECKING:
    from ..store import Store
    from ..tracking.runs import Run
    from .execute import JobSpec
    from .results import JobResult

GOALS = ("max", "min")
TABLE_METRICS = 6


def run_point(spec: JobSpec) -> JobResult:
    """Execute one sweep point where the executor placed it (a worker process, a Dask worker)."""

    if spec.env is not None and os.environ != spec.env:
        # a local worker forks from a long-lived server: take the submitter's environment of now
        os.environ.clear()
        os.environ.update(spec.env)
    return execute_with_retries(spec)


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass(repr=False)
class SweepResult(Result):
    """Every point of a sweep, best first by ``metric``."""

    sweep_id: str
    name: str
    notebook: str
    status: str
    executor: str
    keys: list[str]
    metric: str | None
    goal: str
    points: list[dict[str, Any]]
    duration_s: float | None
    error: str | None = None
    seed: int | None = None
    planned: int | None = (
        None  # points the sweep was asked to run (more than `points` while it runs)
    )

    @property
    def best(self) -> dict[str, Any] | None:
        """The best finished point by the metric (``None`` without a metric or a finished point)."""
        top = self.points[0] if self.points else None
        if top is None or self.metric is None or not _finite(top["metrics"].get(self.metric)):
            return None
        return top if top["status"] == "FINISHED" else None

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        rows = []
        for p in self.points:
            row = {"point": p["point"], "run_id": p["run_id"], "status": p["status"]}
            row.update({f"params.{k}": p["parameters"].get(k) for k in self.keys})
            row.update({f"metrics.{k}": v for k, v in p["metrics"].items()})
            row.update(
                {"duration_s": p["duration_s"], "attempts": p["attempts"], "error": p["error"]}
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def blocks(self) -> list[Block]:
        n, failed = len(self.points), [p for p in self.points if p["status"] != "FINISHED"]
        out: list[Block] = [Heading(f"Sweep {self.name} · {self.sweep_id[:8]}: {n} points")]
        best = self.best
        if best is not None:
            where = ", ".join(f"{k}={fmt(best['parameters'].get(k))}" for k in self.keys)
            out.append(
                Note(
                    f"Best: point {best['point']} (run {best['run_id'][:8]}) with {self.metric} = "
                    f"{fmt(best['metrics'][self.metric])} ({where}).",
                    "ok",
                )
            )
        if failed:
            out.append(
                Note(
                    f"{len(failed)} of {n} points failed: "
                    + "; ".join(f"point {p['point']}: {p['error']}" for p in failed[:3])
                    + (" ..." if len(failed) > 3 else ""),
                    "alert",
                )
            )
        metrics = [self.metric] if self.metric else []
        for p in self.points:
            metrics += [k for k in sorted(p["metrics"]) if k not in metrics]
        metrics = metrics[:TABLE_METRICS]
        columns = ["rank", "point", "run", "status", *self.keys, *metrics, "duration", "attempts"]
        rows = [
            [
                rank + 1,
                p["point"],
                (p["run_id"] or "")[:8],
                status_cell(p["status"]),
                *[p["parameters"].get(k) for k in self.keys],
                *[p["metrics"].get(m) for m in metrics],
                fmt_duration(p["duration_s"]),
                p["attempts"],
            ]
            for rank, p in enumerate(self.points)
        ]
        goal = (
            f"ranked by {self.metric} ({'highest' if self.goal == 'max' else 'lowest'} first)"
            if self.metric
            else "in point order"
        )
        out.append(
            Table(columns, rows, footer=f"{n} points {goal}; `mlops job show <run>` opens one.")
        )
        chart = self._chart()
        if chart is not None:
            out.append(chart)
        fields: list[tuple[str, Any]] = [
            ("sweep run", self.sweep_id),
            ("status", status_cell(self.status)),
            ("executor", self.executor),
            ("duration", fmt_duration(self.duration_s)),
        ]
        if self.seed is not None:
            fields.append(("seed", self.seed))
        out.append(Fields(fields))
        return out

    def _chart(self) -> Chart | None:
        # a figure dict: plotly renders it in notebooks, and services stay free of plotly imports
        done = [
            p
            for p in self.points
            if p["status"] == "FINISHED" and _finite(p["metrics"].get(self.metric or ""))
        ]
        if self.metric is None or len(done) < 2 or not self.keys:
            return None
        values = [p["metrics"][self.metric] for p in done]
        title = {"text": f"{self.metric} across the sweep"}
        if len(self.keys) == 1:
            key = self.keys[0]
            pairs = sorted(
                ((p["parameters"].get(key), v) for p, v in zip(done, values, strict=True)),
                key=lambda kv: (not _finite(kv[0]), kv[0] if _finite(kv[0]) else _label(kv[0])),
            )
            x = [k if _finite(k) else _label(k) for k, _ in pairs]
            trace = {"type": "scatter", "mode": "lines+markers", "x": x, "y": [v for _, v in pairs]}
            layout = {
                "title": title,
                "height": 320,
                "xaxis": {"title": {"text": key}},
                "yaxis": {"title": {"text": self.metric}},
            }
            return Chart({"data": [trace], "layout": layout}, text="")
        dims = []
        for key in self.keys:
            column = [p["parameters"].get(key) for p in done]
            if all(_finite(v) for v in column):
                dims.append({"label": key, "values": column})
            else:
                labels = sorted({_label(v) for v in column})
                dims.append(
                    {
                        "label": key,
                        "values": [labels.index(_label(v)) for v in column],
                        "tickvals": list(range(len(labels))),
                        "ticktext": labels,
                    }
                )
        dims.append({"label": self.metric, "values": values})
        line = {"color": values, "colorscale": "Viridis", "showscale": True}
        return Chart(
            {
                "data": [{"type": "parcoords", "dimensions": dims, "line": line}],
                "layout": {"title": title, "height": 360},
            },
            text="",
        )


def rank_points(
    points: list[dict[str, Any]], metric: str | None, goal: str
) -> list[dict[str, Any]]:
    def key(p: dict[str, Any]) -> tuple[int, float, int]:
        value = p["metrics"].get(metric) if metric else None
        if p["status"] != "FINISHED":
            return 2, 0.0, p["point"]
        if value is None or not _finite(value):
            return 1, 0.0, p["point"]
        return 0, -float(value) if goal == "max" else float(value), p["point"]

    return sorted(points, key=key)


def point_entry(
    index: int, outcome: Any, keys: list[str], params: dict[str, Any]
) -> dict[str, Any]:

    swept = {k: params.get(k) for k in keys}
    if isinstance(outcome, JobResult):
        return {
            "point": index,
            "run_id": outcome.run_id,
            "status": outcome.status,
            "parameters": swept,
            "metrics": outcome.metrics,
            "duration_s": outcome.duration_s,
            "attempts": len(outcome.previous_attempts) + 1,
            "error": outcome.error,
        }
    message = str(outcome).splitlines()[0] if str(outcome) else ""
    return {
        "point": index,
        "run_id": None,
        "status": "FAILED",
        "parameters": swept,
        "metrics": {},
        "duration_s": None,
        "attempts": 1,
        "error": f"The worker failed: {type(outcome).__name__}: {message}",
    }


def sweep(
    notebook: str | os.PathLike[str],
    grid: Mapping[str, Sequence[Any]] | None = None,
    random: Mapping[str, Any] | None = None,
    *,
    samples: int | None = None,
    seed: int | None = None,
    points: Sequence[Mapping[str, Any]] | None = None,
    parameters: Mapping[str, Any] | None = None,
    metric: str | None = None,
    goal: str = "max",
    executor: str | None = None,
    retries: int = 0,
    name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    kernel: str | None = None,
    cwd: str | None = None,
    timeout: float | None = None,
    validated: bool = False,
    progress: bool = True,
    store: Store | None = None,
) -> SweepResult:
    """Run a notebook over a grid or random search; each point is a child job run of the sweep run.

    Example:
        >>> result = sweep("train.ipynb", grid={"C": [0.1, 1.0], "penalty": ["l1", "l2"]},
        ...                metric="accuracy", executor="process://?workers=2")  # doctest: +SKIP
        >>> result.best["run_id"]  # doctest: +SKIP
        '3f2a1b9c...'
    """

    if goal not in GOALS:
        raise InvalidInput(f"goal must be 'max' or 'min', not {goal!r}.")
    if metric is not None and (not isinstance(metric, str) or not metric):
        raise InvalidInput("metric must be the name of a metric the notebook logs.")
    store = store or open_current()
    space = sp.build(grid, random, samples, seed, points)
    fixed = prm.check(parameters)
    all_params = [prm.check({**fixed, **p}) for p in space.points]
    # first, so that an unreachable cluster fails fast and worker processes start while we prepare
    pool = open_executor(executor)
    try:
        nb = nbk.read_notebook(notebook)
        if validated:
            require_validation(nb, store=store, kernel=kernel)
        base = prepare(
            nb,
            fixed,
            store=store,
            name=name,
            tags=tags,
            kernel=kernel,
            cwd=cwd,
            timeout=timeout,
            retries=retries,
            validated=validated,
        )
        declared = nbk.declared_parameters(nb)
        warnings = prm.unknown({k: None for p in all_params for k in p}, declared, nb.path)
    except BaseException:
        pool.close()
        raise
    started = time.time()
    try:
        run = start_job_run(
            base.name, kind="sweep", notebook=nb.path, digest=nb.digest, store=store, tags=base.tags
        )
        with run:  # an exception ends the sweep run FAILED (KILLED on Ctrl-C) and goes on up
            spec_doc = {
                "grid": space.grid,
                "random": space.random,
                "samples": space.samples,
                "seed": space.seed,
                "points": len(space.points),
                "metric": metric,
                "goal": goal,
                "executor": pool.url,
                "retries": retries,
                "keys": space.keys,
            }
            run.log_params(fixed)
            with store.write() as conn:
                conn.execute(
                    insert(jobs).values(
                        run_id=run.id,
                        mode="sweep",
                        notebook=nb.path,
                        notebook_digest=nb.digest,
                        kernel=base.kernel,
                        cwd=base.cwd,
                        parameters=prm.to_json(fixed),
                        data_refs=prm.to_json(base.data_refs),
                        spec=prm.to_json(spec_doc),
                        executor=pool.url,
                        attempt=1,
                        validated=validated,
                        warnings=json.dumps(warnings),
                        timeout=timeout,
                    )
                )
                store.audit(
                    conn,
                    "sweep.start",
                    "run",
                    run.id,
                    notebook=nb.path,
                    digest=nb.digest,
                    spec=spec_doc,
                )
            env = dict(os.environ) if pool.url.startswith("process://") else None
            specs = [
                point_spec(
                    base,
                    params,
                    declared,
                    parent=run.id,
                    sweep_id=run.id,
                    point=i,
                    warnings=[],
                    name=f"{base.name}[{i}]",
                    executor=pool.url,
                    env=env,
                )
                for i, params in enumerate(all_params)
            ]
            result = _finish(
                run,
                _gather(pool, specs, space.keys, progress, base.name),
                base.name,
                nb.path,
                pool.url,
                space,
                metric,
                goal,
            )
    finally:
        pool.close()
    result.duration_s = time.time() - started
    return result


def _finish(
    run: Run,
    entries: list[dict[str, Any]],
    name: str,
    notebook: str,
    executor: str,
    space: sp.Space,
    metric: str | None,
    goal: str,
) -> SweepResult:
    """Rank the points, mark the best on the sweep run, and close it (FAILED when any point
    failed)."""
    ranked = rank_points(entries, metric, goal)
    failed = sorted(p["point"] for p in ranked if p["status"] != "FINISHED")
    error = None
    if failed:
        error = (
            f"{len(failed)} of {len(ranked)} points failed (point "
            f"{', '.join(map(str, failed[:10]))})."
        )
    result = SweepResult(
        run.id,
        name,
        notebook,
        "FAILED" if failed else "FINISHED",
        executor,
        space.keys,
        metric,
        goal,
        ranked,
        None,
        error,
        space.seed,
    )
    best = result.best
    if best is not None and metric is not None:
        run.set_tags(best_run=best["run_id"])
        run.log_metric(metric, best["metrics"][metric])
    run.end(result.status, error)
    return result


def _gather(
    pool: Any, specs: list[JobSpec], keys: list[str], progress: bool, name: str
) -> list[dict[str, Any]]:
    from tqdm.auto import tqdm  # lazy: start-up time

    entries: list[dict[str, Any]] = []
    bar = tqdm(total=len(specs), desc=f"Sweep {name}", unit="point", disable=not progress)
    try:
        for index, outcome in pool.map_unordered(run_point, specs):
            entries.append(point_entry(index, outcome, keys, specs[index].parameters))
            bad = sum(e["status"] != "FINISHED" for e in entries)
            if bad:
                bar.set_postfix(failed=bad)
            bar.update(1)
    finally:
        bar.close()
    return entries
