"""Register a model version with everything that made it.

A version keeps the artifact (an object in the store), its signature, the
source run's metrics, params and code context, and the dataset versions that
run read (its lineage inputs). The run is linked to the new version as an output.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, select

from ..errors import InvalidInput, NotFound
from ..evaluate.storage import json_text
from ..modelstore import formats
from ..modelstore.versions import remember
from ..refs import check_name, resolve_run
from ..store.database import dialect_insert
from ..store.meta import (
    dataset_versions,
    datasets,
    latest_metrics,
    lineage,
    model_versions,
    models,
    params,
    runs,
)
from ..tracking.buffer import BUFFER
from ..tracking.context import capture_start, ensure_package_set
from ..tracking.reading import load_artifact, param_value
from ..tracking.runs import active_run
from ..workspace import open_current
from .aliases import check_alias, point_alias
from .signature import infer_signature
from .views import describe_version

if TYPE_CHECKING:
    from ..store import Store
    from .views import ModelVersion


def _run_facts(conn: Connection, run_id: str) -> dict[str, Any]:
    metric_rows = conn.execute(
        select(latest_metrics.c.key, latest_metrics.c.value).where(
            latest_metrics.c.run_id == run_id
        )
    ).all()
    param_rows = conn.execute(select(params).where(params.c.run_id == run_id)).all()
    data_rows = conn.execute(
        select(
            dataset_versions.c.id,
            dataset_versions.c.version,
            dataset_versions.c.digest,
            dataset_versions.c.rows,
            datasets.c.name,
        )
        .join(
            lineage,
            and_(
                lineage.c.entity_type == "dataset_version",
                lineage.c.entity_id == dataset_versions.c.id,
            ),
        )
        .join(datasets, datasets.c.id == dataset_versions.c.dataset_id)
        .where(lineage.c.run_id == run_id, lineage.c.direction == "input")
        .order_by(datasets.c.name, dataset_versions.c.version)
    ).all()
    context_text = conn.execute(select(runs.c.context).where(runs.c.id == run_id)).scalar()
    decoded = {p.key: param_value(p) for p in param_rows}  # the value as logged, as runs show it
    return {
        "metrics": {m.key: (math.nan if m.value is None else m.value) for m in metric_rows},
        "params": decoded,
        "data": [
            {
                "ref": f"{d.name}@{d.version}",
                "dataset_version_id": d.id,
                "digest": d.digest,
                "rows": d.rows,
            }
            for d in data_rows
        ],
        "context": code_context(json.loads(context_text) if context_text else {}),
    }


def code_context(context: dict[str, Any]) -> dict[str, Any]:
    """The parts of a run's context that say which code made a model."""
    keep = ("git", "notebook", "history", "python", "packages", "host", "user", "argv", "cwd")
    return {k: context[k] for k in keep if context.get(k) is not None}


MODEL_FILE_SUFFIXES = (".skops", ".joblib", ".pkl", ".pickle")


def fitted_model(value: Any, *, run: str | None = None, store: Store | None = None) -> Any:
    """The model a user named: a fitted object, a saved model file, or with ``run`` one of its
    artifacts.

    Example:
        >>> fitted_model("model.skops")  # doctest: +SKIP
    """
    if not isinstance(value, str):
        return value
    if os.path.isfile(value):
        return formats.read_model_file(value)
    if run is not None:
        data = load_artifact(run, value, store=store)
        if not isinstance(data, bytes):
            raise InvalidInput(f"The artifact {value!r} of run {run} is not a saved model file.")
        return formats.model_from_bytes(data, value)
    if value.lower().endswith(MODEL_FILE_SUFFIXES) or os.sep in value:
        raise NotFound(
            f"No file named {value!r} holds a model; give a fitted model, a .skops/.joblib file, "
            "or the name of a run's artifact together with --run."
        )
    raise InvalidInput(
        f"{value[:80]!r} is text, not a model; give a fitted model (or a notebook variable "
        "holding one), a .skops/.joblib file, or a run's artifact name together with --run."
    )


