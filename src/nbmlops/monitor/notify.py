"""Alert notifiers: where a monitor's ALERT goes besides the notebook and the audit trail.

A notifier is found through the ``nbmlops.notifiers`` entry-point group. The
entry point names a class (instantiated without arguments) or a function; it
receives an :class:`Alert` through ``notify(alert)`` (or is called with it) and
returns a short description of what it did. The built-in ``logfile`` notifier
appends one JSON line per alert to ``.mlops/alerts.jsonl`` in the workspace
(``MLOPS_ALERT_LOG`` names another file). Nothing here makes network calls; a
notifier that does (chat, e-mail, paging) is a separate package.

A plugin package declares, in its ``pyproject.toml``::

    [project.entry-points."nbmlops.notifiers"]
    pager = "mypkg.alerts:PagerNotifier"
"""

from __future__ import annotations

import dataclasses
import json
import os
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

GROUP = "nbmlops.notifiers"


@dataclasses.dataclass
class Alert:
    """What a notifier receives: one monitor check that raised an alert."""

    monitor: str
    status: str
    reasons: list[str]
    at: str
    data: str
    reference: str
    model: str | None
    result_id: int
    evaluation_id: int | None
    actions: list[dict[str, Any]]
    workspace: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LogFileNotifier:
    """Append each alert as one JSON line to a log file (``.mlops/alerts.jsonl`` by default).

    Example:
        >>> LogFileNotifier("/tmp/alerts.jsonl").notify(alert)  # doctest: +SKIP
        'appended to /tmp/alerts.jsonl'
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None

    def target(self, alert: Alert) -> Path:
        if self.path is not None:
            return self.path
        configured = os.environ.get("MLOPS_ALERT_LOG")
        return Path(configured) if configured else Path(alert.workspace) / ".mlops" / "alerts.jsonl"

    def notify(self, alert: Alert) -> str:
        path = self.target(alert)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(alert.to_dict(), sort_keys=True, default=str)
        # one write of one line: appends from several processes interleave by line
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return f"appended to {path}"


BUILT_IN = {"logfile": LogFileNotifier}


def available() -> dict[str, Any]:
    """Every installed notifier by name: the built-in one plus the ``nbmlops.notifiers`` entry
    points.

    Example:
        >>> "logfile" in available()
        True
    """

    found: dict[str, Any] = dict(BUILT_IN)
    for point in entry_points(group=GROUP):
        if point.name not in BUILT_IN:
            found[point.name] = point
    return found


def check_names(names: list[str] | tuple[str, ...] | None) -> list[str] | None:
    """Refuse unknown notifier names (``None`` means every installed notifier).

    Example:
        >>> check_names(["logfile"])
        ['logfile']
    """
    if names is None:
        return None
    known = available()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            f"No notifier is called {', '.join(repr(n) for n in unknown)}; installed: "
            f"{', '.join(sorted(known))}."
        )
    return list(names)


def _instance(found: Any) -> Any:
    loaded = found.load() if hasattr(found, "load") and hasattr(found, "group") else found
    return loaded() if isinstance(loaded, type) else loaded


def send(alert: Alert, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Pass ``alert`` to each configured notifier; a failing notifier is reported, never raised.

    Example:
        >>> [o["status"] for o in send(alert, ["logfile"])]  # doctest: +SKIP
        ['sent']
    """
    known = available()
    outcomes = []
    for name in names if names is not None else sorted(known):
        if name not in known:
            outcomes.append(
                {"notifier": name, "status": "failed", "detail": "not installed any more"}
            )
            continue
        try:
            notifier = _instance(known[name])
            deliver = getattr(notifier, "notify", notifier)
            detail = deliver(alert)
            outcomes.append(
                {"notifier": name, "status": "sent", "detail": str(detail or "delivered")}
            )
        except Exception as e:  # noqa: BLE001 - a plugin's failure must not lose the recorded alert
            outcomes.append(
                {"notifier": name, "status": "failed", "detail": f"{type(e).__name__}: {e}"}
            )
    return outcomes
