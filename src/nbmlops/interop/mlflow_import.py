"""Import runs and registered models from an MLflow tracking store.

Each MLflow run becomes a run here with the same id (or, for a run an export
wrote, its original nbmlops id), its name, status, times, user, params, every
metric point, tags, notes, artifacts and parent; each run is written in one
transaction with its audit event, objects first. Registered model versions with
the ``sklearn`` flavor become model versions here (stored with skops when it can
represent them), with their aliases; other flavors stay as the run's artifacts
and the report says so. Importing again skips what is already here.
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from ..errors import InvalidInput, NotFound
from ..modelstore.versions import find_version
from ..redaction import redact
from ..store.meta import artifacts, model_aliases, model_versions, models, params, runs, tags
from ..tracking import artifacts as artifact_names
from ..tracking.buffer import insert_points
from ..tracking.runs import encode_param
from ..workspace import open_current
from .mlflow_client import ARTIFACT_TAG, RUN_ID_TAG, VERSION_TAG, MlflowTransfer, connect

if TYPE_CHECKING:
    from ..store import Store

OUR_ID = re.compile(r"^[0-9a-f]{32}$")
# MLflow's own bookkeeping tags that become run fields here (or are MLflow-internal)
FIELD_TAGS = {
    "mlflow.runName",
    "mlflow.user",
    "mlflow.parentRunId",
    "mlflow.note.content",
    "mlflow.log-model.history",
}
STATUSES = {"FINISHED": "FINISHED", "FAILED": "FAILED", "KILLED": "KILLED"}
STILL_RUNNING = (
    "It was still running in MLflow when imported; points logged after that are not here."
)


def import_mlflow(
    uri: str,
    *,
    experiments: Sequence[str] = (),
    models_too: bool = True,
    store: Store | None = None,
) -> MlflowTransfer:
    """Bring runs (all experiments, or the ones named) and registered models from MLflow into this
    workspace.

    Example:
        >>> mo.interop.import_mlflow("sqlite:///mlflow.db", experiments=["churn"])  # doctest: +SKIP
    """
    from tqdm.auto import tqdm  # lazy: start-up time

    if isinstance(experiments, str):
        experiments = [experiments]
    store = store or open_current()
    started = time.perf_counter()
    report = MlflowTransfer("import", redact(uri), [])
    with connect(uri, create=False) as client:
        chosen = _experiments(client, uri, experiments)
        report.experiments = [e.name for e in chosen]
        found = [(e.name, r) for e in chosen for r in _runs_of(client, e.experiment_id)]
        ours = {r.info.run_id: _our_id(r) for _, r in found}
        with store.read() as conn:
            present = set(
                conn.execute(
                    select(runs.c.id).where(runs.c.id.in_(list(ours.values()) or [""]))
                ).scalars()
            )
        registered = _registered_versions(client)
        if experiments:  # only the versions whose runs live in the experiments asked for
            in_scope = {r.info.run_id for _, r in found}
            registered = {
                name: (model, [v for v in versions if v.run_id in in_scope])
                for name, (model, versions) in registered.items()
            }
            registered = {name: entry for name, entry in registered.items() if entry[1]}
        exported_models = _exported_model_folders(registered)
        todo = [
            (e, r) for e, r in found if ours[r.info.run_id] not in present and not _holds_a_model(r)
        ]
        report.runs_skipped = len(found) - len(todo) - sum(_holds_a_model(r) for _, r in found)
        for experiment, run in tqdm(
            _parents_first(todo), desc="runs", unit="run", disable=not todo, leave=False
        ):
            _import_run(
                client,
                store,
                uri,
                experiment,
                run,
                ours,
                exported_models.get(run.info.run_id, set()),
                report,
            )
            report.runs += 1
        if models_too:
            _import_models(client, store, uri, registered, ours, report)
    report.run_ids = {mlflow_id: ours[mlflow_id] for mlflow_id in ours}
    report.seconds = time.perf_counter() - started
    return report


def _experiments(client: Any, uri: str, names: Sequence[str]) -> list[Any]:
    if not names:
        return list(client.search_experiments())
    chosen = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("An MLflow experiment name must be non-empty text.")
        experiment = client.get_experiment_by_name(name)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            known = ", ".join(sorted(e.name for e in client.search_experiments())[:10]) or "none"
            raise NotFound(f"MLflow at {redact(uri)} has no experiment {name!r} (it has: {known}).")
        chosen.append(experiment)
    return chosen


def _runs_of(client: Any, experiment_id: str) -> list[Any]:
    found, token = [], None
    while True:
        page = client.search_runs(
            [experiment_id],
            max_results=5000,
            page_token=token,
            order_by=["attributes.start_time ASC"],
        )
        found.extend(page)
        token = page.token
        if not token:
            return found


def _our_id(run: Any) -> str:
    """The id a run gets here: the nbmlops id it was exported with, else MLflow's (both are 32
    hex digits)."""
    exported = run.data.tags.get(RUN_ID_TAG, "")
    return exported if OUR_ID.match(exported) else run.info.run_id


def _holds_a_model(run: Any) -> bool:
    """A run an export created only to hold a model version's files: the version comes back, the
    run does not."""
    return VERSION_TAG in run.data.tags and RUN_ID_TAG not in run.data.tags


def _parents_first(found: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    by_id = {r.info.run_id: r for _, r in found}

    def depth(run: Any) -> int:
        level = 0
        while run.data.tags.get("mlflow.parentRunId") in by_id and level < 100:
            run, level = by_id[run.data.tags["mlflow.parentRunId"]], level + 1
        return level

    return sorted(found, key=lambda item: (depth(item[1]), item[1].info.start_time or 0))


def param_value(text: str) -> Any:
    """MLflow keeps params as text: text that reads as a JSON number, boolean, list or object
    becomes that value."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if not isinstance(value, str) else text


