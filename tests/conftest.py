"""Shared fixtures: real workspaces on every backend pair, an in-process IPython, the CLI.

PostgreSQL and S3 come from ``tools/with-services`` (``make test`` uses it):
``MLOPS_TEST_PG_URL`` is a superuser URL and each test gets a database of its
own; ``MLOPS_TEST_S3_ENDPOINT`` is a moto server and each test gets a bucket.
Nothing of our own store is mocked.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BACKENDS = ["sqlite-local", "sqlite-s3", "postgres-local", "postgres-s3"]
ENV_VARS = (
    "MLOPS_HOME",
    "MLOPS_DB_URL",
    "MLOPS_OBJECTS_URL",
    "MLOPS_READONLY_DB_URL",
    "MLOPS_RUN_ID",
    "MLOPS_NOTEBOOK",
    "MLOPS_READONLY",
    "JPY_SESSION_NAME",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _reset_process_state() -> None:
    from nbmlops.store import forget_stores
    from nbmlops.tracking import runs as tracking
    from nbmlops.tracking.buffer import BUFFER

    tracking._stack.clear()
    tracking._attached = None
    BUFFER.discard()
    forget_stores()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees another's workspace, run stack, buffered points or env."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLOPS_USER", "tester")
    yield
    _reset_process_state()


# ---------------------------------------------------------------- servers


def pg_admin_url() -> str:
    url = os.environ.get("MLOPS_TEST_PG_URL")
    if not url:
        pytest.fail(
            "PostgreSQL tests need MLOPS_TEST_PG_URL: run them with `make test` or "
            "`tools/with-services .venv/bin/pytest ...`."
        )
    return url


def s3_endpoint() -> str:
    url = os.environ.get("MLOPS_TEST_S3_ENDPOINT")
    if not url:
        pytest.fail(
            "S3 tests need MLOPS_TEST_S3_ENDPOINT: run them with `make test` or "
            "`tools/with-services .venv/bin/pytest ...`."
        )
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test."""
    from sqlalchemy import create_engine, text

    admin_url = pg_admin_url()
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    yield url
    from nbmlops.store import forget_stores

    forget_stores()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def s3_url() -> str:
    """A fresh bucket on the test S3 endpoint; returns an objects URL inside it."""
    import s3fs

    s3_endpoint()
    bucket = f"t-{uuid.uuid4().hex[:20]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(bucket)
    return f"s3://{bucket}/objects"


# ---------------------------------------------------------------- workspaces


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A fresh embedded workspace (SQLite + local objects), the current directory."""
    from nbmlops.workspace import Workspace

    monkeypatch.chdir(tmp_path)
    ws, _ = Workspace.init(tmp_path)
    return ws


@pytest.fixture
def store(workspace):  # type: ignore[no-untyped-def]
    return workspace.store()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A fresh workspace on each backend pair; the current directory."""
    from nbmlops.workspace import Workspace

    db, objects = request.param.split("-")
    db_url = request.getfixturevalue("pg_url") if db == "postgres" else None
    objects_url = request.getfixturevalue("s3_url") if objects == "s3" else None
    monkeypatch.chdir(tmp_path)
    ws, _ = Workspace.init(tmp_path, db_url=db_url, objects_url=objects_url)
    return ws


@pytest.fixture
def backend_store(backend):  # type: ignore[no-untyped-def]
    return backend.store()


# ---------------------------------------------------------------- front ends


@dataclasses.dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    """Run ``mlops`` in-process: ``cli("runs", "list")`` -> exit code, stdout, stderr."""
    from nbmlops.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture
def ip(workspace):  # type: ignore[no-untyped-def]
    """An in-process IPython shell with ``%load_ext nbmlops`` done, in a fresh workspace."""
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython() or get_ipython()  # the test shell is a process-wide singleton
    if "nbmlops" in shell.extension_manager.loaded:
        import nbmlops

        nbmlops.load_ipython_extension(shell)  # re-register, in case a test replaced the handler
    else:
        shell.run_line_magic("load_ext", "nbmlops")
    yield shell
    shell.user_ns.pop("_", None)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):  # type: ignore[no-untyped-def]
    """pytest-playwright: Debian's Chromium, never a downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def local_page(page):  # type: ignore[no-untyped-def]
    """A Playwright page that can only reach loopback (Voila asks a CDN for icons)."""
    page.route(
        "**/*",
        lambda route: (
            route.continue_()
            if route.request.url.startswith(
                ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")
            )
            else route.abort()
        ),
    )
    return page
