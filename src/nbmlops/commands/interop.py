"""``mlops export mlflow`` and ``mlops import mlflow``: move history to and from MLflow."""

from __future__ import annotations

import click

from ..interop import export_mlflow as run_export
from ..interop import import_mlflow as run_import
from ..result import Result
from . import Group


@click.group(cls=Group)
def export() -> None:
    """Write this workspace's history to another tool (MLflow)."""


@export.command("mlflow")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="URI",
    help="MLflow tracking URI: sqlite:///mlflow.db, a folder, or http://host:5000.",
)
@click.option(
    "--experiment",
    default=None,
    help="MLflow experiment to write to (default: the workspace's name).",
)
@click.option(
    "--filter",
    "filter_",
    default=None,
    help="Only runs matching this filter, e.g. \"tags.team = 'risk'\".",
)
@click.option("--no-models", is_flag=True, help="Leave registered models out.")
@click.option(
    "--artifact-location",
    default=None,
    metavar="URI",
    help="Where a new experiment keeps its files (default: beside a sqlite database, else "
    "MLflow's).",
)
def export_mlflow(
    to: str,
    experiment: str | None,
    filter_: str | None,
    no_models: bool,
    artifact_location: str | None,
) -> Result:
    """Export runs (params, every metric point, tags, notes, artifacts, nesting) and registered
    models to MLflow.

    Model versions become MLflow models (the sklearn flavor) with their aliases. Running it
    again adds only what is new: runs and versions carry their nbmlops ids as tags.
    """

    return run_export(
        to,
        experiment=experiment,
        filter=filter_,
        models_too=not no_models,
        artifact_location=artifact_location,
    )


@click.group("import", cls=Group)
def import_() -> None:
    """Bring history from another tool (MLflow) into this workspace."""


@import_.command("mlflow")
@click.option(
    "--from",
    "uri",
    required=True,
    metavar="URI",
    help="MLflow tracking URI: sqlite:///mlflow.db, a folder, or http://host:5000.",
)
@click.option(
    "--experiment",
    "experiments",
    multiple=True,
    help="Import only this experiment (repeat for several; default: all).",
)
@click.option("--no-models", is_flag=True, help="Leave registered models out.")
def import_mlflow(uri: str, experiments: tuple[str, ...], no_models: bool) -> Result:
    """Import MLflow runs (params, metric histories, tags, artifacts, nesting, status, times) and
    registered models.

    sklearn-flavored model versions become model versions here with their aliases. Importing
    again skips what is already here; every imported run keeps MLflow's run id.
    """

    return run_import(uri, experiments=experiments, models_too=not no_models)
