"""Durations and points in time as people type them: ``90s``, ``15min``, ``1h30m``, ``2d``,
``2026-11-01``.

``mlops gc --grace 1h`` takes a duration; ``mlops audit log --since 2d`` takes
a point in time, written as a duration ago or as an ISO date or date-time.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time

from .errors import InvalidInput

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|min|m|sec|s)", re.IGNORECASE)
_EXAMPLES = "such as 90s, 15min, 1h30m, 2d or 1w"


def parse_duration(text: object, what: str = "duration") -> float:
    """Seconds in a duration such as ``'1h30m'``; a bare number means seconds.

    Example:
        >>> parse_duration("1h30m"), parse_duration("45")
        (5400.0, 45.0)
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        seconds = float(text)
    elif isinstance(text, str):
        spec = text.strip().lower().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", spec):
            seconds = float(spec)
        elif spec and re.fullmatch(f"(?:{_PART.pattern})+", spec, re.IGNORECASE):
            seconds = sum(float(n) * _UNITS[unit.lower()] for n, unit in _PART.findall(spec))
        else:
            raise InvalidInput(f"{text[:40]!r} is not a {what}; write one {_EXAMPLES}.")
    else:
        raise InvalidInput(f"A {what} must be text {_EXAMPLES}, not {type(text).__name__}.")
    if not math.isfinite(seconds) or seconds < 0 or seconds > 100 * 365 * 86_400:
        raise InvalidInput(
            f"{text!r} is not a usable {what}; give a length from 0 to 100 years, {_EXAMPLES}."
        )
    return seconds


def parse_since(text: object) -> float:
    """Epoch seconds for ``'2d'`` (two days ago), ``'2026-11-01'`` or ``'2026-11-01T09:30'`` (local
    time unless it says).

    Example:
        >>> parse_since("1970-01-02T00:00+00:00")
        86400.0
    """
    if not isinstance(text, str):
        raise InvalidInput(
            f"A point in time must be text such as 2d or 2026-11-01, not {type(text).__name__}."
        )
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        moment = None
    if moment is not None:
        if moment.tzinfo is None:
            moment = moment.astimezone()  # a bare date or time is the user's local time
        return moment.timestamp()
    try:
        return time.time() - parse_duration(text, "time span")
    except InvalidInput:
        raise InvalidInput(
            f"{text[:40]!r} is not a point in time; write a duration ago ({_EXAMPLES}) "
            "or a date such as 2026-11-01 or 2026-11-01T09:30."
        ) from None
