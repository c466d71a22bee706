"""``mlops evaluate ...`` / ``%mlops evaluate ...``: bias, slice stability and speed of a model.

In a notebook MODEL, X and Y name variables (a fitted model, a DataFrame, a
Series); on the command line MODEL is a saved model file or a registry
reference (``churn@3``), X a CSV/Parquet file or a dataset reference, and Y a
column of X or a file of labels.
"""

from __future__ import annotations

from typing import Any

import click

from ..errors import InvalidInput
from ..result import Result
from . import Group, resolve


def _inputs(
    model: str, x: str, y: str | None, target: str | None
) -> tuple[Any, Any, Any, tuple[str, str, str]]:

    if y is not None and target is not None:
        raise InvalidInput("Give the labels once: as the Y argument or as --target, not both.")
    label_name = y if y is not None else target
    labels = resolve(label_name) if label_name is not None else None
    return resolve(model), resolve(x), labels, (model, x, label_name or "y")


@click.group(cls=Group)
def evaluate() -> None:
    """Evaluate a model beyond accuracy: fairness across groups, stability across slices, speed and
    size.

    Each report is stored with the model version (when the model is registered)
    and with the active run; `evaluate list` and `evaluate show` open them again.
    """


@evaluate.command()
@click.argument("model")
@click.argument("x")
@click.argument("y", required=False)
@click.option(
    "--sensitive",
    "-s",
    required=True,
    metavar="COLUMNS",
    help="Comma-separated sensitive columns of X, e.g. gender,age_band (several give "
    "intersections).",
)
@click.option("--target", "-t", metavar="COLUMN", help="The label column of X (instead of Y).")
@click.option(
    "--positive",
    metavar="LABEL",
    help="The favourable label (needed unless labels are 0/1 or -1/1).",
)
@click.option(
    "--outcome",
    default="selection",
    show_default=True,
    help="What a positive prediction means, for the sentences (e.g. approval).",
)
@click.option(
    "--task",
    type=click.Choice(["auto", "classification", "regression"]),
    default="auto",
    show_default=True,
    help="Force the kind of model when it cannot be told from the model.",
)
@click.option(
    "--min-group-size",
    default=30,
    show_default=True,
    help="Groups with fewer rows are flagged as small.",
)
@click.option(
    "--threshold",
    default=0.8,
    show_default=True,
    help="Smallest acceptable ratio (four-fifths rule: 0.8).",
)
@click.option(
    "--bootstrap",
    "n_boot",
    default=0,
    show_default=True,
    help="Bootstrap resamples for confidence intervals (0 = none; 200 is typical).",
)
@click.option(
    "--confidence", default=0.95, show_default=True, help="Confidence level of the intervals."
)
@click.option("--seed", default=0, show_default=True, help="Seed of the bootstrap resampling.")
def bias(
    model: str,
    x: str,
    y: str | None,
    sensitive: str,
    target: str | None,
    positive: str | None,
    outcome: str,
    task: str,
    min_group_size: int,
    threshold: float,
    n_boot: int,
    confidence: float,
    seed: int,
) -> Result:
    """Fairness across groups: per-group rates, disparities, the four-fifths rule (numbers as
    fairlearn's)."""
    from ..evaluate import bias as run_bias  # lazy: imports numpy

    model_obj, rows, labels, names = _inputs(model, x, y, target)
    return run_bias(
        model_obj,
        rows,
        labels,
        sensitive=sensitive,
        positive=positive,
        outcome=outcome,
        task=task,
        min_group_size=min_group_size,
        threshold=threshold,
        n_boot=n_boot,
        confidence=confidence,
        seed=seed,
        labels=names,
    )


@evaluate.command()
@click.argument("model")
@click.argument("x")
@click.argument("y", required=False)
@click.option(
    "--by", "-b", metavar="COLUMNS", help="Comma-separated columns of X to slice by, e.g. region."
)
@click.option("--target", "-t", metavar="COLUMN", help="The label column of X (instead of Y).")
@click.option(
    "--folds", "-k", default=5, show_default=True, help="Disjoint random subsets to score."
)
@click.option(
    "--max-spread",
    default=0.1,
    show_default=True,
    help="Largest acceptable spread: absolute for rates (0.1 = 10 points), relative for errors.",
)
@click.option(
    "--positive", metavar="LABEL", help="The positive label for precision, recall and F1."
)
@click.option(
    "--min-slice-size",
    default=30,
    show_default=True,
    help="Slices with fewer rows are flagged as small.",
)
@click.option(
    "--bins", default=4, show_default=True, help="Quantile bins for numeric slice columns."
)
@click.option("--seed", default=0, show_default=True, help="Seed of the random subsets.")
@click.option(
    "--task",
    type=click.Choice(["auto", "classification", "regression"]),
    default="auto",
    show_default=True,
    help="Force the kind of model when it cannot be told from the model.",
)
def slices(
    model: str,
    x: str,
    y: str | None,
    by: str | None,
    target: str | None,
    folds: int,
    max_spread: float,
    positive: str | None,
    min_slice_size: int,
    bins: int,
    seed: int,
    task: str,
) -> Result:
    """Stability: metrics on k disjoint random subsets and on each slice of --by columns, spread
    flagged."""
    from ..evaluate import slices as run_slices  # lazy: imports numpy

    model_obj, rows, labels, names = _inputs(model, x, y, target)
    return run_slices(
        model_obj,
        rows,
        labels,
        by=by,
        folds=folds,
        max_spread=max_spread,
        seed=seed,
        task=task,
        positive=positive,
        min_slice_size=min_slice_size,
        bins=bins,
        labels=names,
    )


@evaluate.command()
@click.argument("model")
@click.argument("x")
@click.option(
    "--batch-size", default=1000, show_default=True, help="Rows per call for the batch latency."
)
@click.option(
    "--budget", default=10.0, show_default=True, help="Seconds to spend timing calls (at most)."
)
@click.option(
    "--no-cold-start", is_flag=True, help="Skip timing the import in a fresh Python process."
)
def perf(model: str, x: str, batch_size: int, budget: float, no_cold_start: bool) -> Result:
    """Speed and cost: latency p50/p95/p99 per row and per batch, throughput, size, peak memory,
    load and import time."""
    from ..evaluate import perf as run_perf  # lazy: imports numpy

    return run_perf(
        resolve(model),
        resolve(x),
        batch_size=batch_size,
        budget_s=budget,
        cold_start=not no_cold_start,
        labels=(model, x),
    )


@evaluate.command()
@click.argument("evaluation_id")
def show(evaluation_id: str) -> Result:
    """Open a stored evaluation (bias, slices, perf, gates or compare) by its id, e.g. 12 or #12."""
    from ..evaluate import open_report  # lazy: imports numpy

    return open_report(evaluation_id)


@evaluate.command("list")
@click.option(
    "--kind",
    type=click.Choice(["bias", "slices", "perf", "gates", "compare", "drift", "monitor"]),
    help="Only evaluations of this kind.",
)
@click.option(
    "--model",
    "model_ref",
    metavar="REF",
    help="Only evaluations of this model version, e.g. churn@3.",
)
@click.option("--limit", "-n", default=50, show_default=True, help="How many to show.")
def list_(kind: str | None, model_ref: str | None, limit: int) -> Result:
    """List stored evaluations, newest first."""
    from ..evaluate import list_reports  # lazy: imports numpy

    return list_reports(kind, model=model_ref, limit=limit)
