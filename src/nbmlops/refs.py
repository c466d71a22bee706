"""References that read the same everywhere: ``train@3``, ``train@latest``, ``churn@champion``, run
ids.

``name@N`` is version N, ``name@latest`` (or a bare ``name``) the newest,
``name@word`` a tag or alias, and ``name@<hex>`` a digest prefix when no tag of
that name exists. Runs are named by their id or any unique prefix of it.
"""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import Connection, Row, Table, select

from .errors import Ambiguous, InvalidInput, NotFound
from .store.meta import runs

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
SELECTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
RUN_PREFIX = re.compile(r"^[0-9a-f]{1,32}$")


@dataclasses.dataclass(frozen=True)
class Ref:
    """A parsed ``name@selector`` reference."""

    name: str
    selector: str = "latest"

    @property
    def version(self) -> int | None:
        """The version number when the selector is one."""
        return int(self.selector) if self.selector.isdigit() else None

    def __str__(self) -> str:
        return f"{self.name}@{self.selector}"


def check_name(name: object, what: str = "dataset") -> str:
    """Validate a dataset or model name: letters, digits, ``_ . -``; no paths or spaces.

    Example:
        >>> check_name("loans-2026")
        'loans-2026'
    """
    if not isinstance(name, str):
        raise InvalidInput(f"A {what} name must be text, not {type(name).__name__}.")
    if not NAME.match(name) or ".." in name:
        raise InvalidInput(
            f"{name[:60]!r} is not a valid {what} name; use up to 128 letters, digits, '_', '.' "
            "or '-', "
            "starting with a letter or digit (no spaces, slashes or '..')."
        )
    return name


def parse_ref(text: object, what: str = "dataset") -> Ref:
    """Split ``name@selector``; a bare name means ``@latest``.

    Example:
        >>> parse_ref("loans@3").version
        3
    """
    if not isinstance(text, str):
        raise InvalidInput(
            f"A {what} reference must be text such as 'loans@3', not {type(text).__name__}."
        )
    name, sep, selector = text.partition("@")
    check_name(name, what)
    if not sep:
        return Ref(name)
    if not SELECTOR.match(selector):
        raise InvalidInput(
            f"{text!r} is not a valid {what} reference; write {name}@3, {name}@latest or "
            f"{name}@<tag>."
        )
    return Ref(name, selector)


def check_selector_name(word: str, what: str = "tag") -> str:
    """A tag or alias may not look like a version number (``@3`` must stay unambiguous)."""
    if not isinstance(word, str) or not SELECTOR.match(word):
        raise InvalidInput(f"{word!r} is not a valid {what}; use letters, digits, '_', '.' or '-'.")
    if word.isdigit() or word == "latest":
        raise InvalidInput(
            f"{word!r} cannot be a {what}: it would collide with a version number or '@latest'."
        )
    return word


def row_named(
    conn: Connection, table: Table, name: str, *, missing: str, known: str, none: str
) -> Row:  # type: ignore[type-arg]
    """The row of ``table`` whose ``name`` is ``name``, or :class:`NotFound` listing up to five that
    exist.

    Example:
        >>> row_named(conn, models, "churn", missing="No model is named 'churn'",
        ...           known="registered models",
        ...           none="none is registered yet (model register)")  # doctest: +SKIP
    """
    row = conn.execute(select(table).where(table.c.name == name)).first()
    if row is None:
        names = conn.execute(select(table.c.name).order_by(table.c.name).limit(6)).scalars().all()
        listed = (
            f"; {known}: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}"
            if names
            else f"; {none}"
        )
        raise NotFound(f"{missing}{listed}.")
    return row


def resolve_run(conn: Connection, ref: object) -> Row:  # type: ignore[type-arg]
    """The ``runs`` row for a run id or a unique prefix of one.

    Example:
        >>> resolve_run(conn, "3f2a").id  # doctest: +SKIP
        '3f2a1b9c...'
    """
    if not isinstance(ref, str) or not RUN_PREFIX.match(ref.lower()):
        raise InvalidInput(
            f"{ref!r} is not a run id; run ids are hexadecimal, and any unique prefix works."
        )
    ref = ref.lower()
    if len(ref) == 32:
        row = conn.execute(select(runs).where(runs.c.id == ref)).first()
        if row is None:
            raise NotFound(f"No run has id {ref}.")
        return row
    found = conn.execute(select(runs).where(runs.c.id.like(ref + "%")).limit(6)).all()
    if not found:
        raise NotFound(f"No run id starts with {ref!r}.")
    if len(found) > 1:
        shown = ", ".join(r.id[: max(len(ref) + 2, 8)] for r in found[:5])
        raise Ambiguous(
            f"{ref!r} matches several runs ({shown}{', ...' if len(found) > 5 else ''}); give "
            "more characters."
        )
    return found[0]
