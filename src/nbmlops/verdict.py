"""Verdicts: the one way a check says whether it passed.

fsck, audit verify, data validation, gate checks, notebook validation and
reproduction each return a :class:`Verdict`: ``passed`` and the ``findings``
behind a failure, rendered like every other Result, with the command line
exiting 1 when the verdict failed (0 when it passed; errors that stop a check
from running exit with their own code, see docs/commands.md).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .result import Block, Note, Result, Table

FAILED_EXIT_CODE = 1


@dataclasses.dataclass
class Finding:
    """One thing a check found wrong: what, about which subject, and the detail."""

    what: str
    subject: str
    detail: str = ""


class Verdict(Result):
    """A Result that passes or fails.

    Subclasses say what was checked (``passed`` and ``findings``); the exit code
    and the JSON fields ``passed`` and ``findings`` follow from them.

    Example:
        >>> @dataclasses.dataclass
        ... class Spelling(Verdict):
        ...     typos: list[str]
        ...     @property
        ...     def findings(self):
        ...         return [Finding("typo", word) for word in self.typos]
        ...     def blocks(self):
        ...         return self.verdict_blocks("No typos.", "typo(s) found")
        >>> Spelling(["teh"]).passed, Spelling(["teh"]).exit_code, Spelling([]).exit_code
        (False, 1, 0)
    """

    @property
    def findings(self) -> list[Finding]:
        """What the check found wrong; empty when it passed."""
        return []

    @property
    def passed(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        explicit = self.__dict__.get("_exit_code")
        if explicit is not None:
            return int(explicit)
        return 0 if self.passed else FAILED_EXIT_CODE

    @exit_code.setter
    def exit_code(self, value: int) -> None:
        self.__dict__["_exit_code"] = int(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "passed": self.passed,
            "findings": [dataclasses.asdict(f) for f in self.findings],
        }

    def verdict_blocks(self, passed_text: str, failed_text: str) -> list[Block]:
        """The verdict sentence, and when it failed, a table of the findings."""
        if self.passed:
            return [Note(passed_text, "ok")]
        rows = [[f.what, f.subject, f.detail] for f in self.findings]
        return [
            Note(f"{len(rows)} {failed_text}.", "alert"),
            Table(["finding", "subject", "detail"], rows, marked_rows=set(range(len(rows)))),
        ]


__all__ = ["Verdict", "Finding", "FAILED_EXIT_CODE"]
