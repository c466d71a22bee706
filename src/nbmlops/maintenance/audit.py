"""Read and verify the audit trail: ``mlops audit log`` and ``mlops audit verify``.

Every write appends a hash-chained event in the same transaction (see
``store/audit.py``); there is no API to change or remove one. ``verify``
re-hashes the whole chain and names the first edited, deleted or reordered
event. A chain rewritten from scratch re-hashes cleanly, so ``verify`` prints
the head (sequence number and hash): keep it somewhere else (a ticket, a CI
log) and pass it back as ``--anchor SEQ:HASH`` to prove nothing before it
changed.

What is audited: run start, end and killed (reaped), params, tags, notes and
artifacts of runs, evaluations, and gc removing objects. Metric points are not
(thousands a second; their run's start and end are), nor heartbeats.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from ..errors import InvalidInput, check_page
from ..result import Block, Fields, Note, Result, Table
from ..store.audit_chain import verify as verify_chain
from ..store.meta import audit_events, audit_head
from ..timespec import parse_since
from ..verdict import Finding, Verdict
from ..workspace import open_current

if TYPE_CHECKING:
    from ..store import Store

_ENTITY = re.compile(r"^([a-z_]{1,32})(?::(.{1,255}))?$")
_ACTION = re.compile(r"^[A-Za-z0-9_.*\-]{1,64}$")
_ANCHOR = re.compile(r"^(\d{1,18}):([0-9a-f]{8,64})$")
DETAIL_WIDTH = 80


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _details(payload: dict[str, Any]) -> str:
    text = ", ".join(
        f"{k}={json.dumps(v, default=str) if not isinstance(v, str) else v}"
        for k, v in payload.items()
    )
    return text if len(text) <= DETAIL_WIDTH else text[: DETAIL_WIDTH - 1] + "…"


@dataclasses.dataclass(repr=False)
class AuditLog(Result):
    """A page of audit events, newest first."""

    events: list[dict[str, Any]]
    total: int
    offset: int
    filters: dict[str, str]

    def blocks(self) -> list[Block]:
        if not self.events:
            where = (
                " matching " + ", ".join(f"{k}={v}" for k, v in self.filters.items())
                if self.filters
                else ""
            )
            return [
                Note(
                    f"No audit events{where} ({self.total} in all)."
                    if self.offset == 0
                    else f"No events past {self.offset}; there are {self.total}."
                )
            ]
        rows = [
            [
                e["seq"],
                e["ts"][:19].replace("T", " "),
                e["user"],
                e["action"],
                f"{e['entity_type']} {e['entity_id'][:12]}",
                _details(e["payload"]),
            ]
            for e in self.events
        ]
        first, last = self.offset + 1, self.offset + len(self.events)
        more = f"; --offset {last} shows the next page" if last < self.total else ""
        return [
            Table(
                ["seq", "time (UTC)", "user", "action", "entity", "details"],
                rows,
                footer=f"Events {first}-{last} of {self.total}, newest first{more}.",
            )
        ]


def audit_log(
    entity: str | None = None,
    action: str | None = None,
    user: str | None = None,
    since: str | None = None,
    limit: int = 50,
    offset: int = 0,
    *,
    store: Store | None = None,
) -> AuditLog:
    """Audit events, newest first: ``entity`` is ``run`` or ``run:<id prefix>``, ``action`` may use
    ``*``.

    Example:
        >>> audit_log(entity="run:3f2a", action="run.*", since="2d").to_frame()  # doctest: +SKIP
    """
    check_page(limit, offset, most=10_000)
    conditions = []
    filters: dict[str, str] = {}
    if entity is not None:
        m = _ENTITY.match(entity) if isinstance(entity, str) else None
        if m is None:
            raise InvalidInput(
                f"{str(entity)[:40]!r} is not an entity filter; write a type such as run, or "
                "run:3f2a."
            )
        conditions.append(audit_events.c.entity_type == m[1])
        if m[2]:
            conditions.append(audit_events.c.entity_id.like(_like(m[2]) + "%", escape="\\"))
        filters["entity"] = entity
    if action is not None:
        if not isinstance(action, str) or not _ACTION.match(action):
            raise InvalidInput(
                f"{str(action)[:40]!r} is not an action filter; write one such as run.end or run.*."
            )
        conditions.append(
            audit_events.c.action.like(_like(action), escape="\\")
            if "*" in action
            else audit_events.c.action == action
        )
        filters["action"] = action
    if user is not None:
        if not isinstance(user, str) or not user or len(user) > 255:
            raise InvalidInput("A user filter must be a name of 1 to 255 characters.")
        conditions.append(audit_events.c.username == user)
        filters["user"] = user
    if since is not None:
        cutoff = dt.datetime.fromtimestamp(parse_since(since), dt.UTC).isoformat(
            timespec="microseconds"
        )
        conditions.append(audit_events.c.ts >= cutoff)  # ISO UTC timestamps sort as text
        filters["since"] = since
    store = store or open_current()
    with store.read() as conn:
        total = conn.execute(
            select(func.count()).select_from(audit_events).where(*conditions)
        ).scalar_one()
        rows = conn.execute(
            select(audit_events)
            .where(*conditions)
            .order_by(audit_events.c.seq.desc())
            .limit(limit)
            .offset(offset)
        ).all()
    events = [
        {
            "seq": r.seq,
            "ts": r.ts,
            "user": r.username,
            "action": r.action,
            "entity_type": r.entity_type,
            "entity_id": r.entity_id,
            "payload": _payload(r.payload),
            "hash": r.hash,
        }
        for r in rows
    ]
    return AuditLog(events, total, offset, filters)


def _payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"unreadable": text[:200]}
    return value if isinstance(value, dict) else {"value": value}


@dataclasses.dataclass(repr=False)
class AuditVerdict(Verdict):
    """The outcome of ``mlops audit verify``."""

    events: int
    first_bad: int | None
    reason: str
    head_seq: int
    head_hash: str
    anchor: str | None = None

    @property
    def findings(self) -> list[Finding]:
        if self.first_bad is None:
            return []
        return [Finding("audit event", f"event {self.first_bad}", self.reason)]

    def blocks(self) -> list[Block]:
        if self.passed:
            checked = f"; anchor {self.anchor} matches" if self.anchor else ""
            note = Note(
                f"The audit trail is intact: {self.events} events re-hashed and linked{checked}.",
                "ok",
            )
        else:
            note = Note(f"The audit trail was tampered with: {self.reason}.", "alert")
        fields: list[tuple[str, Any]] = [("events checked", self.events)]
        if not self.passed:
            fields.append(("first bad event", self.first_bad))
        return [
            note,
            Fields(fields),
            Note(
                f"Head {self.head_seq}:{self.head_hash}; keep it elsewhere and pass it as "
                "--anchor to a later "
                "verify to prove nothing before it changed."
            ),
        ]


def verify_audit(anchor: str | None = None, *, store: Store | None = None) -> AuditVerdict:
    """Re-hash the audit chain and name the first bad event; ``anchor`` (``SEQ:HASH``) must still
    match.

    Example:
        >>> verdict = verify_audit()  # doctest: +SKIP
        >>> verdict.passed, f"{verdict.head_seq}:{verdict.head_hash}"  # doctest: +SKIP
        (True, '42:9c1f...')
    """
    wanted = None
    if anchor is not None:
        m = _ANCHOR.match(anchor.strip().lower()) if isinstance(anchor, str) else None
        if m is None:
            raise InvalidInput(
                f"{str(anchor)[:80]!r} is not an anchor; pass SEQ:HASH as printed by mlops audit "
                "verify."
            )
        wanted = (int(m[1]), m[2])
    store = store or open_current()
    with store.read() as conn:
        verdict = verify_chain(conn)
        head_seq, head_hash = conn.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
        ).one()
        first_bad, reason = verdict.first_bad, verdict.reason
        if wanted is not None:
            seq, prefix = wanted
            stored = conn.execute(
                select(audit_events.c.hash).where(audit_events.c.seq == seq)
            ).scalar()
            if seq > head_seq and (first_bad is None or head_seq + 1 < first_bad):
                first_bad, reason = (
                    head_seq + 1,
                    f"event {head_seq + 1} and those after it were deleted (the anchor names "
                    f"event {seq})",
                )
            elif (stored is None or not stored.startswith(prefix)) and (
                first_bad is None or seq < first_bad
            ):
                lost = "is missing" if stored is None else "has another hash"
                first_bad, reason = (
                    seq,
                    f"anchored event {seq} {lost}: the chain up to it was rewritten",
                )
    return AuditVerdict(verdict.events, first_bad, reason, int(head_seq), head_hash, anchor)


__all__ = ["audit_log", "verify_audit", "AuditLog", "AuditVerdict"]
