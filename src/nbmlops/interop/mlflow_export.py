"""Export runs and registered models to an MLflow tracking store.

Each run becomes an MLflow run in one experiment (default: the workspace's
name) with its name, status, times, params, every metric point (step and
timestamp), tags, notes (``mlflow.note.content``), artifacts as files and its
parent (``mlflow.parentRunId``). Each model version becomes an MLflow model
version whose artifact is an MLflow model (the ``sklearn`` flavor, saved with
skops when nbmlops stored it with skops), so ``mlflow.pyfunc.load_model`` serves
it; aliases follow. The tag ``nbmlops.run_id`` on every run and
``nbmlops.model_version`` on every version make a second export skip what the
first one wrote.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..errors import InvalidInput
from ..modelstore import formats
from ..redaction import redact
from ..store.meta import (
    artifacts,
    metrics,
    model_aliases,
    model_transitions,
    model_versions,
    models,
    params,
    runs,
    tags,
)
from ..tracking import filters
from ..workspace import open_current
from .mlflow_client import (
    ARTIFACT_TAG,
    MAX_PARAM_VALUE,
    MAX_TAG_VALUE,
    RUN_ID_TAG,
    VERSION_TAG,
    MlflowTransfer,
    clip,
    connect,
    mlflow_key,
    to_ms,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..store import Store

METRICS_PER_CALL = 1000
PARAMS_OR_TAGS_PER_CALL = 100


def export_mlflow(
    to: str,
    *,
    experiment: str | None = None,
    filter: str | None = None,
    models_too: bool = True,
    artifact_location: str | None = None,
    store: Store | None = None,
) -> MlflowTransfer:
    """Write this workspace's runs (and registered models) to an MLflow tracking store.

    Running it again adds only what is new and moves aliases that moved.

    Example:
        >>> mo.interop.export_mlflow("sqlite:///mlflow.db",
        ...                          filter="tags.team = 'risk'")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm  # lazy: start-up time

    if experiment is not None and (not isinstance(experiment, str) or not experiment.strip()):
        raise InvalidInput("An MLflow experiment name must be non-empty text.")
    condition = filters.where(filter)  # a bad filter fails before anything is written
    store = store or open_current()
    name = (experiment or store.workspace.root.name or "nbmlops").strip()
    started = time.perf_counter()
    report = MlflowTransfer("export", redact(to), [name])
    with store.read() as conn:
        chosen = conn.execute(select(runs).where(condition).order_by(runs.c.start_time)).all()
    with connect(to, create=True) as client:
        experiment_id = _experiment(client, name, to, artifact_location)
        present = _exported_runs(client, experiment_id)
        mapping = dict(present)
        for row in tqdm(
            _parents_first(chosen), desc="runs", unit="run", disable=not chosen, leave=False
        ):
            if row.id in present:
                report.runs_skipped += 1
                continue
            with store.read() as conn:
                mapping[row.id] = _export_run(
                    client, store, conn, experiment_id, row, mapping, report
                )
            report.runs += 1
        if models_too:
            _export_models(client, store, experiment_id, mapping, report)
    report.run_ids = mapping
    report.seconds = time.perf_counter() - started
    return report


def _experiment(client: Any, name: str, uri: str, artifact_location: str | None) -> str:
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise InvalidInput(
                f"The MLflow experiment {name!r} is deleted; restore it or export to another name."
            )
        return str(found.experiment_id)
    if artifact_location is None and uri.startswith("sqlite:///"):
        # beside the database, not in whatever folder the command runs from
        artifact_location = str(Path(uri[len("sqlite:///") :]).resolve().parent / "mlartifacts")
    return str(client.create_experiment(name, artifact_location=artifact_location))