def _registered_versions(client: Any) -> dict[str, tuple[Any, list[Any]]]:
    """Registered model name -> (the model, its versions in order)."""
    return {
        m.name: (
            m,
            sorted(client.search_model_versions(f"name='{m.name}'"), key=lambda v: int(v.version)),
        )
        for m in client.search_registered_models()
    }


def _exported_model_folders(registered: dict[str, tuple[Any, list[Any]]]) -> dict[str, set[str]]:
    """MLflow run id -> folders an export wrote model versions to: they come back as model
    versions, not files."""
    folders: dict[str, set[str]] = {}
    for _, versions in registered.values():
        for version in versions:
            prefix = f"runs:/{version.run_id}/"
            if VERSION_TAG in version.tags and (version.source or "").startswith(prefix):
                folders.setdefault(version.run_id, set()).add(
                    version.source[len(prefix) :].strip("/")
                )
    return folders


def _import_run(
    client: Any,
    store: Store,
    uri: str,
    experiment: str,
    run: Any,
    ours: dict[str, str],
    skip_folders: set[str],
    report: MlflowTransfer,
) -> None:
    info, data = run.info, run.data
    run_id = ours[info.run_id]
    parent = ours.get(data.tags.get("mlflow.parentRunId", ""))
    with store.read() as conn:
        if (
            parent is not None
            and conn.execute(select(runs.c.id).where(runs.c.id == parent)).first() is None
        ):
            parent = None
    if data.tags.get("mlflow.parentRunId") and parent is None:
        report.notes.append(
            f"Run {run_id[:8]}'s parent {data.tags['mlflow.parentRunId'][:8]} was not imported, "
            "so it has no parent here."
        )
    points = _metric_points(client, info.run_id, run_id, data.metrics)
    files = [
        (name, path)
        for name, path in _download_artifacts(client, info.run_id)
        if not any(name.startswith(folder + "/") for folder in skip_folders)
    ]
    # objects before rows
    stored = [
        (
            name,
            *store.objects.put_file(path),
            artifact_names.media_type_of(name),
        )
        for name, path in files
    ]
    status = STATUSES.get(info.status, "KILLED")
    start = (info.start_time or 0) / 1000
    end = info.end_time / 1000 if info.end_time else None
    origin = {"tool": "mlflow", "uri": redact(uri), "experiment": experiment, "run_id": info.run_id}
    kind = data.tags.get("nbmlops.kind", "run")
    with store.write() as conn:
        conn.execute(
            insert(runs).values(
                id=run_id,
                name=info.run_name or data.tags.get("mlflow.runName") or "run",
                kind=kind if kind in ("run", "job", "sweep") else "run",
                status=status,
                parent_id=parent,
                username=data.tags.get("mlflow.user") or info.user_id or store.user,
                host=socket.gethostname(),
                pid=None,
                pid_start=None,
                start_time=start,
                end_time=end if end is not None else start,
                heartbeat=end or start,
                notes=data.tags.get("mlflow.note.content", ""),
                context=json.dumps({"imported_from": origin}),
                error=None if status == info.status else STILL_RUNNING,
            )
        )
        param_rows = [encode_param(run_id, k, param_value(v)) for k, v in data.params.items()]
        if param_rows:
            conn.execute(insert(params), param_rows)
        tag_rows = [
            {"run_id": run_id, "key": k, "value": v}
            for k, v in data.tags.items()
            if k not in FIELD_TAGS and not k.startswith("nbmlops.")
        ]
        tag_rows.append({"run_id": run_id, "key": "mlflow.experiment", "value": experiment})
        conn.execute(insert(tags), tag_rows)
        if stored:
            now = time.time()
            conn.execute(
                insert(artifacts),
                [
                    {
                        "run_id": run_id,
                        "name": name,
                        "digest": digest,
                        "size": size,
                        "media_type": media,
                        "created_at": now,
                    }
                    for name, digest, size, media in stored
                ],
            )
        insert_points(conn, points)
        store.audit(
            conn,
            "run.import",
            "run",
            run_id,
            source=origin,
            params=len(param_rows),
            metric_points=len(points),
            artifacts=len(stored),
        )
    report.params += len(param_rows)
    report.tags += len(tag_rows)
    report.metric_points += len(points)
    report.artifacts += len(stored)
    report.artifact_bytes += sum(size for _, _, size, _ in stored)


