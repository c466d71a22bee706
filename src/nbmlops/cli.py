"""``mlops``: run the command tree, print the Result (text or ``--json``), exit non-zero on
errors."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from .commands import Session, cli, usage_error
from .errors import MlopsError
from .result import Result


def main(argv: Sequence[str] | None = None) -> None:
    """The ``mlops`` console script.

    Example:
        $ mlops runs list --filter "metrics.accuracy > 0.8" --sort -metrics.accuracy
    """

    session = Session()
    try:
        rv = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="mlops",
            standalone_mode=False,
            obj=session,
        )
    except MlopsError as e:
        click.echo(e.show(), err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:  # usage errors read like every other error: one line
        error = usage_error(e, "mlops")
        click.echo(error.show(), err=True)
        sys.exit(error.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if isinstance(rv, Result):
        click.echo(rv.to_json() if session.json else str(rv).rstrip("\n"))
        # a result can carry a verdict (a failed job, a failed validation): shown, then exit non-
        # zero
        code = rv.exit_code
        if code:
            sys.exit(code)
    elif isinstance(rv, int) and rv:
        sys.exit(rv)


if __name__ == "__main__":  # pragma: no cover
    main()
