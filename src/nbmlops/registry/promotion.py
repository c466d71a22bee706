"""Gate sets, promotion, approval and rejection: every move recorded and audited.

``promote`` checks the model's gates against what is stored for the version and
records that check as an evaluation. A failing gate refuses the promotion, which
is recorded too. When the model requires approval, a passing promotion becomes
a pending request that a different user must approve (the gates are checked
again then, since evaluations may have changed); otherwise the alias moves.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from ..errors import Conflict, GateFailed, InvalidInput, NotFound, PermissionDenied
from ..evaluate.storage import record_evaluation
from ..modelstore.versions import find_version, model_row, version_ref
from ..refs import check_name, check_selector_name, parse_ref
from ..result import Block, Message, Note, Result
from ..store.meta import model_aliases, model_transitions, models
from ..workspace import open_current
from .aliases import point_alias
from .gates import GateReport, evaluate_gates, parse_gate
from .views import history_table, transitions_of

if TYPE_CHECKING:
    from ..store import Store


def gate(
    name: str,
    *,
    require: Sequence[str] = (),
    approval: bool | None = None,
    clear: bool = False,
    store: Store | None = None,
) -> Message:
    """Set the gates a version of ``name`` must pass to be promoted, and whether a second person
    must approve.

    ``require`` replaces the gate set; ``clear=True`` removes it; with neither, the
    current set is shown.

    Example:
        >>> mo.models.gate("churn", require=["accuracy>=0.85", "p95_latency_ms<=20"],
        ...                approval=True)  # doctest: +SKIP
    """
    check_name(name, "model")
    if isinstance(require, str):
        require = [require]
    parsed = [
        parse_gate(text).text for text in require
    ]  # refuse a bad gate before writing anything
    store = store or open_current()
    if not parsed and approval is None and not clear:
        with store.read() as conn:
            model = model_row(conn, name)
        return Message(
            f"Gates of {name}: {', '.join(json.loads(model.gates)) or 'none'}; approval "
            f"{'required' if model.requires_approval else 'not required'}."
        )
    with store.write() as conn:
        model = model_row(conn, name)
        values: dict[str, Any] = {}
        if parsed or clear:
            values["gates"] = json.dumps(parsed)
        if approval is not None:
            values["requires_approval"] = bool(approval)
        conn.execute(update(models).where(models.c.id == model.id).values(**values))
        gates = parsed if (parsed or clear) else json.loads(model.gates)
        needs = bool(approval) if approval is not None else bool(model.requires_approval)
        store.audit(conn, "model.gates", "model", name, gates=gates, requires_approval=needs)
    shown = ", ".join(gates) if gates else "none"
    return Message(
        f"Gates of {name}: {shown}; approval {'required' if needs else 'not required'}.",
        "ok",
        [("gates", shown), ("approval", "required" if needs else "not required")],
    )


def check_gates(
    ref: str, *, alias: str | None = None, record: bool = True, store: Store | None = None
) -> GateReport:
    """Check the model's gates against what is stored for the version ``ref`` (recorded as an
    evaluation).

    Example:
        >>> mo.models.check_gates("churn@3").passed  # doctest: +SKIP
        True
    """
    store = store or open_current()
    with store.read() as conn:
        row = find_version(conn, ref)
        gates = json.loads(
            conn.execute(select(models.c.gates).where(models.c.id == row.model_id)).scalar_one()
        )
    report = GateReport(
        version_ref(row),
        alias,
        evaluate_gates(row, gates, store),
        subject={"model": version_ref(row), "model_ref": version_ref(row), "alias": alias},
    )
    if record and gates:
        report.evaluation_id = record_evaluation(
            "gates",
            subject=report.subject or {},
            summary=report.summary,
            report=dataclasses.asdict(report),
            passed=report.passed,
            model_version_id=row.id,
            store=store,
        )
    return report


def _transition(
    conn: Connection,
    store: Store,
    row: Any,
    alias: str,
    action: str,
    status: str,
    *,
    note: str = "",
    request_id: int | None = None,
    evaluation_id: int | None = None,
) -> int:
    tid = conn.execute(
        insert(model_transitions)
        .values(
            version_id=row.id,
            alias=alias,
            action=action,
            status=status,
            request_id=request_id,
            evaluation_id=evaluation_id,
            username=store.user,
            at=time.time(),
            note=note,
        )
        .returning(model_transitions.c.id)
    ).scalar_one()
    store.audit(
        conn,
        f"model.{action}",
        "model_version",
        version_ref(row),
        alias=alias,
        status=status,
        request_id=request_id,
        evaluation_id=evaluation_id,
        note=note,
    )
    return int(tid)


def _pending(conn: Connection, version_id: int, alias: str, *, lock: bool = False) -> Any:
    query = select(model_transitions).where(
        model_transitions.c.version_id == version_id,
        model_transitions.c.alias == alias,
        model_transitions.c.action == "request",
        model_transitions.c.status == "pending",
    )
    return conn.execute(query.with_for_update() if lock else query).first()


def awaiting_approval(conn: Connection, ref: str, alias: str) -> bool:
    """Whether the promotion of version ``ref`` to ``alias`` awaits a decision.

    Example:
        >>> with store.read() as conn: awaiting_approval(conn, "churn@4",
        ...                                              "production")  # doctest: +SKIP
        True
    """
    return _pending(conn, find_version(conn, ref).id, alias) is not None


def _gate_failure(ref: str, alias: str, report: GateReport, when: str) -> GateFailed:
    first = report.failures[0]
    more = f" (and {len(report.failures) - 1} more)" if len(report.failures) > 1 else ""
    return GateFailed(
        f"{ref} was not {when} {alias}: gate {first['gate']} failed, {first['reason']}{more}."
    )


def promote(
    ref: str, *, to: str, note: str = "", approval: bool | None = None, store: Store | None = None
) -> Message:
    """Move alias ``to`` to the version ``ref`` if its gates pass (or ask for approval when
    required).

    ``approval=True`` asks for a second person's approval even when the model does
    not require one (a retraining policy at the approval level does).

    Example:
        >>> mo.models.promote("churn@3", to="production")  # doctest: +SKIP
    """
    check_selector_name(to, "model alias")
    parse_ref(ref, "model")
    store = store or open_current()
    with store.read() as conn:
        row = find_version(conn, ref)
        model = conn.execute(select(models).where(models.c.id == row.model_id)).one()
        current = conn.execute(
            select(model_aliases.c.version_id).where(
                model_aliases.c.model_id == row.model_id, model_aliases.c.alias == to
            )
        ).scalar()
        waiting = _pending(conn, row.id, to)
    name = version_ref(row)
    needs_approval = bool(model.requires_approval) if approval is None else bool(approval)
    if current == row.id:
        return Message(f"{name} already is {row.name}@{to}; nothing changed.")
    if waiting is not None and needs_approval:
        return Message(
            f"{name} → {to} already awaits approval (requested by {waiting.username}).", "warn"
        )
    report = check_gates(name, alias=to, store=store)
    previous = None
    with store.write() as conn:
        if not report.passed:
            _transition(
                conn,
                store,
                row,
                to,
                "promote",
                "refused",
                note=note,
                evaluation_id=report.evaluation_id,
            )
        elif needs_approval:
            _transition(
                conn,
                store,
                row,
                to,
                "request",
                "pending",
                note=note,
                evaluation_id=report.evaluation_id,
            )
        else:
            if waiting is not None:  # asked for while approval was required; no longer needed
                conn.execute(
                    update(model_transitions)
                    .where(model_transitions.c.id == waiting.id)
                    .values(status="superseded")
                )
            previous = point_alias(
                conn,
                store,
                row.model_id,
                row.id,
                name,
                to,
                action="promote",
                note=note,
                evaluation_id=report.evaluation_id,
            )
    if not report.passed:
        raise _gate_failure(name, to, report, "promoted to")
    if needs_approval:
        return Message(
            f"{name} → {to} passed its gates and awaits approval: someone other than "
            f"{store.user} must run "
            f"model approve {name} --to {to}.",
            "warn",
            [("gates", report.sentence())],
        )
    was = f" (was version {previous})" if previous else ""
    return Message(f"{row.name}@{to} is now version {row.version}{was}. {report.sentence()}", "ok")


def approve(ref: str, *, to: str, note: str = "", store: Store | None = None) -> Message:
    """Approve a pending promotion; the approver must not be the user who requested it.

    Example:
        >>> mo.models.approve("churn@3", to="production")  # doctest: +SKIP
    """
    check_selector_name(to, "model alias")
    store = store or open_current()
    with store.read() as conn:
        row = find_version(conn, ref)
        request = _pending(conn, row.id, to)
    name = version_ref(row)
    if request is None:
        raise NotFound(
            f"No promotion of {name} to {to} awaits approval; request one with model promote "
            f"{name} --to {to}."
        )
    if request.username == store.user:
        raise PermissionDenied(
            f"You ({store.user}) requested this promotion, so someone else must approve it."
        )
    report = check_gates(name, alias=to, store=store)
    if not report.passed:
        raise _gate_failure(name, to, report, "approved for")
    with store.write() as conn:
        if _pending(conn, row.id, to, lock=True) is None:
            raise Conflict(
                f"The request to promote {name} to {to} was decided by someone else a moment ago."
            )
        conn.execute(
            update(model_transitions)
            .where(model_transitions.c.id == request.id)
            .values(status="approved")
        )
        _transition(
            conn,
            store,
            row,
            to,
            "approve",
            "approved",
            note=note,
            request_id=request.id,
            evaluation_id=report.evaluation_id,
        )
        previous = point_alias(
            conn,
            store,
            row.model_id,
            row.id,
            name,
            to,
            action="promote",
            note=f"approved by {store.user}",
            request_id=request.id,
            evaluation_id=report.evaluation_id,
        )
    was = f" (was version {previous})" if previous else ""
    return Message(
        f"Approved: {row.name}@{to} is now version {row.version}{was}; requested by "
        f"{request.username}, "
        f"approved by {store.user}.",
        "ok",
    )


def reject(ref: str, *, to: str, note: str = "", store: Store | None = None) -> Message:
    """Reject (or, as its requester, withdraw) a pending promotion.

    Example:
        >>> mo.models.reject("churn@3", to="production",
        ...                  note="bias report is stale")  # doctest: +SKIP
    """
    check_selector_name(to, "model alias")
    if not isinstance(note, str):
        raise InvalidInput("A note must be text.")
    store = store or open_current()
    with store.write() as conn:
        row = find_version(conn, ref)
        request = _pending(conn, row.id, to, lock=True)
        name = version_ref(row)
        if request is None:
            raise NotFound(f"No promotion of {name} to {to} awaits a decision.")
        withdrawn = request.username == store.user
        conn.execute(
            update(model_transitions)
            .where(model_transitions.c.id == request.id)
            .values(status="withdrawn" if withdrawn else "rejected")
        )
        _transition(
            conn,
            store,
            row,
            to,
            "reject",
            "withdrawn" if withdrawn else "rejected",
            note=note,
            request_id=request.id,
        )
    verb = "Withdrew" if withdrawn else "Rejected"
    return Message(f"{verb} the promotion of {name} to {to}" + (f": {note}" if note else "."), "ok")


@dataclasses.dataclass(repr=False)
class StageHistory(Result):
    """Every alias move, request, approval and refusal of a model (or one version), newest first."""

    ref: str
    transitions: list[dict[str, Any]]

    def to_frame(self):  # type: ignore[no-untyped-def]
        import pandas as pd  # lazy: start-up time

        return pd.DataFrame(self.transitions)

    def blocks(self) -> list[Block]:
        if not self.transitions:
            return [Note(f"{self.ref} has no stage history yet.")]
        return [history_table(self.transitions, title=f"Stage history of {self.ref}")]


def history(ref: str, *, store: Store | None = None) -> StageHistory:
    """The stage history of a model (``churn``) or of one version (``churn@3``).

    Example:
        >>> mo.models.history("churn")  # doctest: +SKIP
    """
    parsed = parse_ref(ref, "model")
    store = store or open_current()
    with store.read() as conn:
        if "@" in ref:
            row = find_version(conn, ref)
            return StageHistory(version_ref(row), transitions_of(conn, row.model_id, row.id))
        model = model_row(conn, parsed.name)
        return StageHistory(model.name, transitions_of(conn, model.id))
