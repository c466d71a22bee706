"""``mlops monitor ...`` / ``%mlops monitor ...``: stored drift and quality checks with alerts
and a retraining policy."""

from __future__ import annotations

import click

from ..monitor import check as run_check
from ..monitor import create as make
from ..monitor import history as monitor_history
from ..monitor import list_monitors, set_policy
from ..monitor import show as show_monitor
from ..monitor.retraining import RANK
from ..result import Result
from . import Group, resolve, session
from .drift import drift_options, split_columns


@click.group(cls=Group)
def monitor() -> None:
    """Watch a model's data: a stored reference and limits, checks of new batches with OK / WARN /
    ALERT.

    Alerts are shown in the notebook, written to the audit trail and passed to
    the notifiers (a built-in one appends to .mlops/alerts.jsonl; plugins come
    from the nbmlops.notifiers entry point). A retraining policy says what an
    alert triggers.
    """


@monitor.command()
@click.argument("name")
@click.option(
    "--reference",
    "-r",
    required=True,
    metavar="REF",
    help="The data new batches are compared with: a dataset version (loans@3, pinned now) or a "
    "CSV/Parquet file.",
)
@click.option(
    "--model",
    "-m",
    metavar="MODEL",
    help="The registered model watched (churn@production); it predicts when the data has no "
    "prediction column.",
)
@click.option(
    "--max-drift-share",
    type=float,
    metavar="SHARE",
    help="ALERT when more than this share of columns drifted (default: ALERT at dataset drift, "
    "see --threshold share).",
)
@click.option(
    "--min",
    "minimum",
    multiple=True,
    metavar="METRIC=VALUE",
    help='ALERT when a metric falls below this, e.g. "accuracy=0.82" (needs --target). Repeatable.',
)
@click.option(
    "--max",
    "maximum",
    multiple=True,
    metavar="METRIC=VALUE",
    help='ALERT when an error metric rises above this, e.g. "rmse=3.5" (needs --target). '
    "Repeatable.",
)
@drift_options
@click.option(
    "--notify",
    "notifiers",
    multiple=True,
    metavar="NAME",
    help="Notifiers to tell about alerts (default: every installed one, e.g. logfile). Repeatable.",
)
@click.option("--replace", is_flag=True, help="Redefine an existing monitor (its history is kept).")
def create(
    name: str,
    reference: str,
    model: str | None,
    max_drift_share: float | None,
    minimum: tuple[str, ...],
    maximum: tuple[str, ...],
    target: str | None,
    prediction: str | None,
    tests: tuple[str, ...],
    thresholds: tuple[str, ...],
    columns: str | None,
    exclude: str | None,
    time_column: str,
    window: str | None,
    notifiers: tuple[str, ...],
    replace: bool,
) -> Result:
    """Define a monitor: the reference, the model, the limits and the window of its checks."""

    return make(
        name,
        reference=resolve(reference),
        reference_label=reference,
        model=model,
        max_drift_share=max_drift_share,
        minimum=minimum,
        maximum=maximum,
        window=window,
        target=target,
        prediction=prediction,
        time_column=time_column,
        tests=tests,
        thresholds=thresholds,
        columns=split_columns(columns),
        exclude=split_columns(exclude) or [],
        notifiers=list(notifiers) or None,
        replace=replace,
    )


@monitor.command()
@click.argument("name")
@click.argument("data")
@click.option(
    "--fail-on",
    type=click.Choice(["alert", "warn"]),
    help="Exit non-zero (1) when the status is this or worse, for schedulers and CI.",
)
def check(name: str, data: str, fail_on: str | None) -> Result:
    """Compare new DATA with the monitor's reference and record OK / WARN / ALERT with the reasons.

    DATA is a dataset version, a CSV/Parquet file or, in a notebook, a DataFrame variable.
    """

    result = run_check(name, resolve(data), label=data, in_notebook=session().in_notebook)
    if fail_on is not None and RANK[result.status] >= RANK[fail_on.upper()]:
        result.exit_code = 1
    return result


@monitor.command()
@click.argument("name")
@click.option("--limit", "-n", default=200, show_default=True, help="Latest checks to show.")
def history(name: str, limit: int) -> Result:
    """Chart a monitor's checks over time: drift share, metrics and which columns drifted."""
    return monitor_history(name, limit=limit)


@monitor.command()
@click.argument("name")
@click.option(
    "--on",
    "on",
    type=click.Choice(["alert", "warn"]),
    default="alert",
    show_default=True,
    help="The status that triggers the policy.",
)
@click.option(
    "--retrain",
    metavar="NOTEBOOK",
    help="The retraining notebook; it needs a cell tagged 'parameters' that sets the data "
    "parameter.",
)
@click.option(
    "--approval",
    type=click.Choice(["required", "auto"]),
    help="required: a human approves the challenger; auto: promote it when the model's gates pass "
    "(default with --retrain: required).",
)
@click.option(
    "--max-age",
    metavar="DAYS",
    help="Also retrain when the production model is older than this, e.g. 30d.",
)
@click.option(
    "--data-parameter",
    default="data",
    show_default=True,
    help="The notebook parameter that receives the new data version.",
)
@click.option("--clear", is_flag=True, help="Remove the policy (alerts still go to the notifiers).")
def policy(
    name: str,
    on: str,
    retrain: str | None,
    approval: str | None,
    max_age: str | None,
    data_parameter: str,
    clear: bool,
) -> Result:
    """Set what an alert triggers: notify only, retrain and wait for approval, or retrain and
    promote automatically."""

    return set_policy(
        name,
        on=on,
        retrain=retrain,
        approval=approval,
        max_age=max_age,
        data_parameter=data_parameter,
        clear=clear,
    )


@monitor.command("list")
def list_() -> Result:
    """List monitors with their limits, policy and latest status."""

    return list_monitors()


@monitor.command()
@click.argument("name")
def show(name: str) -> Result:
    """Show a monitor's definition, retraining policy and latest checks."""
    return show_monitor(name)
