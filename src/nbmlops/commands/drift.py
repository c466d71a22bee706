"""``mlops drift REFERENCE CURRENT`` / ``%mlops drift ref_df new_batch``: data, prediction and
concept drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..result import Result
from . import resolve, session


def split_columns(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]`` (None stays None)."""
    if text is None:
        return None
    return [c.strip() for c in text.split(",") if c.strip()]


F = TypeVar("F", bound=Callable[..., Any])


def drift_options(command: F) -> F:
    """The options shared by ``drift`` and ``monitor create``: what to compare and how to decide."""
    options = [
        click.option(
            "--target",
            "-t",
            metavar="COLUMN",
            help="The label column: target drift and, with a prediction, quality against the "
            "reference.",
        ),
        click.option(
            "--prediction",
            "-p",
            metavar="COLUMN",
            help="The prediction or score column: prediction drift.",
        ),
        click.option(
            "--test",
            "tests",
            multiple=True,
            metavar="[COLUMN=]TEST",
            help="The deciding test of a column (income=psi) or of every column it fits (ks); "
            "tests: auto, "
            "ks, wasserstein, psi, chi2, jensenshannon. Repeatable.",
        ),
        click.option(
            "--threshold",
            "thresholds",
            multiple=True,
            metavar="NAME=VALUE",
            help="ks / chi2 p-value (0.05), wasserstein / jensenshannon distance (0.1), psi "
            "(0.2), missing "
            "share change (0.05), share of drifted columns (0.5), performance drop (0.05). "
            "Repeatable.",
        ),
        click.option(
            "--columns",
            "columns",
            metavar="COLUMNS",
            help="Compare only these comma-separated columns.",
        ),
        click.option(
            "--exclude",
            metavar="COLUMNS",
            help="Leave out these comma-separated columns (ids, free text).",
        ),
        click.option(
            "--time",
            "time_column",
            default="auto",
            show_default=True,
            metavar="COLUMN",
            help="The time axis for quality windows, not compared itself (auto: the only "
            "datetime column; "
            "none: no time axis).",
        ),
        click.option(
            "--window",
            metavar="LENGTH",
            help="Window of the quality-over-time view, e.g. 1d or 7d (default: at most 20 "
            "windows).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@click.argument("reference")
@click.argument("current")
@drift_options
@click.option(
    "--model",
    "-m",
    metavar="MODEL",
    help="Predict with this model (churn@production, a saved model file, or a notebook variable) "
    "when the "
    "data has no prediction column.",
)
@click.option(
    "--chunked",
    is_flag=True,
    default=None,
    help="Read both sides in batches (data larger than memory).",
)
@click.option(
    "--batch-rows",
    default=250_000,
    show_default=True,
    help="Rows per batch when reading in batches.",
)
@click.option(
    "--max-categories",
    default=100,
    show_default=True,
    help="Categories compared one by one before the rarest are pooled as one.",
)
@click.option(
    "--no-record", is_flag=True, help="Show the report without storing it as an evaluation."
)
def drift(
    reference: str,
    current: str,
    target: str | None,
    prediction: str | None,
    tests: tuple[str, ...],
    thresholds: tuple[str, ...],
    columns: str | None,
    exclude: str | None,
    time_column: str,
    window: str | None,
    model: str | None,
    chunked: bool | None,
    batch_rows: int,
    max_categories: int,
    no_record: bool,
) -> Result:
    """Compare CURRENT data with a REFERENCE column by column, with a verdict for the whole dataset.

    REFERENCE and CURRENT are dataset versions (loans@3), CSV or Parquet files,
    or in a notebook DataFrame variables. Numeric columns get the KS test,
    Wasserstein distance and PSI; categorical ones the chi-square test of
    homogeneity, Jensen-Shannon distance and PSI; one of them decides (see
    --test). With --target and --prediction the report adds model quality
    against the reference, per time window. The report is stored as an
    evaluation (evaluate show ID opens it again).
    """
    from ..drift import compare  # lazy: imports numpy

    return compare(
        resolve(reference),
        resolve(current),
        target=target,
        prediction=prediction,
        model=resolve(model) if model else None,
        tests=tests,
        thresholds=thresholds,
        columns=split_columns(columns),
        exclude=split_columns(exclude) or [],
        time=time_column,
        window=window,
        chunked=chunked or None,
        batch_rows=batch_rows,
        max_categories=max_categories,
        record=False if no_record else None,
        labels=(reference, current),
        in_notebook=session().in_notebook,
    )
