"""Evaluation reports in the store: attach them to the model version and the run, and open them
again.

Reports are dataclasses of plain data; the stored report is exactly
``dataclasses.asdict(report)``, so :func:`open_report` rebuilds a Result that
looks the same as the one shown when the evaluation ran.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..modelstore.versions import resolve_version
from ..result import Block, Note, Result, Table, jsonable, status_cell, timestamp
from .storage import get_evaluation, list_evaluations, record_evaluation

if TYPE_CHECKING:
    from ..store import Store
    from .inputs import ModelInput

REPORTS = {
    "bias": "nbmlops.evaluate.bias_report:BiasReport",
    "slices": "nbmlops.evaluate.stability:SliceReport",
    "perf": "nbmlops.evaluate.speed:PerfReport",
    "gates": "nbmlops.registry.gates:GateReport",
    "compare": "nbmlops.registry.compare:Comparison",
    "drift": "nbmlops.drift.report:DriftReport",
}
HEADLINE = {
    "bias": (
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "mean_absolute_error_difference",
    ),
    "slices": ("max_fold_spread", "max_slice_spread"),
    "perf": ("p95_latency_ms", "throughput_rows_per_s"),
    "gates": ("failed",),
    "compare": ("agreement",),
    "drift": ("drift_share", "drifted_columns"),
}


class Report(Result):
    """A Result that is stored as an evaluation: it has ``summary`` numbers and ``passed``."""

    evaluation_id: int | None
    subject: dict[str, Any] | None

    @property
    def summary(self) -> dict[str, Any]:
        """Flat headline numbers, stored with the evaluation; promotion gates read them."""
        raise TypeError(f"{type(self).__name__} must define summary")

    @property
    def passed(self) -> bool | None:
        """The report's own verdict, if it has one (speed and comparisons leave it to the gates)."""
        return None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["summary"] = jsonable(self.summary)
        data["passed"] = self.passed
        return data


def record_report(
    kind: str,
    report: Any,
    model: ModelInput | None = None,
    *,
    model_version_id: int | None = None,
    store: Store | None = None,
) -> int:
    """Store ``report`` as an evaluation of ``kind``, attached to the model version and the
    active run."""
    version_id = model.version_id if model is not None else model_version_id
    return record_evaluation(
        kind,
        subject=report.subject or {},
        summary=report.summary,
        report=dataclasses.asdict(report),
        passed=report.passed,
        model_version_id=version_id,
        store=store,
    )


def _report_class(kind: str) -> type:
    module, attr = REPORTS[kind].split(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def open_report(evaluation_id: int | str, *, store: Store | None = None) -> Result:
    """A stored evaluation, shown as it was when it ran.

    Example:
        >>> open_report(12)  # doctest: +SKIP
    """
    found = get_evaluation(evaluation_id, store=store)  # type: ignore[arg-type]
    if found.kind not in REPORTS or found.report is None:
        raise InvalidInput(
            f"Evaluation #{found.id} is a {found.kind} report, which is shown by its own command."
        )
    cls = _report_class(found.kind)
    names = {f.name for f in dataclasses.fields(cls)}
    report = cls(**{k: v for k, v in found.report.items() if k in names})
    report.evaluation_id = found.id
    return report  # type: ignore[no-any-return]


@dataclasses.dataclass(repr=False)
class EvaluationList(Result):
    """Stored evaluations, newest first."""

    evaluations: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        if not self.evaluations:
            return [Note("No evaluations yet; run evaluate bias, slices or perf on a model.")]
        rows = []
        for e in self.evaluations:
            subject = e["subject"]
            data = subject.get("data") or {}
            verdict = "" if e["passed"] is None else ("PASS" if e["passed"] else "FAIL")
            headline = ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in e["summary"].items()
                if k in HEADLINE.get(e["kind"], ())
            )
            rows.append(
                [
                    f"#{e['id']}",
                    e["kind"],
                    subject.get("model_ref") or subject.get("model") or "",
                    data.get("ref") or data.get("name") or data.get("path") or "",
                    status_cell(verdict) if verdict else "",
                    headline,
                    timestamp(e["created_at"]),
                    e["created_by"],
                    (e["run_id"] or "")[:8],
                ]
            )
        return [
            Table(
                ["id", "kind", "model", "data", "result", "headline", "when", "by", "run"],
                rows,
                title="Evaluations",
            )
        ]


def list_reports(
    kind: str | None = None,
    *,
    model: str | None = None,
    limit: int = 50,
    store: Store | None = None,
) -> EvaluationList:
    """Recent evaluations, optionally of one kind or one model version (``churn@3``).

    Example:
        >>> list_reports("bias", model="churn@3")  # doctest: +SKIP
    """
    version_id = None
    if model is not None:
        version_id = resolve_version(model, store=store).id
    found = list_evaluations(kind, model_version_id=version_id, limit=limit, store=store)
    return EvaluationList([dataclasses.asdict(e) for e in found])
