"""Stored evaluations: bias, slice, performance, drift, gate and comparison reports.

An evaluation is a row (kind, what was evaluated, headline numbers, pass/fail)
plus the full report as a JSON object in the object store. The services that
compute reports (bias, drift, ...) rebuild their Result from the stored report,
so a report looks the same when it is computed and when it is opened later.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from ..errors import InvalidInput, NotFound, check_page
from ..store.meta import evaluations
from ..tracking.runs import active_run
from ..workspace import open_current

if TYPE_CHECKING:
    from ..store import Store

KINDS = ("bias", "slices", "perf", "drift", "gates", "compare", "monitor")


@dataclasses.dataclass
class Evaluation:
    """One stored evaluation; ``report`` is loaded on demand by :func:`get_evaluation`."""

    id: int
    kind: str
    subject: dict[str, Any]
    summary: dict[str, Any]
    passed: bool | None
    model_version_id: int | None
    run_id: str | None
    created_at: float
    created_by: str
    report_digest: str | None
    report: dict[str, Any] | None = None


def json_text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_default, allow_nan=True)


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return str(value)


def record_evaluation(
    kind: str,
    *,
    subject: dict[str, Any],
    summary: dict[str, Any],
    report: dict[str, Any],
    passed: bool | None = None,
    model_version_id: int | None = None,
    run_id: str | None = None,
    store: Store | None = None,
) -> int:
    """Store a report (object first, then its row and audit event); returns the evaluation id.

    ``run_id`` defaults to the active run, so an evaluation made inside a run is attached to it.

    Example:
        >>> record_evaluation("bias", subject={"model": "churn@3"},
        ...                   summary={"dp_ratio": 0.71},  # doctest: +SKIP
        ...                   report=full_report, passed=False)
        12
    """
    if kind not in KINDS:
        raise InvalidInput(f"Unknown evaluation kind {kind!r}; known kinds are {', '.join(KINDS)}.")
    store = store or open_current()
    if run_id is None:
        run = active_run()
        run_id = run.id if run is not None and run.store is store else None
    digest = store.objects.put(json_text(report).encode())
    with store.write() as conn:
        evaluation_id = conn.execute(
            insert(evaluations)
            .values(
                kind=kind,
                model_version_id=model_version_id,
                run_id=run_id,
                subject=json_text(subject),
                summary=json_text(summary),
                report=digest,
                passed=passed,
                created_at=time.time(),
                created_by=store.user,
            )
            .returning(evaluations.c.id)
        ).scalar_one()
        store.audit(
            conn,
            "evaluation.record",
            "evaluation",
            str(evaluation_id),
            kind=kind,
            subject=subject,
            passed=passed,
            model_version_id=model_version_id,
            run_id=run_id,
        )
    return int(evaluation_id)


def _from_row(row: Any) -> Evaluation:
    return Evaluation(
        id=row.id,
        kind=row.kind,
        subject=json.loads(row.subject),
        summary=json.loads(row.summary),
        passed=row.passed,
        model_version_id=row.model_version_id,
        run_id=row.run_id,
        created_at=row.created_at,
        created_by=row.created_by,
        report_digest=row.report,
    )


def get_evaluation(evaluation_id: int, *, store: Store | None = None) -> Evaluation:
    """An evaluation with its full report (its digest is verified on read).

    Example:
        >>> get_evaluation(12).report["groups"]  # doctest: +SKIP
    """
    if isinstance(evaluation_id, bool) or not isinstance(evaluation_id, int):
        try:
            evaluation_id = int(str(evaluation_id).lstrip("#"))
        except ValueError:
            raise InvalidInput(
                f"{evaluation_id!r} is not an evaluation id (a whole number)."
            ) from None
    store = store or open_current()
    with store.read() as conn:
        row = conn.execute(select(evaluations).where(evaluations.c.id == evaluation_id)).first()
    if row is None:
        raise NotFound(f"No evaluation has id {evaluation_id}.")
    found = _from_row(row)
    if found.report_digest:
        found.report = json.loads(store.objects.get(found.report_digest, verify=True))
    return found


def list_evaluations(
    kind: str | None = None,
    *,
    model_version_id: int | None = None,
    run_id: str | None = None,
    limit: int = 50,
    store: Store | None = None,
) -> list[Evaluation]:
    """Recent evaluations, newest first, optionally of one kind, model version or run (reports not
    loaded).

    Example:
        >>> [e.id for e in list_evaluations("drift", limit=5)]  # doctest: +SKIP
    """
    check_page(limit)
    store = store or open_current()
    query = select(evaluations).order_by(evaluations.c.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(evaluations.c.kind == kind)
    if model_version_id is not None:
        query = query.where(evaluations.c.model_version_id == model_version_id)
    if run_id is not None:
        query = query.where(evaluations.c.run_id == run_id)
    with store.read() as conn:
        return [_from_row(r) for r in conn.execute(query)]
