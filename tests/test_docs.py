"""Docs never drift from the code: every command has help and an entry in docs/commands.md."""

from __future__ import annotations

from pathlib import Path

from nbmlops.commands import cli
from nbmlops.commands.reference import markdown, walk

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_has_a_help_text():
    missing = [" ".join(path) or "mlops" for path, command in walk(cli) if not (command.help or "").strip()]
    assert missing == []


def test_every_option_has_a_help_text():
    missing = [
        f"{' '.join(path)} {param.opts[0]}"
        for path, command in walk(cli)
        for param in command.params
        if param.param_type_name == "option" and not getattr(param, "help", None)
    ]
    assert missing == []


def test_command_reference_is_up_to_date():
    committed = (ROOT / "docs" / "commands.md").read_text()
    assert committed == markdown(), "docs/commands.md is stale: python -m nbmlops.commands.reference > docs/commands.md"
