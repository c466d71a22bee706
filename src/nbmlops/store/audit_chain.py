"""The append-only, hash-chained audit trail.

Every write appends an event in the same transaction as the write itself: who,
when, what, and the hash of the previous event. Appending first updates the one
``audit_head`` row, which takes a row lock on PostgreSQL (SQLite writers are
already serialised), so concurrent writers can never fork the chain. Editing,
deleting or reordering any event breaks the chain and :func:`verify` names the
first bad one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import blake3
from sqlalchemy import Connection, bindparam, insert, select, update

from .meta import audit_events, audit_head

GENESIS = "0" * 64

# built once: SQLAlchemy memoises the compiled form of a statement object
_ADVANCE_HEAD = (
    update(audit_head)
    .where(audit_head.c.id == 1)
    .values(seq=audit_head.c.seq + 1)
    .returning(audit_head.c.seq, audit_head.c.hash)
)
_INSERT_EVENT = insert(audit_events)
_SET_HEAD_HASH = update(audit_head).where(audit_head.c.id == 1).values(hash=bindparam("head_hash"))


def canonical(payload: Any) -> str:
    """The exact JSON text that is stored and hashed."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str, allow_nan=True)


def event_hash(
    seq: int,
    ts: str,
    username: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: str,
    prev_hash: str,
) -> str:
    text = "\x1f".join([str(seq), ts, username, action, entity_type, entity_id, payload, prev_hash])
    return blake3.blake3(text.encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    *,
    username: str,
    action: str,
    entity_type: str,
    entity_id: str,
    payload: dict[str, Any] | None = None,
) -> int:
    """Append one event inside the caller's write transaction; returns its sequence number.

    Example:
        >>> with store.write() as conn:  # doctest: +SKIP
        ...     append(conn, username="ada", action="run.start", entity_type="run",
        ...            entity_id=run_id)
    """
    seq, prev = conn.execute(_ADVANCE_HEAD).one()
    ts = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    body = canonical(payload or {})
    digest = event_hash(seq, ts, username, action, entity_type, str(entity_id), body, prev)
    conn.execute(
        _INSERT_EVENT,
        {
            "seq": seq,
            "ts": ts,
            "username": username,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "payload": body,
            "prev_hash": prev,
            "hash": digest,
        },
    )
    conn.execute(_SET_HEAD_HASH, {"head_hash": digest})
    return int(seq)


@dataclasses.dataclass
class ChainCheck:
    """The outcome of re-hashing the chain: how many events, and the first bad one."""

    events: int
    first_bad: int | None = None
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.first_bad is None


def verify(conn: Connection, *, batch: int = 5000) -> ChainCheck:
    """Re-hash every event in order and check the links and the head.

    Example:
        >>> with store.read() as conn:  # doctest: +SKIP
        ...     verify(conn).passed
        True
    """
    head_seq, head_hash = conn.execute(
        select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
    ).one()
    expected_seq, prev, count = 1, GENESIS, 0
    last_seq = 0
    while True:
        rows = conn.execute(
            select(audit_events)
            .where(audit_events.c.seq > last_seq)
            .order_by(audit_events.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for r in rows:
            count += 1
            if r.seq != expected_seq:
                return ChainCheck(
                    count,
                    expected_seq,
                    f"event {expected_seq} is missing (the next stored event is {r.seq})",
                )
            if r.prev_hash != prev:
                return ChainCheck(
                    count,
                    r.seq,
                    f"event {r.seq} does not link to event {r.seq - 1} (deleted, reordered or "
                    "edited)",
                )
            recomputed = event_hash(
                r.seq,
                r.ts,
                r.username,
                r.action,
                r.entity_type,
                r.entity_id,
                r.payload,
                r.prev_hash,
            )
            if recomputed != r.hash:
                return ChainCheck(
                    count,
                    r.seq,
                    f"event {r.seq} ({r.action} by {r.username}) was edited after it was written",
                )
            prev, expected_seq, last_seq = r.hash, r.seq + 1, r.seq
    if last_seq < head_seq:
        return ChainCheck(
            count,
            last_seq + 1,
            f"event {last_seq + 1} and those after it were deleted (the chain head says "
            f"{head_seq})",
        )
    if last_seq > head_seq:
        return ChainCheck(
            count,
            head_seq + 1,
            f"event {head_seq + 1} was added outside nbmlops (the chain head says {head_seq})",
        )
    if prev != head_hash:
        return ChainCheck(
            count,
            last_seq,
            f"event {last_seq} was replaced (its hash differs from the chain head's)",
        )
    return ChainCheck(count)