def register(
    model: Any,
    name: str,
    *,
    run: str | None = None,
    example: Any = None,
    description: str = "",
    alias: str | None = None,
    origin: dict[str, Any] | None = None,
    store: Store | None = None,
) -> ModelVersion:
    """Store ``model`` as the next version of ``name``, with what made it.

    ``run`` (default: the active run) supplies metrics, params, code context and
    the dataset versions it read; ``example`` (training rows) gives the signature;
    ``origin`` says where a model came from when it was brought in from another tool.
    ``model`` may also be a saved model file, or with ``run`` the name of one of its artifacts.

    Example:
        >>> mo.models.register(clf, "churn", run=run.id, example=X_train)  # doctest: +SKIP
        churn v3 ...
    """

    check_name(name, "model")
    check_alias(alias)
    if not isinstance(description, str):
        raise InvalidInput("A model description must be text.")
    store = store or open_current()
    model = fitted_model(model, run=run, store=store)
    if run is None:
        current = active_run()
        run = current.id if current is not None and current.store is store else None
    signature = infer_signature(model, example)
    stored = formats.serialize(model)
    packages = None
    with store.read() as conn:
        run_id = resolve_run(conn, run).id if run is not None else None
    if run_id is not None:
        BUFFER.flush(store)  # metrics the run logged a moment ago belong to this version
        with store.read() as conn:
            facts = _run_facts(conn, run_id)
    else:
        context, packages = capture_start(store)
        facts = {"metrics": {}, "params": {}, "data": [], "context": code_context(context)}
    if origin:
        facts["context"] = {**facts["context"], "imported_from": origin}
    digest = store.objects.put(stored.data)  # the object before the row that names it
    now, user = time.time(), store.user
    with store.write() as conn:
        if packages is not None:
            ensure_package_set(conn, *packages)
        ins = dialect_insert(conn)
        conn.execute(
            ins(models)
            .values(
                name=name,
                created_at=now,
                created_by=user,
                description="",
                requires_approval=False,
                gates="[]",
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        model_id = conn.execute(
            select(models.c.id).where(models.c.name == name).with_for_update()
        ).scalar_one()
        number = (
            conn.execute(
                select(func.max(model_versions.c.version)).where(
                    model_versions.c.model_id == model_id
                )
            ).scalar()
            or 0
        ) + 1
        version_id = conn.execute(
            insert(model_versions)
            .values(
                model_id=model_id,
                version=number,
                artifact=digest,
                format=stored.format,
                flavor=stored.flavor,
                class_name=stored.class_name,
                size=len(stored.data),
                signature=_dumps(signature),
                run_id=run_id,
                metrics=_dumps(facts["metrics"]),
                params=_dumps(facts["params"]),
                data=_dumps(facts["data"]),
                context=_dumps(facts["context"]),
                description=description,
                created_at=now,
                created_by=user,
            )
            .returning(model_versions.c.id)
        ).scalar_one()
        if run_id is not None:
            conn.execute(
                ins(lineage)
                .values(
                    run_id=run_id,
                    direction="output",
                    entity_type="model_version",
                    entity_id=version_id,
                    created_at=now,
                )
                .on_conflict_do_nothing()
            )
        ref = f"{name}@{number}"
        store.audit(
            conn,
            "model.register",
            "model_version",
            ref,
            artifact=digest,
            format=stored.format,
            run_id=run_id,
            data=[d["ref"] for d in facts["data"]],
        )
        if alias is not None:
            point_alias(conn, store, model_id, version_id, ref, alias, note="set at registration")
    remember(model, version_id, ref)
    return describe_version(
        ref,
        store=store,
        note=f"Registered {ref} ({stored.format}, {len(stored.data):,} bytes)"
        + (f" from run {run_id[:8]}" if run_id else "")
        + ".",
    )


def _dumps(value: Any) -> str:

    return json_text(value)
