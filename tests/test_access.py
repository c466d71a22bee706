"""Access: credentials never leak, artifact names never leave the store, read-only connections
cannot write."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, insert, select, text

import nbmlops as mo
from nbmlops.errors import InvalidInput, NotFound, PermissionDenied, StoreUnavailable
from nbmlops.store import meta
from nbmlops.workspace import Config, Workspace

SECRET = "S3cr3t-Pw"


def everything_stored(store) -> str:
    """Every value of every table and the bytes of every object, as one text to search."""
    parts = []
    with store.read() as conn:
        for table in meta.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in conn.execute(select(table)))
    parts.extend(store.objects.get(d).decode("utf-8", errors="replace") for d in store.objects)
    return "\n".join(parts)


# ---------------------------------------------------------------- credentials


@pytest.mark.postgres
def test_a_database_password_appears_nowhere(pg_url, tmp_path, monkeypatch, cli, caplog, ip):
    """The test server trusts every login, so a URL with a password works and any leak can be
    searched for."""
    url = pg_url.replace("postgres@", f"postgres:{SECRET}@")
    here = tmp_path / "pg"  # tmp_path itself is the SQLite workspace of the ip fixture
    here.mkdir()
    monkeypatch.chdir(here)
    caplog.set_level(logging.DEBUG)
    # set_level restores them after the test
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.pool")
    notebook = here / "n.ipynb"
    notebook.write_text(json.dumps({"cells": [{"source": f"mo.init(db_url='{url}')"}]}))
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(notebook))
    shown = [cli("init", "--db-url", url), cli("status"), cli("status", "--readonly")]
    code = f"import nbmlops as mo; mo.log_params(rows=1); raise SystemExit('cannot reach {url}')"
    shown.append(cli("run", "--name", "leaky", "--", sys.executable, "-c", code, url))
    ip.run_cell(f"import nbmlops as mo\nsource = '{url}'", store_history=True)
    ip.run_cell("with mo.start_run(name='in-notebook'): mo.log_metric('x', 1)", store_history=True)
    try:
        with mo.start_run(name="failing"):
            raise ConnectionError(f"lost {url}")
    except ConnectionError:
        pass
    store = mo.Workspace.find().store()
    shown += [
        cli("runs", "list"),
        cli("runs", "show", mo.list_runs().runs[0]["id"]),
        cli("fsck"),
        cli("audit", "log"),
    ]
    # an error that prints the URL
    shown.append(cli("init", "--db-url", url.replace("/t_", "/other_")))
    printed = "\n".join(r.stdout + r.stderr for r in shown) + repr(store) + repr(Workspace.find())
    assert "***" in printed
    for place, content in (
        ("output", printed),
        ("logs", caplog.text),
        ("store", everything_stored(store)),
    ):
        assert SECRET not in content, f"the password leaked into the {place}"
    assert (
        mo.get_run(mo.list_runs(filter="attributes.name = 'failing'").runs[0]["id"])
        .run["error"]
        .count("***")
        == 1
    )


def test_unreachable_servers_name_the_url_without_its_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".mlops").mkdir()
    (tmp_path / ".mlops" / "config.toml").write_text(
        f'db_url = "postgresql+psycopg://ada:{SECRET}@127.0.0.1:9/mlops"\n'
        'objects_url = "s3://bucket/objects"\n'
        f'[objects_options]\nkey = "AKIDEXAMPLE"\nsecret = "{SECRET}"\n'
        'client_kwargs = {endpoint_url = "http://127.0.0.1:9"}\n'
        "config_kwargs = {retries = {max_attempts = 1}, connect_timeout = 1}\n"
    )
    with pytest.raises(StoreUnavailable) as db_error:
        mo.status()
    assert "ada:***@127.0.0.1:9" in str(db_error.value) and SECRET not in str(db_error.value)
    objects = Workspace(
        tmp_path,
        Config(
            objects_url="s3://bucket/objects",
            objects_options={
                "key": "AKIDEXAMPLE",
                "secret": SECRET,
                "client_kwargs": {"endpoint_url": "http://127.0.0.1:9"},
                "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
            },
        ),
    )
    from nbmlops.store.objects import ObjectStore

    store = ObjectStore(objects.objects_url, objects.config.objects_options)
    with pytest.raises(StoreUnavailable) as s3_error:
        store.put(b"x")
    assert "s3://bucket/objects" in str(s3_error.value) and SECRET not in str(s3_error.value)
    assert SECRET not in repr(objects) and SECRET not in repr(store)


# ---------------------------------------------------------------- artifact names


ESCAPES = [
    "../evil.txt",
    "a/../../evil.txt",
    "/etc/passwd",
    "C:\\evil.txt",
    "C:evil",
    "a\x00b",
    "x" * 513,
    "./a",
    "a//b",
    "",
    " padded",
    "caf\udce9.txt",
    "a\\b",
]


@pytest.mark.parametrize("name", ESCAPES, ids=[repr(n)[:20] for n in ESCAPES])
def test_artifact_names_cannot_leave_the_store(store, name, cli):
    with mo.start_run(name="names") as run:
        before = set(store.objects)
        with pytest.raises(InvalidInput):
            run.log_artifact(b"payload", name)
        assert set(store.objects) == before
    with pytest.raises(InvalidInput):
        mo.load_artifact(run.id, name)
    out = cli("runs", "artifact", run.id, name, "--out", "copy.bin")
    assert out.exit_code == InvalidInput.exit_code and out.stderr.count("\n") == 1
    assert not Path("copy.bin").exists() and mo.get_run(run.id).artifacts == []


def test_stored_names_never_become_paths(store, tmp_path):
    folder = tmp_path / "deep"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "c.txt").write_text("c")
    (folder / "outside.txt").symlink_to("/etc/hostname")  # a link is stored as the file it names
    with mo.start_run(name="paths") as run:
        run.log_artifact(folder, "nested")
        run.log_artifact(b"z", "x/y/z.bin")
    layout = sorted(
        p.relative_to(store.objects.root).as_posix()
        for p in Path(store.objects.root).rglob("*")
        if p.is_file()
    )
    assert all(len(p.split("/")[0]) == 2 and len(p.split("/")[1]) == 62 for p in layout), layout
    assert {a["name"] for a in mo.get_run(run.id).artifacts} == {
        "nested/a/b/c.txt",
        "nested/outside.txt",
        "x/y/z.bin",
    }


def test_a_folder_with_a_non_utf8_file_name_stores_nothing(store, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text("fine")
    (folder / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name")
    with mo.start_run(name="mixed") as run:
        before = set(store.objects)
        with pytest.raises(InvalidInput, match="not valid UTF-8"):
            run.log_artifact(folder)
        assert set(store.objects) == before
    assert mo.get_run(run.id).artifacts == []


# ---------------------------------------------------------------- read-only access


def counts(conn) -> dict[str, int]:
    return {
        t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
        for t in meta.metadata.sorted_tables
    }


def _seed_one_run():
    with mo.start_run(name="seen by dashboards") as run:
        mo.log_metric("accuracy", 0.9)
    return run


def _try_writes(store) -> list[type]:
    """Write through the API and, bypassing its read-only flag, straight through the engine."""
    raised = []
    for write in (
        lambda: mo.start_run(name="sneaky", store=store),
        lambda: mo.tag_run(store_run_id(store), {"x": "y"}, store=store),
    ):
        with pytest.raises(PermissionDenied):
            write()
        raised.append(PermissionDenied)
    from nbmlops.store.database import connection

    with (
        pytest.raises(PermissionDenied),
        connection(store.engine, write=True, url=store.db_url) as conn,
    ):
        conn.execute(insert(meta.tags).values(run_id=store_run_id(store), key="x", value="y"))
    with (
        pytest.raises(PermissionDenied),
        connection(store.engine, write=True, url=store.db_url) as conn,
    ):
        store.audit(conn, "run.tags", "run", "forged")
    return raised


def store_run_id(store) -> str:
    with store.read() as conn:
        return conn.execute(select(meta.runs.c.id)).scalar_one()


def test_sqlite_read_only_store_cannot_write(workspace):
    _seed_one_run()
    with workspace.store().read() as conn:
        before = counts(conn)
    readonly = Workspace.find(readonly=True).store()
    assert readonly.readonly and mo.list_runs(store=readonly).total == 1
    _try_writes(readonly)
    with workspace.store().read() as conn:
        assert counts(conn) == before


@pytest.mark.postgres
def test_postgres_dashboard_role_reads_and_cannot_write(pg_url, tmp_path, monkeypatch, cli):
    """The role from docs/readonly-role.md: dashboards read everything and can change nothing."""
    monkeypatch.chdir(tmp_path)
    Workspace.init(tmp_path, db_url=pg_url)
    run = _seed_one_run()
    role = "dashboards_" + tmp_path.name[-8:].replace("-", "_").lower()
    database = pg_url.rsplit("/", 1)[1]
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    sql = (
        (Path(__file__).parents[1] / "docs" / "readonly-role.md")
        .read_text()
        .split("```sql")[1]
        .split("```")[0]
    )
    with admin.connect() as conn:
        conn.execute(
            text(
                sql.replace("dashboards", role)
                .replace("mlops", database)
                .replace(":'password'", "'pw'")
            )
        )
        before = counts(conn)
    readonly_url = pg_url.replace("postgres@", f"{role}:pw@")
    config = tmp_path / ".mlops" / "config.toml"
    config.write_text(config.read_text() + f'readonly_db_url = "{readonly_url}"\n')
    out = cli("status", "--readonly", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["access"] == "read-only"
    readonly = Workspace.find(readonly=True).store()
    assert readonly.db_url == readonly_url
    assert mo.get_run(run.id, store=readonly).metrics[0]["last"] == 0.9
    assert (
        mo.verify_audit(store=readonly).passed
        and mo.audit_log(store=readonly).total == before["audit_events"]
    )
    _try_writes(readonly)
    # the role itself refuses writes, even to a process that does not know it is read-only
    unaware = Workspace(tmp_path, Config(db_url=readonly_url)).store()
    with pytest.raises(PermissionDenied):
        mo.start_run(name="unaware", store=unaware)
    with pytest.raises(PermissionDenied):
        mo.tag_run(run.id, {"x": "y"}, store=unaware)
    from nbmlops.store.database import connection

    with (
        pytest.raises(PermissionDenied, match="this role may only read"),
        connection(unaware.engine, write=True, url=unaware.db_url) as conn,
    ):
        # a hostile client lifts the read-only default
        conn.execute(text("SET TRANSACTION READ WRITE"))
        conn.execute(insert(meta.tags).values(run_id=run.id, key="x", value="y"))
    with admin.connect() as conn:
        assert counts(conn) == before
    admin.dispose()
    unaware.close()


def test_missing_workspace_is_not_found(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotFound, match="mlops init"):
        mo.status()
