"""``mlops dashboard ...``: publish a model's dashboard, serve it with Voila, export it as static
HTML."""

from __future__ import annotations

import click

from ..result import Result
from . import Group


@click.group(cls=Group)
def dashboard() -> None:
    """Read-only dashboards for business readers: goals met or not, trend, drift, fairness,
    approvals."""


@dashboard.command()
@click.argument("model")
@click.option(
    "--goal",
    "goals",
    multiple=True,
    metavar="METRIC>=VALUE",
    help="A goal such as accuracy>=0.85 (repeatable; same syntax as gates).",
)
@click.option("--title", default=None, help="The page title (default: '<model>: model health').")
def publish(model: str, goals: tuple[str, ...], title: str | None) -> Result:
    """Write the dashboard notebook of MODEL (dashboards/MODEL.ipynb) with its goals."""
    from ..dashboards import publish as run  # lazy: imports numpy

    return run(model, list(goals), title=title)


@dashboard.command()
@click.argument("model")
@click.option(
    "--port",
    default=8866,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port Voila listens on.",
)
@click.option(
    "--ip",
    default="127.0.0.1",
    show_default=True,
    help="Address Voila listens on; 0.0.0.0 shares the dashboard on the network (Voila asks for "
    "no login).",
)
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
def serve(model: str, port: int, ip: str, no_browser: bool) -> Result:
    """Serve the published dashboard of MODEL with Voila, read-only and without code, until
    Ctrl-C."""
    from ..dashboards import serve as run  # lazy: imports numpy

    return run(model, port=port, browser=not no_browser, ip=ip)


@dashboard.command()
@click.argument("model")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="File to write (default: MODEL-dashboard.html).",
)
def export(model: str, out: str | None) -> Result:
    """Write the dashboard of MODEL as one self-contained HTML file that opens with no server."""
    from ..dashboards import export as run  # lazy: imports numpy

    return run(model, out)
