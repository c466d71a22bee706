"""The command reference (docs/commands.md), generated from the click tree's own help texts."""

from __future__ import annotations

from collections.abc import Iterator

import click

from . import cli


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command below ``command`` (itself first), with its path of names."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "mlops")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, (*path, name))


def help_text(path: tuple[str, ...], command: click.Command) -> str:
    """The ``--help`` output of one command, as the terminal shows it."""
    parent = None
    names = ["mlops", *path]
    for i, name in enumerate(names):
        parent = click.Context(
            command if i == len(names) - 1 else click.Group(name),
            info_name=name,
            parent=parent,
            max_content_width=100,
            terminal_width=100,
            help_option_names=["-h", "--help"],
        )
    assert parent is not None
    return command.get_help(parent)


def markdown() -> str:
    """docs/commands.md: one section per command with its help text."""

    parts = [
        "# Command reference",
        "",
        "Generated from the commands' own help texts by `python -m nbmlops.commands.reference > "
        "docs/commands.md`;",
        "a test fails when this file is out of date or a command has no help.",
        "Every command works the same in a notebook: write `%mlops` where this page writes "
        "`mlops`.",
        "",
    ]
    for path, command in walk(cli):
        title = " ".join(("mlops", *path))
        parts += [f"## `{title}`", "", "```", help_text(path, command).rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    print(markdown(), end="")
