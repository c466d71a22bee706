"""Workspace discovery and configuration, as DESIGN.md describes it."""

from __future__ import annotations

import pytest

from nbmlops.errors import InvalidInput, WorkspaceNotFound
from nbmlops.redaction import redact
from nbmlops.store.identity import current_user
from nbmlops.workspace import Workspace


def test_found_from_a_subfolder_like_git(workspace, monkeypatch):
    sub = workspace.root / "notebooks" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    found = Workspace.find()
    assert found.root == workspace.root
    # relative to the workspace, not the cwd
    assert found.db_url == f"sqlite:///{workspace.root}/.mlops/meta.db"
    assert found.objects_url == f"{workspace.root}/.mlops/objects"


def test_mlops_home_wins_over_discovery(workspace, tmp_path_factory, monkeypatch):
    other, _ = Workspace.init(tmp_path_factory.mktemp("other"))
    monkeypatch.setenv("MLOPS_HOME", str(other.root))
    assert Workspace.find().root == other.root
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path_factory.mktemp("empty")))
    with pytest.raises(WorkspaceNotFound, match="holds no .mlops/ folder"):
        Workspace.find()


def test_environment_overrides_the_config_file(workspace, monkeypatch, tmp_path_factory):
    objects = tmp_path_factory.mktemp("objs")
    monkeypatch.setenv("MLOPS_DB_URL", "sqlite:////elsewhere/meta.db")
    monkeypatch.setenv("MLOPS_OBJECTS_URL", str(objects))
    found = Workspace.find()
    assert found.db_url == "sqlite:////elsewhere/meta.db" and found.objects_url == str(objects)


def test_config_file_round_trip_and_bad_files(workspace):
    config = workspace.mlops_dir / "config.toml"
    config.write_text(
        'db_url = "sqlite:///.mlops/other.db"\nobjects_url = "s3://bucket/prefix"\n'
        "[objects_options]\nanon = false\n"
    )
    found = Workspace.find()
    assert found.db_url.endswith("/.mlops/other.db") and found.objects_url == "s3://bucket/prefix"
    assert found.config.objects_options == {"anon": False}
    config.write_text("db_url = \n")
    with pytest.raises(InvalidInput, match="config.toml is not valid TOML"):
        Workspace.find()
    config.write_text('colour = "blue"\n')
    with pytest.raises(InvalidInput, match="unknown setting 'colour'"):
        Workspace.find()
    config.write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidInput, match="is not UTF-8 text"):
        Workspace.find()


def test_init_refuses_to_silently_change_urls(workspace):
    with pytest.raises(InvalidInput, match="already a workspace with other URLs"):
        Workspace.init(workspace.root, db_url="sqlite:////somewhere/else.db")


def test_no_workspace_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceNotFound, match="run `mlops init`"):
        Workspace.find()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "postgresql+psycopg://ada:s3cret@db:5432/mlops",
            "postgresql+psycopg://ada:***@db:5432/mlops",
        ),
        ("s3://bucket/x?secret_key=abc&region=eu", "s3://bucket/x?secret_key=***&region=eu"),
        (
            "could not connect to https://u:p%40ss@host/ (timeout)",
            "could not connect to https://u:***@host/ (timeout)",
        ),
        ("sqlite:////tmp/meta.db", "sqlite:////tmp/meta.db"),
    ],
)
def test_redaction(text, shown):
    assert redact(text) == shown


def test_user_identity(monkeypatch):
    assert current_user() == "tester"
    monkeypatch.delenv("MLOPS_USER")
    import getpass

    assert current_user() == getpass.getuser()
