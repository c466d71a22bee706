"""``%mlops panel ...``: interactive panels (a notebook is needed; the terminal has the list commands)."""

from __future__ import annotations

import click

from ..errors import InvalidInput
from ..result import Result
from . import Group, session


def _need_notebook(what: str, instead: str) -> None:
    if not session().in_notebook:
        raise InvalidInput(f"The {what} panel needs a notebook (run %mlops panel {what} in JupyterLab); "
                           f"in a terminal use {instead}.")


@click.group(cls=Group)
def panel() -> None:
    """Interactive panels in a notebook: runs, models, drift, bias, jobs."""


@panel.command()
@click.option("--filter", "-f", "filter_", metavar="EXPR", help="Show only runs matching this filter.")
def runs(filter_: str | None) -> Result:
    """A table of runs (filter, sort, choose columns, select) with charts of the selected runs."""
    _need_notebook("runs", "mlops runs list")
    from ..panels.runs_view import runs as make

    return make(filter_)
