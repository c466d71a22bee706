"""MLflow export and import, checked with MLflow's own client on a real MLflow sqlite store."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nbmlops as mo

# MLflow warns about its own type hints while importing its model flavors
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pytest.importorskip("mlflow")
    import mlflow.pyfunc
    import mlflow.sklearn
from mlflow import MlflowClient

# MLflow's own deprecation notices (its SQLAlchemy use) when the tests call its client directly
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
LOSSES = [1.0, 0.5, float("nan"), 0.25]


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One MLflow store per module: creating its schema takes seconds. Tests use their own
    experiment and model names."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()  # creates the schema
    return uri


def _client(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _training_data(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(120, 3)), columns=["income", "debt", "age"])
    y = (X["income"] - X["debt"] + rng.normal(scale=0.3, size=120) > 0).astype(int).to_numpy()
    return X, y


def _params(detail) -> dict:  # type: ignore[no-untyped-def]
    return {p["key"]: p["value"] for p in detail.params}


def _history(workspace_store, tag_team: str):  # type: ignore[no-untyped-def]
    """A parent run with params, metric steps (one NaN), tags, a note, three artifacts and a
    child; a model with an alias."""
    from sklearn.linear_model import LogisticRegression

    X, y = _training_data()
    frame = pd.DataFrame({"threshold": [0.3, 0.5], "recall": [0.9, 0.7]})
    with mo.start_run(name="baseline", tags={"team": tag_team}, store=workspace_store) as parent:
        parent.log_params(C=0.5, penalty="l2", layers=[64, 32])
        for step, loss in enumerate(LOSSES):
            parent.log_metric("loss", loss, step=step)
        parent.log_metric("accuracy", 0.875)
        parent.log_artifact(frame, "tables/thresholds.parquet")
        parent.log_artifact({"features": ["income", "debt", "age"]}, "config.json")
        parent.log_artifact(b"\x00\x01binary", "raw/blob.bin")
        parent.note("first try")
        with mo.start_run(name="fold-1", parent=parent.id, store=workspace_store) as child:
            child.log_metric("auc", 0.91, step=3)
        clf = LogisticRegression(C=0.5).fit(X, y)
    version = mo.models.register(
        clf,
        f"credit-{tag_team}",
        run=parent.id,
        example=X,
        alias="challenger",
        store=workspace_store,
    )
    return parent, child, clf, frame, version


def test_export_writes_runs_metrics_artifacts_and_models_mlflow_can_read(
    workspace, mlflow_uri, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    store = workspace.store()
    parent, child, clf, frame, _ = _history(store, "export")
    report = mo.interop.export_mlflow(mlflow_uri, experiment="export-test", store=store)
    assert (report.runs, report.model_versions, report.aliases) == (2, 1, 1)

    # how MLflow's fluent API and a serving process find it
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", mlflow_uri)
    table = mlflow.search_runs(experiment_names=["export-test"]).set_index("tags.nbmlops.run_id")
    assert (
        table.loc[parent.id, "params.C"] == "0.5"
        and table.loc[parent.id, "metrics.loss"] == LOSSES[-1]
    )
    assert (
        table.loc[parent.id, "metrics.accuracy"] == 0.875
        and table.loc[child.id, "metrics.auc"] == 0.91
    )
    assert table.loc[child.id, "tags.mlflow.parentRunId"] == table.loc[parent.id, "run_id"]

    client = _client(mlflow_uri)
    experiment = client.get_experiment_by_name("export-test")
    found = {
        r.data.tags["nbmlops.run_id"]: r for r in client.search_runs([experiment.experiment_id])
    }
    assert set(found) == {parent.id, child.id}
    exported, exported_child = found[parent.id], found[child.id]
    assert exported.info.run_name == "baseline" and exported.info.status == "FINISHED"
    assert exported.data.params == {"C": "0.5", "penalty": "l2", "layers": "[64, 32]"}
    assert (
        exported.data.tags["team"] == "export"
        and exported.data.tags["mlflow.note.content"] == "first try"
    )
    assert exported_child.data.tags["mlflow.parentRunId"] == exported.info.run_id
    history = client.get_metric_history(exported.info.run_id, "loss")
    assert [m.step for m in history] == list(range(len(LOSSES)))
    for point, logged in zip(history, LOSSES, strict=True):
        assert math.isnan(point.value) if math.isnan(logged) else point.value == logged
    assert client.get_metric_history(exported_child.info.run_id, "auc")[0].step == 3
    detail = mo.get_run(parent.id, store=store)
    assert exported.info.start_time == round(detail.run["start_time"] * 1000)
    assert exported.info.end_time == round(detail.run["end_time"] * 1000)

    names = {a.path for a in client.list_artifacts(exported.info.run_id, "tables")}
    assert names == {"tables/thresholds.parquet"}
    local = client.download_artifacts(exported.info.run_id, "tables/thresholds.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(local), frame)
    assert (
        Path(client.download_artifacts(exported.info.run_id, "raw/blob.bin")).read_bytes()
        == b"\x00\x01binary"
    )
    assert json.loads(
        Path(client.download_artifacts(exported.info.run_id, "config.json")).read_text()
    ) == {"features": ["income", "debt", "age"]}

    version = client.get_model_version_by_alias("credit-export", "challenger")
    assert (
        version.run_id == exported.info.run_id
        and version.tags["nbmlops.model_version"] == "credit-export@1"
    )
    served = mlflow.pyfunc.load_model("models:/credit-export@challenger")
    X, _ = _training_data(seed=1)
    np.testing.assert_array_equal(served.predict(X), clf.predict(X))


def test_export_again_adds_only_what_is_new_and_moves_aliases(workspace, mlflow_uri) -> None:  # type: ignore[no-untyped-def]
    from sklearn.tree import DecisionTreeClassifier

    store = workspace.store()
    _history(store, "again")
    first = mo.interop.export_mlflow(mlflow_uri, experiment="again-test", store=store)
    client = _client(mlflow_uri)
    experiment_id = client.get_experiment_by_name("again-test").experiment_id
    runs_before = len(client.search_runs([experiment_id]))

    second = mo.interop.export_mlflow(mlflow_uri, experiment="again-test", store=store)
    assert (
        second.runs,
        second.runs_skipped,
        second.model_versions,
        second.model_versions_skipped,
    ) == (0, 2, 0, 1)
    assert len(client.search_runs([experiment_id])) == runs_before == first.runs + 0

    X, y = _training_data(seed=2)
    with mo.start_run(name="tree", store=store) as run:
        run.log_metric("accuracy", 0.8)
    mo.models.register(
        DecisionTreeClassifier(max_depth=2).fit(X, y), "credit-again", run=run.id, store=store
    )
    mo.models.set_alias("credit-again@2", "challenger", store=store)
    third = mo.interop.export_mlflow(mlflow_uri, experiment="again-test", store=store)
    assert (third.runs, third.runs_skipped, third.model_versions, third.aliases) == (1, 2, 1, 1)
    assert (
        client.get_model_version_by_alias("credit-again", "challenger").tags[
            "nbmlops.model_version"
        ]
        == "credit-again@2"
    )


def test_a_filter_exports_only_matching_runs(workspace, mlflow_uri) -> None:  # type: ignore[no-untyped-def]
    store = workspace.store()
    for team in ("risk", "growth", "risk"):
        with mo.start_run(name=f"run-{team}", tags={"team": team}, store=store) as run:
            run.log_metric("accuracy", 0.7)
    report = mo.interop.export_mlflow(
        mlflow_uri,
        experiment="filter-test",
        filter="tags.team = 'risk'",
        models_too=False,
        store=store,
    )
    client = _client(mlflow_uri)
    exported = client.search_runs([client.get_experiment_by_name("filter-test").experiment_id])
    assert report.runs == 2 and sorted(r.data.tags["team"] for r in exported) == ["risk", "risk"]


def test_round_trip_back_into_a_fresh_workspace_keeps_ids_values_and_models(
    workspace, mlflow_uri, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from nbmlops.workspace import Workspace

    store = workspace.store()
    parent, child, clf, frame, _ = _history(store, "trip")
    mo.interop.export_mlflow(mlflow_uri, experiment="trip-test", store=store)
    fresh, _ = Workspace.init(tmp_path / "fresh")
    other = fresh.store()

    report = mo.interop.import_mlflow(mlflow_uri, experiments=["trip-test"], store=other)
    assert (report.runs, report.model_versions, report.aliases) == (2, 1, 1)
    back = mo.get_run(parent.id, store=other)
    original = mo.get_run(parent.id, store=store)
    assert (back.run["name"], back.run["status"]) == ("baseline", "FINISHED")
    assert _params(back) == _params(original) == {"C": 0.5, "penalty": "l2", "layers": [64, 32]}
    assert back.tags["team"] == "trip" and back.run["notes"] == "first try"
    assert mo.get_run(child.id, store=other).run["parent_id"] == parent.id
    points = mo.metric_history(parent.id, "loss", store=other).to_frame()
    assert points["step"].tolist() == list(range(len(LOSSES)))
    # NaN where NaN was logged
    np.testing.assert_array_equal(points["value"].to_numpy(), np.array(LOSSES))
    pd.testing.assert_frame_equal(
        mo.load_artifact(parent.id, "tables/thresholds.parquet", store=other), frame
    )
    assert mo.load_artifact(parent.id, "raw/blob.bin", store=other) == b"\x00\x01binary"
    assert sorted(a["name"] for a in back.artifacts) == [
        "config.json",
        "raw/blob.bin",
        "tables/thresholds.parquet",
    ]
    model = mo.models.load("credit-trip@challenger", store=other)
    X, _ = _training_data(seed=3)
    np.testing.assert_array_equal(model.predict(X), clf.predict(X))

    again = mo.interop.import_mlflow(mlflow_uri, experiments=["trip-test"], store=other)
    assert (again.runs, again.runs_skipped, again.model_versions, again.model_versions_skipped) == (
        0,
        2,
        0,
        1,
    )
    assert mo.verify_audit(store=other).exit_code == 0


def test_import_runs_and_a_registered_model_made_by_mlflow_itself(workspace, mlflow_uri) -> None:  # type: ignore[no-untyped-def]
    import mlflow.sklearn
    from mlflow.entities import Metric, Param, RunTag
    from sklearn.ensemble import RandomForestClassifier

    client = _client(mlflow_uri)
    experiment_id = client.create_experiment(
        "native", artifact_location=str(Path(workspace.root) / "mlartifacts")
    )
    outer = client.create_run(
        experiment_id, start_time=1_700_000_000_000, run_name="sweep", tags={"stage": "tuning"}
    )
    steps = [(0, 0.9, 1_700_000_001_000), (5, 0.6, 1_700_000_002_500), (10, 0.4, 1_700_000_004_250)]
    client.log_batch(
        outer.info.run_id,
        params=[Param("lr", "0.01"), Param("optimizer", "adam"), Param("seed", "7")],
        metrics=[Metric("val_loss", v, t, s) for s, v, t in steps],
    )
    inner = client.create_run(
        experiment_id,
        start_time=1_700_000_005_000,
        run_name="trial-1",
        tags={"mlflow.parentRunId": outer.info.run_id},
    )
    client.log_batch(inner.info.run_id, tags=[RunTag("mlflow.note.content", "diverged")])
    client.set_terminated(inner.info.run_id, "FAILED", end_time=1_700_000_006_000)
    report_path = Path(workspace.root, "report.txt")
    report_path.write_text("all good\n")
    client.log_artifact(outer.info.run_id, str(report_path), "reports")
    X, y = _training_data(seed=4)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
        env.setenv("MLFLOW_REGISTRY_URI", mlflow_uri)
        mlflow.set_tracking_uri(mlflow_uri)
        try:
            with mlflow.start_run(run_id=outer.info.run_id):
                mlflow.sklearn.log_model(
                    forest,
                    name="forest",
                    registered_model_name="native-forest",
                    pip_requirements=["scikit-learn"],
                    skops_trusted_types=["sklearn.tree._tree.Tree"],
                )
        finally:
            mlflow.set_tracking_uri(None)
    client.set_terminated(outer.info.run_id, "FINISHED", end_time=1_700_000_009_000)
    client.set_registered_model_alias("native-forest", "production", "1")

    report = mo.interop.import_mlflow(mlflow_uri, experiments=["native"], store=workspace.store())
    assert (report.runs, report.model_versions, report.aliases) == (2, 1, 1)
    run = mo.get_run(outer.info.run_id)
    assert (run.run["name"], run.run["status"], run.tags["stage"]) == (
        "sweep",
        "FINISHED",
        "tuning",
    )
    assert _params(run) == {"lr": 0.01, "optimizer": "adam", "seed": 7}
    assert (run.run["start_time"], run.run["end_time"]) == (1_700_000_000.0, 1_700_000_009.0)
    points = mo.metric_history(outer.info.run_id, "val_loss").to_frame()
    assert points["step"].tolist() == [s for s, _, _ in steps] and points["value"].tolist() == [
        v for _, v, _ in steps
    ]
    assert points["timestamp"].tolist() == [t / 1000 for _, _, t in steps]
    assert mo.load_artifact(outer.info.run_id, "reports/report.txt") == "all good\n"
    trial = mo.get_run(inner.info.run_id)
    assert (trial.run["parent_id"], trial.run["status"], trial.run["notes"]) == (
        outer.info.run_id,
        "FAILED",
        "diverged",
    )
    model = mo.models.load("native-forest@production")
    np.testing.assert_array_equal(model.predict(X), forest.predict(X))
    assert mo.list_runs(filter="tags.`mlflow.experiment` = 'native'").to_frame().shape[0] == 2


def test_bad_uris_and_unknown_experiments_are_one_sentence(workspace, mlflow_uri, cli) -> None:  # type: ignore[no-untyped-def]
    missing = cli("import", "mlflow", "--from", f"sqlite:///{workspace.root}/nope.db")
    assert (
        missing.exit_code != 0
        and "no MLflow store" in missing.stderr
        and len(missing.stderr.strip().splitlines()) == 1
    )
    unknown = cli("import", "mlflow", "--from", mlflow_uri, "--experiment", "no-such-experiment")
    assert unknown.exit_code != 0 and "no experiment 'no-such-experiment'" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    unreachable = cli("export", "mlflow", "--to", "http://127.0.0.1:9/", "--experiment", "x")
    assert unreachable.exit_code != 0 and "cannot be used" in unreachable.stderr
    assert len(unreachable.stderr.strip().splitlines()) == 1
    with pytest.raises(mo.InvalidInput):
        mo.interop.export_mlflow(mlflow_uri, filter="metrics.accuracy >>> 1")
    assert mo.list_runs().to_frame().empty


def test_the_cli_prints_a_report_and_json(workspace, mlflow_uri, cli) -> None:  # type: ignore[no-untyped-def]
    with mo.start_run(name="cli-run") as run:
        run.log_metric("loss", 0.5)
    shown = cli("export", "mlflow", "--to", mlflow_uri, "--experiment", "cli-test", "--no-models")
    assert (
        shown.exit_code == 0
        and "Exported to MLflow" in shown.stdout
        and "metric points" in shown.stdout
    )
    again = cli(
        "export", "mlflow", "--to", mlflow_uri, "--experiment", "cli-test", "--no-models", "--json"
    )
    body = json.loads(again.stdout)
    assert (body["runs"], body["runs_skipped"]) == (0, 1)


def test_an_export_leaves_the_host_applications_logging_as_it_was(workspace, mlflow_uri) -> None:  # type: ignore[no-untyped-def]
    """Importing mlflow takes over SQLAlchemy's and alembic's loggers; a notebook's own set-up
    must survive an export."""
    code = f"""
import logging, json, sys
import nbmlops as mo
mine = logging.StreamHandler(sys.stdout)
engine = logging.getLogger("sqlalchemy.engine")
engine.addHandler(mine)
engine.setLevel(logging.INFO)
with mo.start_run(name="logging-kept") as run:
    run.log_metric("loss", 0.5)
alembic = logging.getLogger("alembic")
alembic_before = (list(alembic.handlers), alembic.level, alembic.propagate)
mo.interop.export_mlflow({mlflow_uri!r}, experiment="logging-kept", models_too=False)
alembic_after = (list(alembic.handlers), alembic.level, alembic.propagate)
print(json.dumps([engine.handlers == [mine], engine.level, engine.propagate, alembic_after ==
alembic_before]))
"""
    import logging
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workspace.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [True, logging.INFO, True, True]
