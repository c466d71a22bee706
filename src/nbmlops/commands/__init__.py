"""The one command tree behind both ``mlops`` (terminal) and ``%mlops`` (notebook).

Each command parses its arguments, calls the Python API and returns a
:class:`~nbmlops.result.Result`; the CLI prints it and the magic displays it.
Sub-commands live in one module per concept and are imported only when used,
so ``%load_ext nbmlops`` and ``mlops --help`` stay fast.

The one difference between the two front ends: in a notebook a name such as
``df`` resolves to a variable of the user's namespace (see :func:`resolve`);
on the command line it is a file path.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import click

from ..errors import InvalidInput

# command name -> "module:attribute"; a concept adds its line here
LAZY_COMMANDS = {
    "init": "nbmlops.commands.workspace:init",
    "status": "nbmlops.commands.workspace:status",
    "copy": "nbmlops.commands.workspace:copy",
    "run": "nbmlops.commands.runs:run",
    "runs": "nbmlops.commands.runs:runs",
    "autolog": "nbmlops.commands.runs:autolog",
    "fsck": "nbmlops.commands.integrity:fsck",
    "gc": "nbmlops.commands.integrity:gc",
    "audit": "nbmlops.commands.audit:audit",
    "model": "nbmlops.commands.models:model",
    "evaluate": "nbmlops.commands.evaluate:evaluate",
    "job": "nbmlops.commands.jobs:job",
    "drift": "nbmlops.commands.drift:drift",
    "monitor": "nbmlops.commands.monitor:monitor",
    "data": "nbmlops.commands.data:data",
    "panel": "nbmlops.commands.panels:panel",
    "dashboard": "nbmlops.commands.dashboards:dashboard",
    "export": "nbmlops.commands.interop:export",
    "import": "nbmlops.commands.interop:import_",
}


@dataclasses.dataclass
class Session:
    """What the front end passes down: the notebook namespace and cell, output mode."""

    namespace: dict[str, Any] | None = None
    cell: str | None = None
    shell: Any = None
    json: bool = False

    @property
    def in_notebook(self) -> bool:
        return self.namespace is not None


def session() -> Session:
    """The :class:`Session` of the running command."""
    ctx = click.get_current_context()
    obj = ctx.find_object(Session)
    if obj is None:
        obj = ctx.ensure_object(Session)
    return obj


def resolve(name: str) -> Any:
    """A notebook variable called ``name`` if there is one, else ``name`` itself (a path or a ref).

    Example:
        >>> # %mlops data commit df --name loans   -> the DataFrame held by `df`
        >>> # mlops data commit df.csv --name loans -> the path "df.csv"
    """
    ns = session().namespace
    if ns is not None and name.isidentifier() and name in ns:
        return ns[name]
    if (
        ns is not None
        and "." in name
        and name.split(".", 1)[0].isidentifier()
        and name.split(".", 1)[0] in ns
    ):
        try:  # attribute access such as `splits.test`
            value: Any = ns[name.split(".", 1)[0]]
            for part in name.split(".")[1:]:
                value = getattr(value, part)
            return value
        except AttributeError:
            pass
    return name


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Session).json = True


def _add_json_option(command: click.Command) -> None:
    if not any(p.name == "json" for p in command.params):
        command.params.append(
            click.Option(
                ["--json"],
                is_flag=True,
                expose_value=False,
                callback=_set_json,
                is_eager=True,
                help="Print the result as JSON.",
            )
        )


class ResultCommand(click.Command):
    """A command that returns a Result; every one accepts ``--json``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _add_json_option(self)


class Group(click.Group):
    """A group whose sub-commands are imported on first use and return Results."""

    command_class = ResultCommand
    group_class = type  # sub-groups are Groups too

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})
        _add_json_option(self)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        _add_json_option(cmd)  # also for commands made with plain @click.command()
        super().add_command(cmd, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=Group, lazy=LAZY_COMMANDS, context_settings=CONTEXT)
@click.version_option(package_name="nbmlops", prog_name="nbmlops")
def cli() -> None:
    """nbmlops: version data, track experiments, register and gate models, watch drift,
    run notebooks as jobs and publish dashboards, from a notebook or a terminal.

    In a notebook, load the extension with %load_ext nbmlops and write %mlops
    before any command below; a name such as `df` then means the notebook
    variable, where the terminal reads a file path.
    """


def usage_error(e: click.ClickException, prog: str) -> Exception:
    """A click parsing error as one sentence (InvalidInput), with where to find help.

    Example:
        >>> # mlops runs list --limit x
        >>> # -> "Error: Invalid value for '--limit' ... (see mlops runs list --help)"
    """

    message = " ".join(e.format_message().split())
    if not message.endswith((".", "?", "!")):
        message += "."
    ctx = getattr(e, "ctx", None)
    if ctx is not None:
        path = ctx.command_path.split(" ", 1)
        message += f" (see {prog} {path[1] + ' ' if len(path) > 1 else ''}--help)"
    return InvalidInput(message)


def option_tags(value: tuple[str, ...]) -> dict[str, str]:
    """Parse repeated ``--tag key=value`` options."""

    out = {}
    for item in value:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--tag expects key=value, not {item!r}.")
        out[key] = val
    return out
