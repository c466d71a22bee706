"""Docs never drift from the code: every command has help and an entry in docs/commands.md."""

from __future__ import annotations

from pathlib import Path

from nbmlops.commands import cli
from nbmlops.commands.reference import markdown, walk

ROOT = Path(__file__).resolve().parents[1]


def test_every_command_has_a_help_text():
    missing = [
        " ".join(path) or "mlops" for path, command in walk(cli) if not (command.help or "").strip()
    ]
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
    assert committed == markdown(), (
        "docs/commands.md is stale: python -m nbmlops.commands.reference > docs/commands.md"
    )


def test_every_relative_link_in_the_docs_points_at_a_file():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    broken = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.relative_to(root)} -> {target}")
    assert not broken, broken
