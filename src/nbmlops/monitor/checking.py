"""One monitor check, recorded: the drift evaluation, the result row, the audit events, the
notifications.

Writes happen in this order so nothing refers to what does not exist: the drift
report (object, then evaluation row), then the result row with its audit events
(``monitor.check``, ``monitor.alert`` for an ALERT, ``monitor.action`` for each
policy action) in one transaction, then the notifiers, whose outcomes are added
to the result's actions with a ``monitor.notify`` event.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, update

from ..data.versions import reads_recorded_on_success
from ..errors import MlopsError, NotFound
from ..result import jsonable
from ..store.meta import monitor_results
from ..workspace import open_current
from . import notify, retraining
from .monitors import monitor_row

if TYPE_CHECKING:
    from ..drift.report import DriftReport
    from ..store import Store
    from .views import MonitorCheck


LEVEL = {"OK": 0, "WARN": 1, "ALERT": 2}


def _metric_reasons(config: dict[str, Any], report: Any) -> list[dict[str, str]]:
    reasons: list[dict[str, str]] = []
    perf = report.performance or {}
    current = {m["metric"]: m["current"] for m in perf.get("metrics", [])}
    windows = perf.get("windows") or []
    for bound, limits in (("min", config["min"]), ("max", config["max"])):
        for metric, limit in limits.items():
            if metric not in current:
                why = (
                    "the data has no labels or predictions for it"
                    if not perf
                    else f"{metric} does not apply here"
                )
                reasons.append({"level": "WARN", "text": f"{metric} not checked: {why}"})
                continue

            def breach(value: float | None, bound: str = bound, limit: float = limit) -> bool:
                return value is not None and (value < limit if bound == "min" else value > limit)

            word = "below the minimum" if bound == "min" else "above the maximum"
            if breach(current[metric]):
                reasons.append(
                    {
                        "level": "ALERT",
                        "text": f"{metric} {current[metric]:.4g} is {word} {limit:g}",
                    }
                )
            if windows and len(windows) > 1:
                latest = windows[-1]
                value = latest["metrics"].get(metric)
                start = dt.datetime.fromtimestamp(latest["start"], tz=dt.UTC).strftime("%Y-%m-%d")
                if breach(value):
                    reasons.append(
                        {
                            "level": "ALERT",
                            "text": f"{metric} in the latest {report.window} window (from "
                            f"{start}) is {value:.4g}, {word} {limit:g}",
                        }
                    )
                elif any(breach(w["metrics"].get(metric)) for w in windows[:-1]):
                    reasons.append(
                        {
                            "level": "WARN",
                            "text": f"{metric} was {word} {limit:g} in an earlier window",
                        }
                    )
    return reasons


def assess(config: dict[str, Any], report: Any) -> list[dict[str, str]]:
    """The reasons behind a check's status, from the monitor's limits and the drift report."""
    reasons: list[dict[str, str]] = []
    drifted = report.drifted_columns
    shown = ", ".join(drifted[:6]) + (", ..." if len(drifted) > 6 else "")
    limit = config.get("max_drift_share")
    if limit is not None and report.drift_share > limit:
        reasons.append(
            {
                "level": "ALERT",
                "text": f"drift share {report.drift_share:.0%} is above the limit of "
                f"{limit:.0%} ({shown})",
            }
        )
    elif limit is None and report.dataset_drift:
        reasons.append(
            {
                "level": "ALERT",
                "text": f"dataset drift: {report.drift_share:.0%} of columns drifted ({shown})",
            }
        )
    elif drifted:
        reasons.append(
            {
                "level": "WARN",
                "text": f"{len(drifted)} column(s) drifted, {report.drift_share:.0%} of "
                f"columns ({shown})",
            }
        )
    if report.prediction is not None and report.prediction["drifted"]:
        reasons.append(
            {
                "level": "WARN",
                "text": f"the prediction ({report.prediction['column']}) drifted "
                f"({'; '.join(report.prediction['reasons'])})",
            }
        )
    schema = report.schema
    for column in schema.get("only_reference", []):
        reasons.append({"level": "WARN", "text": f"column {column} is missing from the data"})
    for change in schema.get("type_changed", []):
        reasons.append(
            {
                "level": "WARN",
                "text": f"column {change['column']} changed type ({change['reference']} → "
                f"{change['current']})",
            }
        )
    reasons.extend(_metric_reasons(config, report))
    if report.performance_dropped and not (config["min"] or config["max"]):
        reasons.append(
            {
                "level": "WARN",
                "text": "quality fell against the reference "
                f"({', '.join(report.performance_dropped)})",
            }
        )
    return reasons


def status_of(reasons: list[dict[str, str]]) -> str:
    """The worst level among the reasons (OK when there are none)."""
    return max((r["level"] for r in reasons), key=LEVEL.__getitem__, default="OK")


@reads_recorded_on_success()
def check(
    name: str,
    data: Any,
    *,
    label: str | None = None,
    in_notebook: bool = False,
    store: Store | None = None,
) -> MonitorCheck:
    """Run new data through a monitor: store the drift evaluation and the result, alert, apply the
    policy.

    Example:
        >>> check("churn-prod", batch_2026_11).status  # doctest: +SKIP
        'ALERT'
    """
    store = store or open_current()
    with store.read() as conn:
        row = monitor_row(conn, name)
    return record_check(
        row,
        data,
        label=label or (data if isinstance(data, str) else "data"),
        in_notebook=in_notebook,
        store=store,
    )


def _json(value: Any) -> str:
    return json.dumps(jsonable(value), sort_keys=True)


def _reference(row: Any, config: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    ref = config["reference"]
    if ref["kind"] != "file":
        return ref["ref"], []
    path = ref["path"]
    if not os.path.exists(path):
        raise NotFound(
            f"The reference file {path} of monitor {row.name} is gone; restore it or redefine "
            "the monitor "
            "with --replace."
        )
    if ref.get("digest") and retraining.file_digest(path) != ref["digest"]:
        return path, [
            {
                "level": "WARN",
                "text": f"the reference file {path} changed since the monitor was defined",
            }
        ]
    return path, []


def _model(row: Any, store: Store) -> tuple[Any, int | None, list[dict[str, str]]]:
    if not row.model_ref:
        return None, None, []
    from ..evaluate.inputs import load_model  # lazy: imports numpy

    try:
        loaded = load_model(row.model_ref, "model", store=store)
    except MlopsError as e:
        return None, None, [{"level": "WARN", "text": f"model {row.model_ref} not used: {e}"}]
    return loaded, loaded.version_id, []


def summary_metrics(report: DriftReport) -> dict[str, Any]:
    """What the history charts: drift share, per-column verdicts and scores, quality metrics, the
    data period."""
    perf = report.performance or {}
    windows = perf.get("windows") or []
    return {
        "drift_share": report.drift_share,
        "drifted": report.drifted_columns,
        "columns": {r["column"]: r["drifted"] for r in report.columns},
        "scores": {r["column"]: r["score"] for r in report.columns},
        "metrics": {m["metric"]: m["current"] for m in perf.get("metrics", [])},
        "latest_window": windows[-1] if windows else None,
        "period": report.period,
        "prediction_drift": report.prediction["drifted"] if report.prediction else None,
        "rows": report.rows.get("current"),
    }


def record_check(
    row: Any, data: Any, *, label: str, in_notebook: bool, store: Store
) -> MonitorCheck:
    """Compare ``data`` with the monitor's reference and record everything the check decided."""
    from ..drift import compare  # lazy: imports numpy
    from ..evaluate.reports import record_report  # lazy: imports numpy
    from .views import MonitorCheck  # lazy: imports numpy

    config, policy = json.loads(row.config), json.loads(row.policy)
    reference, reasons = _reference(row, config)
    model, version_id, model_reasons = _model(row, store)
    reasons += model_reasons

    def run(model: Any) -> DriftReport:
        return compare(
            reference,
            data,
            target=config["target"],
            prediction=config["prediction"],
            model=model,
            tests=config["tests"],
            thresholds=config["thresholds"],
            columns=config["columns"],
            exclude=config["exclude"],
            time=config["time"],
            window=config["window"],
            record=False,
            labels=(config["reference"]["label"], label),
            in_notebook=in_notebook,
            store=store,
        )

    try:
        report = run(model)
    except MlopsError as e:
        if model is None:
            raise
        # the model cannot predict on these rows (missing features, say): check the data without it
        reasons.append({"level": "WARN", "text": f"model {row.model_ref} not used: {e}"})
        report = run(None)
    report.subject = {**(report.subject or {}), "monitor": row.name}
    reasons += assess(config, report)
    data_ref = report.current.get("ref") or report.current.get("path") or label
    # a job's kernel can read it
    runnable = bool(report.current.get("ref") or report.current.get("path"))
    policy_reasons, actions, should_notify = retraining.respond(
        policy,
        status_of(reasons),
        data_ref=data_ref,
        model_ref=row.model_ref,
        store=store,
        runnable=runnable,
    )
    reasons += policy_reasons
    status = status_of(reasons)
    report.evaluation_id = record_report("drift", report, model_version_id=version_id, store=store)
    metrics = summary_metrics(report)
    now = time.time()
    texts = [f"{r['level']}: {r['text']}" for r in reasons]
    with store.write() as conn:
        result_id = conn.execute(
            insert(monitor_results)
            .values(
                monitor_id=row.id,
                at=now,
                status=status,
                reasons=_json(reasons),
                data_ref=data_ref,
                evaluation_id=report.evaluation_id,
                metrics=_json(metrics),
                actions=_json(actions),
            )
            .returning(monitor_results.c.id)
        ).scalar_one()
        store.audit(
            conn,
            "monitor.check",
            "monitor",
            str(row.id),
            name=row.name,
            result_id=result_id,
            status=status,
            data=data_ref,
            evaluation_id=report.evaluation_id,
        )
        if status == "ALERT":
            store.audit(
                conn,
                "monitor.alert",
                "monitor",
                str(row.id),
                name=row.name,
                result_id=result_id,
                reasons=texts,
            )
        for action in actions:
            store.audit(
                conn,
                "monitor.action",
                "monitor",
                str(row.id),
                name=row.name,
                result_id=result_id,
                what=action["action"],
                **{k: v for k, v in action.items() if k != "action"},
            )
    outcomes: list[dict[str, Any]] = []
    if should_notify:
        alert = notify.Alert(
            monitor=row.name,
            status=status,
            reasons=texts,
            at=dt.datetime.fromtimestamp(now, tz=dt.UTC).isoformat(),
            data=data_ref,
            reference=str(reference),
            model=row.model_ref,
            result_id=int(result_id),
            evaluation_id=report.evaluation_id,
            actions=actions,
            workspace=str(store.workspace.root),
        )
        outcomes = notify.send(alert, config.get("notify"))
        recorded = actions + [{"action": "notify", **o} for o in outcomes]
        with store.write() as conn:
            conn.execute(
                update(monitor_results)
                .where(monitor_results.c.id == result_id)
                .values(actions=_json(recorded))
            )
            store.audit(
                conn,
                "monitor.notify",
                "monitor",
                str(row.id),
                name=row.name,
                result_id=result_id,
                outcomes=outcomes,
            )
    retraining.carry_out(
        actions,
        policy,
        monitor=row.name,
        monitor_id=row.id,
        result_id=int(result_id),
        model_ref=row.model_ref,
        store=store,
    )
    return MonitorCheck(
        monitor=row.name,
        status=status,
        reasons=reasons,
        actions=actions,
        notifications=outcomes,
        data=label,
        data_ref=data_ref,
        reference=config["reference"]["label"],
        model=row.model_ref,
        result_id=int(result_id),
        evaluation_id=report.evaluation_id,
        at=now,
        report=report,
    )
