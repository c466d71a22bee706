"""``%mlops`` and ``%%mlops``: the command tree, run in-process inside IPython.

A line magic returns the command's Result, so ``res = %mlops runs list``
captures it and a bare ``%mlops runs list`` displays it. Names such as ``df``
resolve to notebook variables. Any :class:`~nbmlops.errors.MlopsError` raised
in the notebook, by a magic or by ``mo.*`` code, shows as one red line instead
of a traceback, and still stops "Run All" the way an error should.
"""

from __future__ import annotations

import shlex
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.utils.text import DollarFormatter

from .errors import InvalidInput, MlopsError

RED, RESET = "\x1b[31m", "\x1b[0m"
LONGEST_EXPANDED_LINE = 10_000


def expand_variables(line: str, namespace: dict[str, Any]) -> str:
    """``{expr}`` and ``$name`` filled in from the notebook, as IPython does for magics.

    IPython's own expansion takes minutes on a line of 100,000 characters, so only
    lines that ask for it (a brace or a dollar) and are of a sensible length are expanded.
    """
    if len(line) > LONGEST_EXPANDED_LINE or ("{" not in line and "$" not in line):
        return line

    try:
        return DollarFormatter().vformat(line, args=[], kwargs=namespace)
    except Exception:  # noqa: BLE001 - like IPython: a line that does not format is taken as written
        return line


@magics_class
class MlopsMagics(Magics):  # type: ignore[misc]
    @no_var_expand  # type: ignore[untyped-decorator]
    @line_cell_magic  # type: ignore[untyped-decorator]
    def mlops(self, line: str, cell: str | None = None) -> Any:
        """Run an nbmlops command: %mlops --help lists them."""
        import click  # lazy: %load_ext stays fast

        from .commands import Session, cli, usage_error  # lazy: %load_ext stays fast
        from .result import Result  # lazy: %load_ext stays fast

        line = expand_variables(line, self.shell.user_ns)
        try:
            args = shlex.split(line)
        except ValueError as e:
            raise InvalidInput(f"Cannot split the command line ({e}); check the quotes.") from None
        session = Session(namespace=self.shell.user_ns, cell=cell, shell=self.shell)
        try:
            rv = cli.main(args=args, prog_name="%mlops", standalone_mode=False, obj=session)
        except click.ClickException as e:
            raise usage_error(e, "%mlops") from None
        except click.exceptions.Abort:
            return None
        if isinstance(rv, Result):
            if session.json:
                print(rv.to_json())
                return None
            return rv
        return None


def _show_error(
    shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None
) -> None:
    """IPython custom exception handler: one red line for our errors.

    IPython ignores what a handler returns, so the line is shown here; ipykernel turns it into
    the cell's error output, and the cell still counts as failed.
    """
    message = value.show() if isinstance(value, MlopsError) else f"{etype.__name__}: {value}"
    shell._showtraceback(etype, value, [f"{RED}{message}{RESET}"])


def register(shell: Any) -> None:
    shell.register_magics(MlopsMagics)
    shell.set_custom_exc((MlopsError,), _show_error)
