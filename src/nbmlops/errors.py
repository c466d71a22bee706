"""One exception root for everything nbmlops refuses to do.

Every failure a user can cause or fix is an :class:`MlopsError` carrying one
sentence they can act on and an exit code for the command line. Subclasses also
inherit the built-in exception they resemble, so ``except LookupError`` keeps
working for people who do not know our names.
"""

from __future__ import annotations

import importlib


class MlopsError(Exception):
    """The root of every error nbmlops raises on purpose.

    Example:
        >>> try:
        ...     raise NotFound("No run matches 'abc'.")
        ... except MlopsError as e:
        ...     print(e.exit_code, e)
        3 No run matches 'abc'.
    """

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def show(self) -> str:
        """The one line shown to the user."""
        return f"Error: {self.message}"


class InvalidInput(MlopsError, ValueError):
    """The input cannot be used as given (wrong type, bad syntax, out of range)."""

    exit_code = 2


class NotFound(MlopsError, LookupError):
    """A referenced thing (run, dataset, model, workspace) does not exist."""

    exit_code = 3


class Ambiguous(NotFound):
    """A reference matches more than one thing."""


class WorkspaceNotFound(NotFound):
    """No ``.mlops/`` folder was found and none was configured."""


class Conflict(MlopsError):
    """The request clashes with what is stored (a name taken, a state that forbids it)."""

    exit_code = 4


class IntegrityError(MlopsError):
    """Stored data does not match its digest or a reference is broken."""

    exit_code = 5


class StoreUnavailable(MlopsError, ConnectionError):
    """The metadata database or the object store cannot be reached."""

    exit_code = 6


class MissingDependency(MlopsError, ImportError):
    """An optional feature needs a package that is not installed."""

    exit_code = 7

    def __init__(self, package: str, extra: str, feature: str) -> None:
        super().__init__(
            f"{feature} needs the '{package}' package; install it with "
            f"pip install 'nbmlops[{extra}]'."
        )


class PermissionDenied(MlopsError, PermissionError):
    """The request is not allowed (read-only workspace, self-approval, ...)."""

    exit_code = 8


class GateFailed(Conflict):
    """A promotion was refused because a gate did not pass."""


def require(module: str, *, package: str, extra: str, feature: str):  # type: ignore[no-untyped-def]
    """Import an optional module or raise :class:`MissingDependency` with the pip command.

    Example:
        >>> s3fs = require("s3fs", package="s3fs", extra="s3",
        ...                feature="S3 objects")  # doctest: +SKIP
    """

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependency(package, extra, feature) from e


def check_page(limit: object, offset: object = 0, *, most: int | None = None) -> None:
    """Refuse a page size or offset that is not a whole number in range, in one sentence.

    Example:
        >>> check_page(50, 0, most=1000)
        >>> check_page(0)
        Traceback (most recent call last):
        nbmlops.errors.InvalidInput: limit must be a whole number from 1, not 0.
    """

    def whole(value: object) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    upper = 2**62 if most is None else most
    if not whole(limit) or not 1 <= limit <= upper:  # type: ignore[operator]
        span = f"from 1 to {most:,}" if most is not None else "from 1"
        raise InvalidInput(f"limit must be a whole number {span}, not {limit!r}.")
    if not whole(offset) or not 0 <= offset < 2**62:  # type: ignore[operator]
        raise InvalidInput(f"offset must be a whole number from 0, not {offset!r}.")