def _exported_runs(client: Any, experiment_id: str) -> dict[str, str]:
    """nbmlops run id -> MLflow run id for runs a previous export wrote to this experiment."""
    found: dict[str, str] = {}
    token = None
    while True:
        page = client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{RUN_ID_TAG}` != ''",
            max_results=5000,
            page_token=token,
        )
        for run in page:
            found[run.data.tags[RUN_ID_TAG]] = run.info.run_id
        token = page.token
        if not token:
            return found


def _parents_first(rows: list[Any]) -> list[Any]:
    by_id = {r.id: r for r in rows}

    def depth(row: Any) -> int:
        level = 0
        while row.parent_id in by_id and level < 100:
            row, level = by_id[row.parent_id], level + 1
        return level

    return sorted(rows, key=lambda r: (depth(r), r.start_time))


def _export_run(
    client: Any,
    store: Store,
    conn: Connection,
    experiment_id: str,
    row: Any,
    mapping: dict[str, str],
    report: MlflowTransfer,
) -> str:
    from mlflow.entities import Param, RunTag  # lazy: start-up time

    notes = report.notes
    tag_values: dict[str, str] = {}
    for key, value in conn.execute(select(tags.c.key, tags.c.value).where(tags.c.run_id == row.id)):
        fixed = mlflow_key(key, f"Tag {key!r} of run {row.id[:8]}", notes)
        if fixed is not None:
            tag_values[fixed] = clip(
                value, MAX_TAG_VALUE, f"Tag {key!r} of run {row.id[:8]}", notes
            )
    context = json.loads(row.context) if row.context else {}
    tag_values.update({RUN_ID_TAG: row.id, "mlflow.user": row.username, "nbmlops.kind": row.kind})
    if row.notes:
        tag_values["mlflow.note.content"] = clip(
            row.notes, MAX_TAG_VALUE, f"The notes of run {row.id[:8]}", notes
        )
    if row.parent_id in mapping:
        tag_values["mlflow.parentRunId"] = mapping[row.parent_id]
    if (context.get("notebook") or {}).get("path"):
        tag_values["mlflow.source.name"] = context["notebook"]["path"]
    if (context.get("git") or {}).get("commit"):
        tag_values["mlflow.source.git.commit"] = context["git"]["commit"]
    created = client.create_run(experiment_id, start_time=to_ms(row.start_time), run_name=row.name)
    run_id = created.info.run_id
    param_list = []
    for key, value in conn.execute(
        select(params.c.key, params.c.value).where(params.c.run_id == row.id)
    ):
        fixed = mlflow_key(key, f"Param {key!r} of run {row.id[:8]}", notes)
        if fixed is not None:
            param_list.append(
                Param(
                    fixed, clip(value, MAX_PARAM_VALUE, f"Param {key!r} of run {row.id[:8]}", notes)
                )
            )
    tag_list = [RunTag(k, v) for k, v in tag_values.items()]
    for start in range(0, max(len(param_list), len(tag_list)), PARAMS_OR_TAGS_PER_CALL):
        client.log_batch(
            run_id,
            params=param_list[start : start + PARAMS_OR_TAGS_PER_CALL],
            tags=tag_list[start : start + PARAMS_OR_TAGS_PER_CALL],
        )
    report.params += len(param_list)
    report.tags += len(tag_list)
    _export_metrics(client, conn, row.id, run_id, report)
    _export_artifacts(client, store, conn, row.id, run_id, report)
    client.set_terminated(
        run_id, status=row.status, end_time=to_ms(row.end_time) if row.end_time else None
    )
    return run_id


def _export_metrics(
    client: Any, conn: Connection, ours: str, run_id: str, report: MlflowTransfer
) -> None:
    from mlflow.entities import Metric  # lazy: start-up time

    keys: dict[str, str | None] = {}
    batch: list[Any] = []
    points = conn.execute(
        select(metrics.c.key, metrics.c.value, metrics.c.step, metrics.c.timestamp)
        .where(metrics.c.run_id == ours)
        .order_by(metrics.c.key, metrics.c.step, metrics.c.id)
    )
    for key, value, step, stamp in points:
        if key not in keys:
            keys[key] = mlflow_key(key, f"Metric {key!r} of run {ours[:8]}", report.notes)
        if keys[key] is None:
            continue
        batch.append(Metric(keys[key], math.nan if value is None else value, to_ms(stamp), step))
        if len(batch) == METRICS_PER_CALL:
            client.log_batch(run_id, metrics=batch)
            report.metric_points += len(batch)
            batch = []
    if batch:
        client.log_batch(run_id, metrics=batch)
        report.metric_points += len(batch)


def _export_artifacts(
    client: Any, store: Store, conn: Connection, ours: str, run_id: str, report: MlflowTransfer
) -> None:
    rows = conn.execute(
        select(artifacts.c.name, artifacts.c.digest, artifacts.c.size).where(
            artifacts.c.run_id == ours
        )
    ).all()
    if not rows:
        return
    with tempfile.TemporaryDirectory(prefix="nbmlops-export-") as folder:
        for name, digest, size in rows:
            # names were checked on the way in: no '..', no absolute path
            target = Path(folder, *name.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.objects.get(digest, verify=True))
            report.artifacts, report.artifact_bytes = (
                report.artifacts + 1,
                report.artifact_bytes + size,
            )
        client.log_artifacts(run_id, folder)


# ---------------------------------------------------------------- models


def _export_models(
    client: Any, store: Store, experiment_id: str, mapping: dict[str, str], report: MlflowTransfer
) -> None:
    from tqdm.auto import tqdm  # lazy: start-up time

    with store.read() as conn:
        versions = conn.execute(
            select(model_versions, models.c.name, models.c.description.label("model_description"))
            .join(models, models.c.id == model_versions.c.model_id)
            .order_by(models.c.name, model_versions.c.version)
        ).all()
        aliases = conn.execute(
            select(models.c.name, model_aliases.c.alias, model_versions.c.version)
            .join(models, models.c.id == model_aliases.c.model_id)
            .join(model_versions, model_versions.c.id == model_aliases.c.version_id)
        ).all()
    exported: dict[str, dict[int, str]] = {}  # model -> our version -> MLflow version
    for row in tqdm(
        versions, desc="model versions", unit="version", disable=not versions, leave=False
    ):
        if row.name not in exported:
            exported[row.name] = _registered(client, row.name, row.model_description)
        if row.version in exported[row.name]:
            report.model_versions_skipped += 1
            continue
        exported[row.name][row.version] = _export_version(
            client, store, experiment_id, row, mapping, report
        )
        report.model_versions += 1
    for name, alias, version in aliases:
        target = exported.get(name, {}).get(version)
        if target is None:
            continue
        current = client.get_registered_model(name).aliases.get(alias)
        if str(current) != str(target):
            client.set_registered_model_alias(name, alias, target)
            report.aliases += 1


def _registered(client: Any, name: str, description: str) -> dict[int, str]:
    """Our version number -> MLflow version for a model a previous export wrote (creating the
    model if new)."""
    from mlflow.exceptions import MlflowException  # lazy: start-up time

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=description or None)
        return {}
    found = {}
    for version in client.search_model_versions(f"name='{name}'"):
        ref = version.tags.get(VERSION_TAG, "")
        if ref.rpartition("@")[2].isdigit():
            found[int(ref.rpartition("@")[2])] = str(version.version)
    return found


def _export_version(
    client: Any,
    store: Store,
    experiment_id: str,
    row: Any,
    mapping: dict[str, str],
    report: MlflowTransfer,
) -> str:
    ref = f"{row.name}@{row.version}"
    run_id = mapping.get(row.run_id) if row.run_id else None
    if run_id is None:  # a version registered outside any exported run gets a run to hold its files
        holder = client.create_run(
            experiment_id,
            start_time=to_ms(row.created_at),
            run_name=f"model {ref}",
            tags={VERSION_TAG: ref, "mlflow.user": row.created_by},
        )
        run_id = holder.info.run_id
        client.set_terminated(run_id, "FINISHED", end_time=to_ms(row.created_at))
    path = f"models/{row.name}-v{row.version}"
    with tempfile.TemporaryDirectory(prefix="nbmlops-model-") as folder:
        kind = _write_model(store, row, Path(folder, "model"), report.notes)
        client.log_artifacts(run_id, str(Path(folder, "model")), path)
    with store.read() as conn:
        history = conn.execute(
            select(model_transitions)
            .where(model_transitions.c.version_id == row.id)
            .order_by(model_transitions.c.at)
        ).all()
    version_tags = {
        VERSION_TAG: ref,
        ARTIFACT_TAG: row.artifact,
        "nbmlops.format": row.format,
        "nbmlops.mlflow_model": kind,
        "nbmlops.registered_by": row.created_by,
        "nbmlops.data": ", ".join(d.get("ref", "") for d in json.loads(row.data or "[]")),
    }
    if history:
        version_tags["nbmlops.history"] = "\n".join(
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t.at))}Z {t.username} {t.action} "
            f"{t.alias} {t.status}" + (f": {t.note}" if t.note else "")
            for t in history
        )[-90_000:]
    created = client.create_model_version(
        row.name,
        f"runs:/{run_id}/{path}",
        run_id=run_id,
        tags=version_tags,
        description=row.description or None,
    )
    return str(created.version)


def _write_model(store: Store, row: Any, folder: Path, notes: list[str]) -> str:
    """Write the version as an MLflow model folder; returns ``sklearn`` or, when MLflow has no
    flavor for it, ``file``."""

    data = store.objects.get(row.artifact, verify=True)
    if row.flavor == "sklearn":
        import mlflow.sklearn  # lazy: start-up time
        import sklearn  # lazy: start-up time

        model = formats.deserialize(data, row.format, what=f"{row.name}@{row.version}")
        skops_types = None
        if row.format == formats.SKOPS:
            skops_io = __import__("skops.io", fromlist=["get_untrusted_types"])
            skops_types = skops_io.get_untrusted_types(data=data)
        mlflow.sklearn.save_model(
            model,
            str(folder),
            serialization_format="skops" if skops_types is not None else "cloudpickle",
            skops_trusted_types=skops_types,
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
        )
        return "sklearn"
    folder.mkdir(parents=True)
    (folder / f"model.{row.format}").write_bytes(data)
    notes.append(
        f"{row.name}@{row.version} is a {row.flavor} model MLflow has no flavor for here; its "
        f"{row.format} file was exported as a plain artifact."
    )
    return "file"


__all__ = ["export_mlflow"]
