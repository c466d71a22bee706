"""Who is acting: the identity written into audit events, requests and approvals."""

from __future__ import annotations

import functools
import getpass
import os


def current_user() -> str:
    """The workspace identity: ``MLOPS_USER`` or the operating-system user.

    Example:
        >>> os.environ["MLOPS_USER"] = "ada"; current_user()
        'ada'
    """
    return os.environ.get("MLOPS_USER") or _os_user()


@functools.lru_cache(maxsize=1)
def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid{os.getuid()}"
