"""``mlops runs ...``, ``mlops run`` / ``%%mlops run``, and ``mlops autolog``."""

from __future__ import annotations

from typing import Any

import click

from ..errors import InvalidInput
from ..result import Result
from ..tracking.autolog import autolog as enable
from ..tracking.reading import (
    compare_runs,
    get_run,
    list_runs,
    metric_history,
    save_artifact,
)
from ..tracking.runs import tag_run
from ..tracking.tracked import run_cell, run_command
from . import Group, option_tags, session


@click.group(cls=Group, invoke_without_command=True)
@click.pass_context
def runs(ctx: click.Context) -> Result | None:
    """List, show and compare runs (`mlops runs` alone lists the latest)."""
    if ctx.invoked_subcommand is None:
        return list_runs()
    return None


@runs.command("list")
@click.option(
    "--filter",
    "-f",
    "filter_",
    metavar="EXPR",
    help="e.g. \"metrics.accuracy > 0.8 and params.penalty = 'l2'\".",
)
@click.option(
    "--sort",
    "-s",
    multiple=True,
    metavar="KEYS",
    help="e.g. -metrics.accuracy,params.C (a leading - sorts descending).",
)
@click.option("--limit", "-n", default=50, show_default=True, help="Runs per page.")
@click.option("--offset", default=0, show_default=True, help="Runs to skip (for the next pages).")
@click.option(
    "--columns",
    "-c",
    default=None,
    metavar="KEYS",
    help="Comma-separated params.*/metrics.* columns to show (default: the most common).",
)
def list_(
    filter_: str | None, sort: tuple[str, ...], limit: int, offset: int, columns: str | None
) -> Result:
    """List runs, newest first, with their params and latest metrics."""

    chosen = [c.strip() for c in columns.split(",")] if columns else None
    return list_runs(filter_, list(sort) or None, limit, offset, columns=chosen)


@runs.command()
@click.argument("ref")
def show(ref: str) -> Result:
    """Show one run: params, metrics and their history, artifacts, context."""

    return get_run(ref)


@runs.command()
@click.argument("refs", nargs=-1, required=True)
def compare(refs: tuple[str, ...]) -> Result:
    """Compare two or more runs side by side; differences are highlighted."""

    return compare_runs(list(refs))


@runs.command()
@click.argument("ref")
@click.argument("key")
def history(ref: str, key: str) -> Result:
    """Show every point of one metric of a run."""

    return metric_history(ref, key)


@runs.command()
@click.argument("ref")
@click.argument("tags", nargs=-1, required=True, metavar="KEY=VALUE...")
def tag(ref: str, tags: tuple[str, ...]) -> Result:
    """Set tags on a run (also a finished one)."""

    return tag_run(ref, option_tags(tags))


@runs.command()
@click.argument("ref")
@click.argument("name")
@click.option("--out", "-o", type=click.Path(dir_okay=False), required=True, help="File to write.")
def artifact(ref: str, name: str, out: str) -> Result:
    """Write an artifact of a run to a file."""

    return save_artifact(ref, name, out)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--name", help="Run name (default: the notebook or script name).")
@click.option(
    "--tag", "tag_items", multiple=True, metavar="KEY=VALUE", help="Tag the run (repeatable)."
)
@click.option("--notes", default="", help="A note to keep with the run.")
@click.option("--live", is_flag=True, help="In a notebook, chart the metrics while the cell runs.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(
    name: str | None, tag_items: tuple[str, ...], notes: str, live: bool, command: tuple[str, ...]
) -> Result:
    """Track a notebook cell (%%mlops run) or a command (mlops run -- python train.py) as one run.

    Code inside logs with mo.log_metric / mo.log_params / mo.log_artifact; the
    run fails if the cell raises or the command exits non-zero. With --live the
    cell shows its metrics as a chart that updates while the cell runs.
    """
    tags = option_tags(tag_items)
    s = session()
    if s.cell is not None:
        return run_cell(
            s.shell, s.cell, name=name, tags=tags, notes=notes, observe=_show_live if live else None
        )
    if live:
        raise InvalidInput(
            "--live draws a chart in a notebook; in a terminal, follow a run with mlops runs show."
        )
    if not command:
        raise InvalidInput(
            "Use %%mlops run as a cell magic in a notebook, or give a command: mlops run -- "
            "python train.py."
        )
    return run_command(command, name=name, tags=tags, notes=notes)


def _show_live(run: Any) -> Any:
    from IPython.display import display  # lazy: start-up time

    from ..panels.live_panel import live  # lazy: imports the widget libraries

    view = live(run)
    display(view)
    return view


@click.command()
@click.argument("flavor", type=click.Choice(["sklearn"]))
@click.option("--disable", is_flag=True, help="Stop autologging.")
def autolog(flavor: str, disable: bool) -> Result:
    """Log estimator params, fit time and training score for every fit() inside a run."""

    return enable(flavor, disable=disable)
