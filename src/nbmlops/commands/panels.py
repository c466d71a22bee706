"""``%mlops panel ...``: interactive panels (a notebook is needed; the terminal has the list
commands)."""

from __future__ import annotations

import click

from ..errors import InvalidInput
from ..result import Result
from . import Group, resolve, session


def _need_notebook(what: str, instead: str) -> None:
    if not session().in_notebook:
        raise InvalidInput(
            f"The {what} panel needs a notebook (run %mlops panel {what} in JupyterLab); "
            f"in a terminal use {instead}."
        )


@click.group(cls=Group)
def panel() -> None:
    """Interactive panels in a notebook: runs, models, data, drift, bias, jobs."""


@panel.command()
@click.option(
    "--filter", "-f", "filter_", metavar="EXPR", help="Show only runs matching this filter."
)
def runs(filter_: str | None) -> Result:
    """A table of runs (filter, sort, choose columns, select) with charts of the selected runs."""
    _need_notebook("runs", "mlops runs list")
    from ..panels.runs_panel import runs as make  # lazy: imports the widget libraries

    return make(filter_)


@panel.command()
@click.argument("name")
def models(name: str) -> Result:
    """A model's versions, aliases, gates and approvals, with buttons to request and approve
    promotions."""
    _need_notebook("models", f"mlops model show {name}")
    from ..panels.models_panel import models as make  # lazy: imports the widget libraries

    return make(name)


@panel.command()
@click.argument("name")
def data(name: str) -> Result:
    """A dataset's version timeline; select two versions to see their schema and statistic changes
    highlighted.

    NAME@N opens with version N compared against the one before it. One selected version shows
    its schema; a key column adds the rows added, removed and changed.
    """
    _need_notebook("data", f"mlops data log {name.split('@')[0]}")
    from ..panels.data_panel import data as make  # lazy: imports the widget libraries

    return make(name)


@panel.command()
@click.argument("source")
@click.argument("current", required=False)
def drift(source: str, current: str | None) -> Result:
    """Per-column drift of a stored evaluation (drift 12) or of two references (drift loans@3
    loans@4).

    Click a column for its reference and current histograms.
    """
    _need_notebook("drift", "mlops drift or mlops evaluate show")
    from ..panels.drift_panel import drift as make  # lazy: imports the widget libraries

    if current is None:
        return make(source)
    return make(resolve(source), resolve(current))


@panel.command()
@click.argument("evaluation")
def bias(evaluation: str) -> Result:
    """Group metrics of a stored bias evaluation as bars with the threshold line."""
    _need_notebook("bias", f"mlops evaluate show {evaluation}")
    from ..panels.bias_panel import bias as make  # lazy: imports the widget libraries

    return make(evaluation)


@panel.command()
@click.option(
    "--limit",
    "-n",
    default=100,
    show_default=True,
    type=click.IntRange(min=1),
    help="Jobs to show, newest first.",
)
def jobs(limit: int) -> Result:
    """Running and recent jobs and sweeps with their progress; refreshes while any job runs."""
    _need_notebook("jobs", "mlops job list")
    from ..panels.jobs_panel import jobs as make  # lazy: imports the widget libraries

    return make(limit)