def _metric_points(client: Any, mlflow_id: str, run_id: str, latest: dict[str, float]) -> list[Any]:
    points = []
    for key in latest:
        for metric in client.get_metric_history(mlflow_id, key):
            points.append(
                (run_id, key, float(metric.value), int(metric.step), metric.timestamp / 1000)
            )
    return points


def _download_artifacts(client: Any, mlflow_id: str) -> list[tuple[str, Path]]:
    """Every artifact file of the run as (name, local path); the folder lives until the process
    ends."""
    if not client.list_artifacts(mlflow_id):
        return []
    folder = Path(tempfile.mkdtemp(prefix="nbmlops-import-"))
    client.download_artifacts(mlflow_id, "", str(folder))
    return [
        (artifact_names.check_artifact_name(p.relative_to(folder).as_posix()), p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


# ---------------------------------------------------------------- models


def _import_models(
    client: Any,
    store: Store,
    uri: str,
    registered: dict[str, tuple[Any, list[Any]]],
    ours: dict[str, str],
    report: MlflowTransfer,
) -> None:
    from tqdm.auto import tqdm  # lazy: start-up time

    for model, versions in tqdm(
        list(registered.values()), desc="models", unit="model", disable=not registered, leave=False
    ):
        here = _versions_here(store, model.name)
        mapped: dict[str, int] = {}
        for version in versions:
            known = here.get(f"{model.name}/{version.version}") or here.get(
                version.tags.get(ARTIFACT_TAG, "-")
            )
            if known is not None:
                mapped[str(version.version)] = known
                report.model_versions_skipped += 1
                continue
            number = _import_version(client, store, uri, model, version, ours, report)
            if number is not None:
                mapped[str(version.version)] = number
                report.model_versions += 1
        _import_aliases(store, model, mapped, report)


def _versions_here(store: Store, name: str) -> dict[str, int]:
    """Our version number by what identifies an MLflow version: ``name/version`` of an import, or
    an artifact digest."""
    with store.read() as conn:
        rows = conn.execute(
            select(model_versions.c.version, model_versions.c.artifact, model_versions.c.context)
            .join(models, models.c.id == model_versions.c.model_id)
            .where(models.c.name == name)
        ).all()
    found = {}
    for number, digest, context in rows:
        found[digest] = number
        origin = json.loads(context or "{}").get("imported_from") or {}
        if origin.get("tool") == "mlflow":
            found[f"{origin['model']}/{origin['version']}"] = number
    return found


def _import_version(
    client: Any,
    store: Store,
    uri: str,
    model: Any,
    version: Any,
    ours: dict[str, str],
    report: MlflowTransfer,
) -> int | None:
    import mlflow.artifacts  # lazy: start-up time
    from mlflow.models import Model  # lazy: start-up time

    from ..registry.registration import register  # lazy: imports numpy

    ref = f"{model.name} version {version.version}"
    with tempfile.TemporaryDirectory(prefix="nbmlops-model-") as folder:
        source = client.get_model_version_download_uri(model.name, version.version)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=folder, tracking_uri=uri
        )
        try:
            flavors = Model.load(local).flavors
        except Exception:  # noqa: BLE001 - no MLmodel file: plain files registered as a model
            flavors = {}
        if "sklearn" not in flavors:
            kept = (
                f" (its files are artifacts of run {ours[version.run_id][:8]})"
                if version.run_id in ours
                else ""
            )
            report.notes.append(
                f"MLflow model {ref} has no sklearn flavor ({', '.join(flavors) or 'no MLmodel'}); "
                f"it was not registered here{kept}."
            )
            return None
        import mlflow.sklearn  # lazy: start-up time

        loaded = mlflow.sklearn.load_model(local)
    run = ours.get(version.run_id or "")
    with store.read() as conn:
        if (
            run is not None
            and conn.execute(select(runs.c.id).where(runs.c.id == run)).first() is None
        ):
            run = None
    origin = {
        "tool": "mlflow",
        "uri": redact(uri),
        "model": model.name,
        "version": str(version.version),
        "run_id": version.run_id,
    }
    registered = register(
        loaded,
        model.name,
        run=run,
        description=version.description or "",
        origin=origin,
        store=store,
    )
    if model.description:
        with store.write() as conn:
            changed = conn.execute(
                update(models)
                .where(models.c.name == model.name, models.c.description == "")
                .values(description=model.description)
            ).rowcount
            if changed:
                store.audit(
                    conn, "model.describe", "model", model.name, description=model.description
                )
    return int(registered.version)


def _import_aliases(
    store: Store, model: Any, mapped: dict[str, int], report: MlflowTransfer
) -> None:
    from ..registry.aliases import point_alias  # lazy: imports numpy

    for alias, version in (model.aliases or {}).items():
        number = mapped.get(str(version))
        if number is None:
            continue
        ref = f"{model.name}@{number}"
        with store.write() as conn:
            row = find_version(conn, ref)
            held = conn.execute(
                select(model_aliases.c.version_id).where(
                    model_aliases.c.model_id == row.model_id, model_aliases.c.alias == alias
                )
            ).scalar()
            if held != row.id:
                point_alias(
                    conn, store, row.model_id, row.id, ref, alias, note="imported from MLflow"
                )
                report.aliases += 1


__all__ = ["import_mlflow", "param_value"]
