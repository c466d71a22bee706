"""Define monitors and read them back: create, set a retraining policy, list, history, show."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from ..errors import Conflict, InvalidInput, check_page
from ..modelstore.versions import resolve_version
from ..refs import check_name, row_named
from ..result import Message
from ..store.meta import monitor_results, monitors
from ..workspace import open_current
from . import notify, retraining

if TYPE_CHECKING:
    from ..result import Message
    from ..store import Store
    from .views import MonitorDetail, MonitorHistory, MonitorList


def _limits(items: Mapping[str, Any] | Iterable[str] | None, what: str) -> dict[str, float]:
    from ..drift.performance import HIGHER_IS_BETTER, metric_name  # lazy: imports numpy

    pairs = (
        items.items()
        if isinstance(items, Mapping)
        else [str(i).partition("=")[::2] for i in (items or [])]
    )
    out = {}
    for key, value in pairs:
        name = metric_name(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"--{what} {key}={value}: the limit must be a number, e.g. --{what} "
                '"accuracy=0.82".'
            ) from None
        if name in HIGHER_IS_BETTER and name != "r2" and not 0 <= number <= 1:
            raise InvalidInput(
                f"--{what} {name}={value} is out of range: {name} lies between 0 and 1."
            )
        out[name] = number
    return out


def _pin_reference(value: Any, label: str) -> dict[str, Any]:
    """The reference as something a later check can read again, with its digest."""
    import pandas as pd  # lazy: start-up time

    if isinstance(value, pd.DataFrame):
        raise InvalidInput(
            f"A monitor reads its reference again at every check, so {label} must be a dataset "
            "version "
            "(mlops data commit) or a CSV/Parquet file, not a notebook DataFrame."
        )
    if not isinstance(value, (str, os.PathLike)):
        raise InvalidInput(
            f"The reference {label} is a {type(value).__name__}; give a dataset version such as "
            "loans@3 "
            "or a CSV/Parquet file."
        )
    text = os.fspath(value)
    if os.path.exists(text):
        full = os.path.abspath(text)
        digest = retraining.file_digest(full) if os.path.isfile(full) else None
        return {"kind": "file", "path": full, "digest": digest, "label": text}
    from ..drift.sources import open_source  # lazy: imports numpy

    source = open_source(text, label, chunked=True)  # resolves the version without loading its rows
    return {"kind": "version", **source.description, "label": source.label}


def monitor_row(conn: Any, name: str) -> Any:
    return row_named(
        conn,
        monitors,
        name,
        missing=f"No monitor is called {name!r}",
        known="monitors",
        none="none exists yet (monitor create)",
    )


def create(
    name: str,
    *,
    reference: Any,
    model: str | None = None,
    max_drift_share: float | None = None,
    minimum: Mapping[str, Any] | Iterable[str] | None = None,
    maximum: Mapping[str, Any] | Iterable[str] | None = None,
    window: str | None = None,
    target: str | None = None,
    prediction: str | None = None,
    time_column: str | None = "auto",
    tests: Iterable[str] = (),
    thresholds: Iterable[str] = (),
    columns: list[str] | None = None,
    exclude: Iterable[str] = (),
    notifiers: list[str] | None = None,
    replace: bool = False,
    reference_label: str | None = None,
    store: Store | None = None,
) -> Message:
    """Define (or with ``replace`` redefine) a monitor; its results are kept across redefinitions.

    Example:
        >>> create("churn-prod", reference="loans@3", model="churn@production", max_drift_share=0.3,
        ...        minimum=["accuracy=0.82"], window="7d", target="default",
        ...        prediction="score")  # doctest: +SKIP
    """
    from ..drift.methods import Options, check_threshold  # lazy: imports numpy
    from ..drift.performance import parse_window  # lazy: imports numpy

    check_name(name, "monitor")
    store = store or open_current()
    if max_drift_share is not None:
        max_drift_share = check_threshold("share", max_drift_share)
    # refuse bad tests and thresholds now, not at the first check
    Options.parse(list(tests), list(thresholds))
    parse_window(window)
    config: dict[str, Any] = {
        "max_drift_share": max_drift_share,
        "min": _limits(minimum, "min"),
        "max": _limits(maximum, "max"),
        "window": window,
        "target": target,
        "prediction": prediction,
        "time": time_column,
        "tests": list(tests),
        "thresholds": list(thresholds),
        "columns": columns,
        "exclude": list(exclude),
        "notify": notify.check_names(notifiers),
    }
    if (config["min"] or config["max"]) and not target:
        raise InvalidInput(
            "Metric limits (--min/--max) need the label column: add --target COLUMN."
        )
    if model is not None:
        # the model must exist now; its alias is followed at every check
        resolve_version(model, store=store)
    config["reference"] = _pin_reference(reference, reference_label or str(reference))
    pinned = config["reference"].get("ref") or config["reference"].get("path")
    now = time.time()
    with store.write() as conn:
        existing = conn.execute(select(monitors.c.id).where(monitors.c.name == name)).first()
        if existing is not None and not replace:
            raise Conflict(
                f"A monitor called {name!r} exists; pass --replace to redefine it (its history "
                "is kept)."
            )
        values = {
            "model_ref": model,
            "reference_ref": pinned,
            "config": json.dumps(config),
            "updated_at": now,
        }
        if existing is None:
            monitor_id = conn.execute(
                insert(monitors)
                .values(name=name, policy="{}", created_at=now, created_by=store.user, **values)
                .returning(monitors.c.id)
            ).scalar_one()
        else:
            monitor_id = existing.id
            conn.execute(update(monitors).where(monitors.c.id == monitor_id).values(**values))
        store.audit(
            conn,
            "monitor.replace" if existing else "monitor.create",
            "monitor",
            str(monitor_id),
            name=name,
            model=model,
            reference=pinned,
            config=config,
        )
    verb = "redefined" if existing else "created"
    return Message(
        f"Monitor {name} {verb}: it compares new data with {pinned}.",
        "ok",
        [
            ("model", model or ""),
            ("max drift share", max_drift_share),
            ("minimum", ", ".join(f"{k}={v:g}" for k, v in config["min"].items())),
            ("window", window or ""),
        ],
    )


def set_policy(
    name: str,
    *,
    on: str = "alert",
    retrain: str | None = None,
    approval: str | None = None,
    max_age: str | None = None,
    data_parameter: str = "data",
    clear: bool = False,
    store: Store | None = None,
) -> Message:
    """Store the retraining policy of a monitor (validated now: the notebook must have a parameters
    cell).

    Example:
        >>> set_policy("churn-prod", on="alert", retrain="notebooks/retrain.ipynb",
        ...            approval="required")  # doctest: +SKIP
    """

    store = store or open_current()
    policy = (
        {}
        if clear
        else retraining.define(
            on=on,
            retrain=retrain,
            approval=approval,
            max_age=max_age,
            data_parameter=data_parameter,
            root=str(store.workspace.root),
        )
    )
    if policy:
        policy.update(set_by=store.user, set_at=time.time())
    with store.write() as conn:
        row = monitor_row(conn, name)
        if policy.get("level") in ("approval", "auto") and not row.model_ref:
            raise InvalidInput(
                f"Monitor {name} names no model, so there is nothing to retrain; recreate it with "
                "--model (e.g. --model churn@production) or use a notify policy."
            )
        conn.execute(
            update(monitors)
            .where(monitors.c.id == row.id)
            .values(policy=json.dumps(policy), updated_at=time.time())
        )
        store.audit(conn, "monitor.policy", "monitor", str(row.id), name=name, policy=policy)
    return Message(f"Monitor {name}: {retraining.describe(policy)}.", "ok")


def list_monitors(*, store: Store | None = None) -> MonitorList:
    """Every monitor with its latest status.

    Example:
        >>> list_monitors()  # doctest: +SKIP
    """
    from .views import MonitorList  # lazy: imports numpy

    store = store or open_current()
    latest = (
        select(
            monitor_results.c.monitor_id,
            func.max(monitor_results.c.id).label("last"),
            func.count().label("checks"),
        )
        .group_by(monitor_results.c.monitor_id)
        .subquery()
    )
    with store.read() as conn:
        rows = conn.execute(
            select(monitors, latest.c.checks, monitor_results.c.status, monitor_results.c.at)
            .outerjoin(latest, latest.c.monitor_id == monitors.c.id)
            .outerjoin(monitor_results, monitor_results.c.id == latest.c.last)
            .order_by(monitors.c.name)
        ).all()
    return MonitorList(
        [
            {
                "name": r.name,
                "model": r.model_ref,
                "reference": r.reference_ref,
                "config": json.loads(r.config),
                "policy": json.loads(r.policy),
                "checks": r.checks or 0,
                "status": r.status,
                "at": r.at,
            }
            for r in rows
        ]
    )


def _results(conn: Any, monitor_id: int, limit: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(monitor_results)
        .where(monitor_results.c.monitor_id == monitor_id)
        .order_by(monitor_results.c.id.desc())
        .limit(limit)
    ).all()
    return [
        {
            "id": r.id,
            "at": r.at,
            "status": r.status,
            "reasons": json.loads(r.reasons),
            "data": r.data_ref,
            "evaluation_id": r.evaluation_id,
            "metrics": json.loads(r.metrics),
            "actions": json.loads(r.actions),
        }
        for r in reversed(rows)
    ]


def history(name: str, *, limit: int = 200, store: Store | None = None) -> MonitorHistory:
    """A monitor's results over time: status, drift share, per-column drift, metrics.

    Example:
        >>> history("churn-prod")  # doctest: +SKIP
    """
    from .views import MonitorHistory  # lazy: imports numpy

    check_page(limit)
    store = store or open_current()
    with store.read() as conn:
        row = monitor_row(conn, name)
        results = _results(conn, row.id, limit)
    return MonitorHistory(name, json.loads(row.config), results)


def show(name: str, *, store: Store | None = None) -> MonitorDetail:
    """A monitor's definition, policy and latest results.

    Example:
        >>> show("churn-prod")  # doctest: +SKIP
    """
    from .views import MonitorDetail  # lazy: imports numpy

    store = store or open_current()
    with store.read() as conn:
        row = monitor_row(conn, name)
        results = _results(conn, row.id, 5)
    return MonitorDetail(
        name,
        row.model_ref,
        row.reference_ref,
        json.loads(row.config),
        json.loads(row.policy),
        row.created_at,
        row.created_by,
        results,
    )


__all__ = ["create", "set_policy", "history", "list_monitors", "show"]
