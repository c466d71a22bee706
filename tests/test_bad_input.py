"""The bad-input corpus: every malformed input gets one sentence, a non-zero exit, one red line, and
no change.

Each row is run through the real front ends, in a copy of one seeded workspace:
a command line through ``mlops`` (exit code, one ``Error:`` line on stderr,
nothing on stdout) and through ``%mlops`` in IPython (one line, the right
MlopsError subclass); Python rows run in the notebook with ``mo`` imported and
a run open. Afterwards every table has the same number of rows and fsck finds
no damage.

A concept adds its rows to ``CASES`` (its own section): ``cli(id, *argv)`` for
a command, ``py(id, code)`` for the Python API, with ``error=`` the expected
class, ``env=``/``files=`` for a broken configuration, ``setup=`` for damage
that is undone afterwards. Placeholders: ``{run}`` (a finished run with
params C=0.5, metric loss, tag team=risk, artifact model.bin), ``{ambiguous}``
(a run-id prefix shared by two runs), ``{scratch}`` (an empty folder),
``{closed}`` (a TCP port nobody listens on).
"""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import nbmlops as mo
from nbmlops.errors import (
    Ambiguous,
    Conflict,
    IntegrityError,
    InvalidInput,
    MlopsError,
    NotFound,
    StoreUnavailable,
    WorkspaceNotFound,
)
from nbmlops.evaluate.storage import record_evaluation
from nbmlops.maintenance.integrity import fsck
from nbmlops.store import forget_stores, meta


@dataclasses.dataclass
class Case:
    id: str
    argv: tuple[str, ...] = ()
    code: str = ""
    error: type[MlopsError] = InvalidInput
    env: dict[str, str] = dataclasses.field(default_factory=dict)
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    setup: Callable[[dict[str, Any]], Callable[[], None]] | None = None
    magic_only: bool = False
    leaves_nothing: str | None = None  # a path that must not exist afterwards


def cli(id: str, *argv: str, **kw: Any) -> Case:
    return Case(id, argv=argv, **kw)


def py(id: str, code: str, **kw: Any) -> Case:
    return Case(id, code=code, **kw)


def _log_param_c(ctx):
    mo.log_params(C=1)  # into the test's open run; the case then tries to change it
    return lambda: None


def _flip_artifact(ctx):
    path = Path(ctx["store"].objects.key(ctx["artifact"]))
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    return lambda: path.write_bytes(original)


def _hide_artifact(ctx):
    path = Path(ctx["store"].objects.key(ctx["artifact"]))
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    return lambda: aside.rename(path)


BAD_TOML = {".mlops/config.toml": b'db_url = "sqlite:///x.db\n'}
SCRATCH_HOME = {"MLOPS_HOME": "{scratch}"}
S3_REFUSING = {
    ".mlops/config.toml": b'objects_url = "s3://bucket/objects"\n[objects_options]\nkey = '
    b'"k"\nsecret = "s"\n'
    b'client_kwargs = {endpoint_url = "http://127.0.0.1:CLOSED"}\n'
    b"config_kwargs = {retries = {max_attempts = 1}, connect_timeout = 1}\n"
}
NOT_A_DB = {".mlops/meta.db": b"SQLite format 2\x00 but really just some bytes" * 50}
NOTEBOOK_NOT_JSON = {"analysis.ipynb": b"{this is not json"}
LONG = "x" * 100_000

CASES: list[Case] = [
    # ---------------------------------------------------------------- front ends
    cli("unknown command", "frobnicate"),
    cli("unknown option", "runs", "list", "--frobnicate"),
    cli("unknown sub-command", "runs", "frobnicate"),
    cli("unbalanced quote in the magic", "runs", "list", "--filter", "x", magic_only=True),
    # ---------------------------------------------------------------- init and configuration
    cli("init into a file", "init", "{scratch}/afile", files={"afile": b"I am a file"}),
    cli(
        "init with an unsupported database",
        "init",
        "{scratch}/new",
        "--db-url",
        "mysql://u@h/db",
        leaves_nothing="{scratch}/new/.mlops",
    ),
    cli(
        "init with a database URL that is not one",
        "init",
        "{scratch}/new",
        "--db-url",
        "not a url",
        leaves_nothing="{scratch}/new/.mlops",
    ),
    cli(
        "init with an unknown object store",
        "init",
        "{scratch}/new",
        "--objects-url",
        "nosuch://bucket",
        leaves_nothing="{scratch}/new/.mlops",
    ),
    cli(
        "init with PostgreSQL on a closed port",
        "init",
        "{scratch}/new",
        "--db-url",
        "postgresql+psycopg://ada:pw@127.0.0.1:{closed}/mlops",
        error=StoreUnavailable,
        leaves_nothing="{scratch}/new/.mlops",
    ),
    cli("init here again with other URLs", "init", ".", "--db-url", "sqlite:////tmp/elsewhere.db"),
    cli("config that is not TOML", "status", env=SCRATCH_HOME, files=BAD_TOML),
    cli(
        "config that is not UTF-8",
        "runs",
        "list",
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b"\xff\xfe\x00d"},
    ),
    cli(
        "config with an unknown setting",
        "status",
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b'colour = "red"\n'},
    ),
    cli(
        "config with a number for a URL",
        "status",
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b"db_url = 5\n"},
    ),
    cli(
        "config with objects_options not a table",
        "status",
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b'objects_options = "fast"\n'},
    ),
    cli("MLOPS_HOME without a workspace", "status", error=WorkspaceNotFound, env=SCRATCH_HOME),
    cli(
        "database file that is not SQLite",
        "status",
        error=IntegrityError,
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b"", **NOT_A_DB},
    ),
    cli(
        "database path that is a folder",
        "status",
        error=StoreUnavailable,
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b'db_url = "sqlite:///dbdir"\n', "dbdir/keep": b""},
    ),
    cli(
        "read-only open of a database never created",
        "status",
        "--readonly",
        error=StoreUnavailable,
        env=SCRATCH_HOME,
        files={".mlops/config.toml": b""},
    ),
    cli(
        "PostgreSQL on a closed port",
        "status",
        error=StoreUnavailable,
        env={"MLOPS_DB_URL": "postgresql+psycopg://ada:pw@127.0.0.1:{closed}/mlops"},
    ),
    cli(
        "PostgreSQL URL with a bad port",
        "runs",
        "list",
        env={"MLOPS_DB_URL": "postgresql+psycopg://ada@127.0.0.1:notaport/x"},
    ),
    cli(
        "S3 endpoint that refuses",
        "fsck",
        error=StoreUnavailable,
        env=SCRATCH_HOME,
        files=S3_REFUSING,
    ),
    # ---------------------------------------------------------------- mlops run
    cli("run without a command", "run"),
    cli("run a program that does not exist", "run", "--", "/no/such/program", "--flag"),
    cli("run with a tag without =", "run", "--tag", "novalue", "--", "true"),
    cli("run with an empty tag key", "run", "--tag", "=v", "--", "true"),
    cli("run with a huge name", "run", "--name", LONG, "--", "true"),
    cli("run with a non-UTF-8 name", "run", "--name", "caf\udce9", "--", "true"),
    cli("run with a non-UTF-8 tag value", "run", "--tag", "k=caf\udce9", "--", "true"),
    cli(
        "run with a notebook that is not JSON",
        "run",
        "--name",
        "x" * 300,
        "--",
        "true",
        files=NOTEBOOK_NOT_JSON,
    ),
    # ---------------------------------------------------------------- mlops runs list: filters,
    # sort, pages
    cli("filter cut short", "runs", "list", "--filter", "metrics.loss >"),
    cli("filter with an unknown namespace", "runs", "list", "--filter", "foo.bar = 1"),
    cli("filter comparing a metric with text", "runs", "list", "--filter", "metrics.loss > 'low'"),
    cli("filter with NaN", "runs", "list", "--filter", "metrics.loss > nan"),
    cli("filter with infinity", "runs", "list", "--filter", "metrics.loss < inf"),
    cli("filter with an unclosed parenthesis", "runs", "list", "--filter", "(metrics.loss > 1"),
    cli("filter with an empty list", "runs", "list", "--filter", "params.C in ()"),
    cli(
        "filter with a date that is not one",
        "runs",
        "list",
        "--filter",
        "attributes.start_time > 'soon'",
    ),
    cli("filter with an unclosed backtick", "runs", "list", "--filter", "metrics.`val loss > 1"),
    cli(
        "filter with an unknown attribute", "runs", "list", "--filter", "attributes.colour = 'red'"
    ),
    cli("filter with a doubled operator", "runs", "list", "--filter", "metrics.loss >> 1"),
    cli("filter with a NUL byte", "runs", "list", "--filter", "\x00"),
    cli("filter of 100,000 characters", "runs", "list", "--filter", "metrics.loss > 1 " * 6_000),
    cli("filter with non-UTF-8 text", "runs", "list", "--filter", "params.C = 'caf\udce9'"),
    cli("filter ending in and", "runs", "list", "--filter", "params.C = 0.5 and"),
    cli("sort by an unknown field", "runs", "list", "--sort", "bogus"),
    cli("sort by a bare minus", "runs", "list", "--sort", "-"),
    cli("sort by an unknown attribute", "runs", "list", "--sort", "attributes.colour"),
    cli("limit zero", "runs", "list", "--limit", "0"),
    cli("limit negative", "runs", "list", "--limit", "-5"),
    cli("limit not a number", "runs", "list", "--limit", "ten"),
    cli("limit beyond 64 bits", "runs", "list", "--limit", "99999999999999999999999"),
    cli("offset negative", "runs", "list", "--offset", "-1"),
    # ---------------------------------------------------------------- runs show / compare / history
    # / tag / artifact
    cli("show a ref that is not hex", "runs", "show", "zzz"),
    cli("show an empty ref", "runs", "show", ""),
    cli("show a ref longer than an id", "runs", "show", "a" * 33),
    cli("show a run that does not exist", "runs", "show", "0123abcd", error=NotFound),
    cli("show an ambiguous prefix", "runs", "show", "{ambiguous}", error=Ambiguous),
    cli("show a non-UTF-8 ref", "runs", "show", "caf\udce9"),
    cli("compare one run", "runs", "compare", "{run}"),
    cli("compare with a bad ref", "runs", "compare", "{run}", "xyz"),
    cli("history of a missing metric", "runs", "history", "{run}", "accuracy", error=NotFound),
    cli("history of a bad ref", "runs", "history", "../..", "loss"),
    cli("tag without =", "runs", "tag", "{run}", "novalue"),
    cli("tag with an empty key", "runs", "tag", "{run}", "=v"),
    cli("tag with a 300-character key", "runs", "tag", "{run}", "k" * 300 + "=v"),
    cli("tag with a non-UTF-8 value", "runs", "tag", "{run}", "k=caf\udce9"),
    cli("tag a run that does not exist", "runs", "tag", "deadbeef", "k=v", error=NotFound),
    cli("tag with no tags", "runs", "tag", "{run}"),
    cli(
        "artifact that does not exist",
        "runs",
        "artifact",
        "{run}",
        "missing.bin",
        "--out",
        "{scratch}/o",
        error=NotFound,
    ),
    cli(
        "artifact name escaping the store",
        "runs",
        "artifact",
        "{run}",
        "../../etc/passwd",
        "--out",
        "{scratch}/o",
    ),
    cli(
        "artifact name with a NUL byte",
        "runs",
        "artifact",
        "{run}",
        "a\x00b",
        "--out",
        "{scratch}/o",
    ),
    cli(
        "artifact written into a missing folder",
        "runs",
        "artifact",
        "{run}",
        "model.bin",
        "--out",
        "/no/such/dir/o",
    ),
    cli(
        "artifact written onto a folder",
        "runs",
        "artifact",
        "{run}",
        "model.bin",
        "--out",
        "{scratch}",
    ),
    cli(
        "artifact whose object is corrupt",
        "runs",
        "artifact",
        "{run}",
        "model.bin",
        "--out",
        "{scratch}/o",
        error=IntegrityError,
        setup=_flip_artifact,
    ),
    cli(
        "artifact whose object is missing",
        "runs",
        "artifact",
        "{run}",
        "model.bin",
        "--out",
        "{scratch}/o",
        error=NotFound,
        setup=_hide_artifact,
    ),
    cli("autolog an unknown library", "autolog", "xgboost"),
    cli("autolog without a library", "autolog"),
    # ---------------------------------------------------------------- fsck, gc, audit
    cli("fsck with an unknown flag", "fsck", "--deep"),
    cli("gc grace NaN", "gc", "--grace", "nan"),
    cli("gc grace negative", "gc", "--grace", "-1h"),
    cli("gc grace unknown unit", "gc", "--grace", "1parsec"),
    cli("gc grace empty", "gc", "--grace", ""),
    cli("gc grace infinite", "gc", "--grace", "1e400"),
    cli("audit log entity malformed", "audit", "log", "--entity", "Run!!"),
    cli("audit log action malformed", "audit", "log", "--action", "run; drop table runs"),
    cli("audit log since not a time", "audit", "log", "--since", "yesterdayish"),
    cli("audit log since an impossible date", "audit", "log", "--since", "2026-13-45"),
    cli("audit log limit zero", "audit", "log", "--limit", "0"),
    cli("audit log limit huge", "audit", "log", "--limit", "1000000"),
    cli("audit log empty user", "audit", "log", "--user", ""),
    cli("audit log offset negative", "audit", "log", "--offset", "-3"),
    cli("audit verify anchor malformed", "audit", "verify", "--anchor", "nonsense"),
    cli("audit verify anchor not hex", "audit", "verify", "--anchor", "5:zzzzzzzzzz"),
    cli("audit unknown sub-command", "audit", "erase"),
    # ---------------------------------------------------------------- export to and import from
    # MLflow
    cli(
        "export to MLflow on a closed port",
        "export",
        "mlflow",
        "--to",
        "http://127.0.0.1:{closed}",
        error=StoreUnavailable,
    ),
    cli(
        "export with a bad filter",
        "export",
        "mlflow",
        "--to",
        "sqlite:///{scratch}/m.db",
        "--filter",
        "metrics.loss >",
        leaves_nothing="{scratch}/m.db",
    ),
    cli(
        "import from a missing MLflow store",
        "import",
        "mlflow",
        "--from",
        "sqlite:///{scratch}/none.db",
        error=NotFound,
    ),
    cli("import from an empty MLflow URI", "import", "mlflow", "--from", " "),
    cli("jobs panel with a negative limit", "panel", "jobs", "--limit", "-3"),
    cli("dashboard on a port out of range", "dashboard", "serve", "churn", "--port", "70000"),
    # ---------------------------------------------------------------- the Python API, in the
    # notebook
    py("monitor history with a limit that is text", "mo.monitor.history('loans-watch', limit='5')"),
    py("jobs listed with a limit that is true", "mo.jobs.list_jobs(limit=True)"),
    py("runs listed with a negative offset", "mo.list_runs(offset=-1)"),
    py("jobs panel with a limit that is a fraction", "mo.panels.jobs(limit=2.5)"),
    py("metric value that is text", "mo.log_metric('acc', 'high')"),
    py("metric with an empty name", "mo.log_metric('', 1)"),
    py("metric name that is not text", "mo.log_metric(None, 1)"),
    py("metric step that is not whole", "mo.log_metric('acc', 1, step=1.5)"),
    py("metric value that is a list", "mo.log_metric('acc', [1, 2])"),
    py("metric name that is not UTF-8", "mo.log_metric('caf\\udce9', 1)"),
    py("metrics dict with text", "mo.log_metrics({'a': 'b'})"),
    py("param name that is a number", "mo.log_params({1: 2})"),
    py("param changed within a run", "mo.log_params(C=2)", error=Conflict, setup=_log_param_c),
    py("param with a NUL-byte name", "mo.log_params({'a\\x00b': 1})"),
    py("tag with an empty name", "mo.set_tags({'': 1})"),
    py("note that is not text", "mo.note(123)"),
    py("artifact of an unsupported type", "mo.log_artifact(object())"),
    py("artifact name escaping the run", "mo.log_artifact(b'x', '../evil')"),
    py("artifact at an absolute path", "mo.log_artifact(b'x', '/etc/passwd')"),
    py("artifact name of 600 characters", "mo.log_artifact(b'x', 'x' * 600)"),
    py("artifact from a missing file", "mo.log_artifact('no/such/file.csv')", error=NotFound),
    py("artifact dict that is not JSON", "mo.log_artifact({'a': object()}, 'a.json')"),
    py(
        "artifact frame that is not Parquet",
        "import pandas as pd; mo.log_artifact(pd.DataFrame({'a': [object()]}))",
    ),
    py("run name that is a number", "mo.start_run(name=5)"),
    py("run name of 300 characters", "mo.start_run(name='x' * 300)"),
    py("get_run with a number", "mo.get_run(42)"),
    py(
        "load_artifact that does not exist", "mo.load_artifact('{run}', 'nope.bin')", error=NotFound
    ),
    py("list_runs with a negative limit", "mo.list_runs(limit=-1)"),
    py("list_runs with a filter that is a number", "mo.list_runs(filter=123)"),
    py("compare_runs with one string", "mo.compare_runs('{run}')"),
    py("tag_run with a bad ref", "mo.tag_run('zzz', {'a': 1})"),
    py("audit_log limit as text", "mo.audit_log(limit='5')"),
    py("gc grace of None", "mo.gc(grace=None)"),
    py("verify_audit anchor a number", "mo.verify_audit(anchor=5)"),
    py(
        "evaluation of an unknown kind",
        "from nbmlops.evaluate.storage import record_evaluation; "
        "record_evaluation('vibes', subject={}, summary={}, report={})",
    ),
    py(
        "evaluation id that is text",
        "from nbmlops.evaluate.storage import get_evaluation; get_evaluation('x')",
    ),
    py("init with a NUL byte in the path", "mo.init('a\\x00b')"),
    cli(
        "copy to an unsupported database",
        "copy",
        "--db-url",
        "mysql://u@h/db",
        "--objects-url",
        "{scratch}/objects",
    ),
    cli(
        "copy onto this workspace's own database",
        "copy",
        "--db-url",
        "sqlite:///.mlops/meta.db",
        "--objects-url",
        "{scratch}/objects",
    ),
    # ---------------------------------------------------------------- data (seeded: loans@1,
    # loans.csv)
    cli(
        "data commit of a missing file",
        "data",
        "commit",
        "no/such.csv",
        "-n",
        "loans",
        error=NotFound,
    ),
    cli(
        "data commit under a name escaping the store",
        "data",
        "commit",
        "loans.csv",
        "-n",
        "../evil",
    ),
    cli(
        "data commit under a name with a NUL byte", "data", "commit", "loans.csv", "-n", "lo\x00ans"
    ),
    cli(
        "data commit of a file that is not CSV",
        "data",
        "commit",
        "{scratch}/broken.csv",
        "-n",
        "broken",
        files={"broken.csv": b"\xff\xfe\x00\x01" * 40},
    ),
    cli(
        "data diff with a version that does not exist",
        "data",
        "diff",
        "loans@1",
        "loans@9",
        error=NotFound,
    ),
    cli(
        "data diff keyed by a missing column",
        "data",
        "diff",
        "loans@1",
        "loans@1",
        "--key",
        "nosuch",
    ),
    cli("data diff with a negative sample", "data", "diff", "loans@1", "loans@1", "--sample", "-1"),
    cli("data lineage of a malformed ref", "data", "lineage", "loans@@1"),
    cli("data list with an extra argument", "data", "list", "loans"),
    cli(
        "data load onto an existing file",
        "data",
        "load",
        "loans@1",
        "-o",
        "{scratch}/afile.csv",
        error=Conflict,
        files={"afile.csv": b"keep me"},
    ),
    cli(
        "data load of a column it lacks",
        "data",
        "load",
        "loans@1",
        "-o",
        "{scratch}/o.csv",
        "-c",
        "nosuch",
    ),
    cli("data load to an unknown format", "data", "load", "loans@1", "-o", "{scratch}/o.xlsx"),
    cli("data log of an unknown dataset", "data", "log", "nosuch", error=NotFound),
    cli("data schema of an unknown tag", "data", "schema", "loans@nosuchtag", error=NotFound),
    cli("data show of version zero", "data", "show", "loans@0", error=NotFound),
    cli("data tag with a number for a tag", "data", "tag", "loans@1", "7"),
    cli("data tag named latest", "data", "tag", "loans@1", "latest"),
    cli(
        "data tag removal of a tag never set",
        "data",
        "tag",
        "loans",
        "prod",
        "--remove",
        error=NotFound,
    ),
    cli(
        "data validate a missing file",
        "data",
        "validate",
        "no/such.csv",
        "-a",
        "loans@1",
        error=NotFound,
    ),
    cli(
        "data validate against an unknown dataset",
        "data",
        "validate",
        "loans.csv",
        "-a",
        "nosuch@1",
        error=NotFound,
    ),
    py("data commit of a number", "mo.data.commit(42, 'loans')"),
    py("data load of a version that is text", "mo.data.load('loans@one')", error=NotFound),
    # ---------------------------------------------------------------- drift
    cli("drift against a missing file", "drift", "loans@1", "no/such.csv", error=NotFound),
    cli(
        "drift with a p-value threshold above one",
        "drift",
        "loans@1",
        "loans.csv",
        "--threshold",
        "ks=1.5",
    ),
    cli("drift with an unknown test", "drift", "loans@1", "loans.csv", "--test", "vibes"),
    cli(
        "drift with an unknown threshold",
        "drift",
        "loans@1",
        "loans.csv",
        "--threshold",
        "colour=1",
    ),
    cli(
        "drift with a window that is not a length",
        "drift",
        "loans@1",
        "loans.csv",
        "--window",
        "soon",
    ),
    cli("drift of a column it lacks", "drift", "loans@1", "loans.csv", "--columns", "nosuch"),
    cli(
        "drift with zero rows per batch",
        "drift",
        "loans@1",
        "loans.csv",
        "--chunked",
        "--batch-rows",
        "0",
    ),
    # ---------------------------------------------------------------- evaluate (seeded: churn@1)
    cli(
        "evaluate bias of an unknown model",
        "evaluate",
        "bias",
        "nosuch@1",
        "loans.csv",
        "-s",
        "gender",
        "-t",
        "churned",
        error=NotFound,
    ),
    cli(
        "evaluate bias on a column X lacks",
        "evaluate",
        "bias",
        "churn@1",
        "loans.csv",
        "-s",
        "nosuch",
        "-t",
        "churned",
    ),
    cli(
        "evaluate bias with a ratio above one",
        "evaluate",
        "bias",
        "churn@1",
        "loans.csv",
        "-s",
        "gender",
        "-t",
        "churned",
        "--threshold",
        "1.5",
    ),
    cli(
        "evaluate bias with a confidence of 100",
        "evaluate",
        "bias",
        "churn@1",
        "loans.csv",
        "-s",
        "gender",
        "-t",
        "churned",
        "--bootstrap",
        "10",
        "--confidence",
        "100",
    ),
    cli("evaluate list of an unknown kind", "evaluate", "list", "--kind", "vibes"),
    cli("evaluate list limit zero", "evaluate", "list", "--limit", "0"),
    cli(
        "evaluate perf with no time budget",
        "evaluate",
        "perf",
        "churn@1",
        "loans.csv",
        "--budget",
        "0",
    ),
    cli(
        "evaluate perf with a zero batch",
        "evaluate",
        "perf",
        "churn@1",
        "loans.csv",
        "--batch-size",
        "0",
    ),
    cli("evaluate show an id that is a word", "evaluate", "show", "twelve"),
    cli("evaluate show an id that does not exist", "evaluate", "show", "#999", error=NotFound),
    cli(
        "evaluate slices with one fold",
        "evaluate",
        "slices",
        "churn@1",
        "loans.csv",
        "-t",
        "churned",
        "-k",
        "1",
    ),
    cli(
        "evaluate slices by a column X lacks",
        "evaluate",
        "slices",
        "churn@1",
        "loans.csv",
        "-t",
        "churned",
        "-b",
        "nosuch",
    ),
    # ---------------------------------------------------------------- jobs (seeded: job.ipynb, not
    # run)
    cli("job list limit zero", "job", "list", "--limit", "0"),
    cli(
        "job list of a sweep that does not exist",
        "job",
        "list",
        "--sweep",
        "deadbeef",
        error=NotFound,
    ),
    cli("job log of a run that is not a job", "job", "log", "{run}", error=NotFound),
    cli("job log of an unknown run", "job", "log", "deadbeef", error=NotFound),
    cli(
        "job output of a run that is not a job",
        "job",
        "output",
        "{run}",
        "-o",
        "{scratch}/out.ipynb",
        error=NotFound,
        leaves_nothing="{scratch}/out.ipynb",
    ),
    cli(
        "job params of a notebook that is not JSON",
        "job",
        "params",
        "{scratch}/analysis.ipynb",
        files=NOTEBOOK_NOT_JSON,
    ),
    cli("job params of a missing notebook", "job", "params", "no/such.ipynb", error=NotFound),
    cli("job reproduce of a run that is not a job", "job", "reproduce", "{run}"),
    cli("job run of a missing notebook", "job", "run", "no/such.ipynb", error=NotFound),
    cli("job run with a parameter that is not YAML", "job", "run", "job.ipynb", "-p", "C", "[1,"),
    cli("job run with a negative timeout", "job", "run", "job.ipynb", "--timeout", "-1"),
    cli("job run with negative retries", "job", "run", "job.ipynb", "--retries", "-1"),
    cli("job run of a file that is not a notebook", "job", "run", "loans.csv"),
    cli("job show of an unknown run", "job", "show", "deadbeef", error=NotFound),
    cli(
        "job sweep with a malformed distribution",
        "job",
        "sweep",
        "job.ipynb",
        "--random",
        "C=uniform:1",
        "--samples",
        "2",
    ),
    cli("job sweep with an empty grid", "job", "sweep", "job.ipynb", "--grid", "C="),
    cli(
        "job sweep with zero samples",
        "job",
        "sweep",
        "job.ipynb",
        "--random",
        "C=uniform:0:1",
        "--samples",
        "0",
    ),
    cli(
        "job sweep with an unknown executor",
        "job",
        "sweep",
        "job.ipynb",
        "--grid",
        "C=1,2",
        "--executor",
        "carrier://pigeon",
    ),
    cli(
        "job validate of a notebook that is not JSON",
        "job",
        "validate",
        "{scratch}/analysis.ipynb",
        files=NOTEBOOK_NOT_JSON,
    ),
    cli("job validate with a negative timeout", "job", "validate", "job.ipynb", "--timeout", "-5"),
    # ---------------------------------------------------------------- model registry (seeded:
    # churn@1)
    cli("model alias production without promote", "model", "alias", "churn@1", "production"),
    cli("model alias that is a number", "model", "alias", "churn@1", "2"),
    cli(
        "model alias of a version that does not exist",
        "model",
        "alias",
        "churn@9",
        "challenger",
        error=NotFound,
    ),
    cli(
        "model approve with nothing pending",
        "model",
        "approve",
        "churn@1",
        "--to",
        "production",
        error=NotFound,
    ),
    cli("model card to an unknown format", "model", "card", "churn@1", "-o", "{scratch}/card.pdf"),
    cli("model card of an unknown model", "model", "card", "nosuch@1", error=NotFound),
    cli(
        "model check of a version that does not exist", "model", "check", "churn@99", error=NotFound
    ),
    cli(
        "model compare on missing data",
        "model",
        "compare",
        "churn@1",
        "churn@1",
        "-d",
        "no/such.csv",
        error=NotFound,
    ),
    cli(
        "model compare with a target it lacks",
        "model",
        "compare",
        "churn@1",
        "churn@1",
        "-d",
        "loans.csv",
        "-t",
        "nosuch",
        error=NotFound,
    ),
    cli("model gate with a doubled operator", "model", "gate", "churn", "-r", "accuracy>>0.8"),
    cli("model gate without a bound", "model", "gate", "churn", "-r", "accuracy>="),
    cli(
        "model gate of an unknown model",
        "model",
        "gate",
        "nosuch",
        "-r",
        "accuracy>=0.8",
        error=NotFound,
    ),
    cli("model history of an unknown model", "model", "history", "nosuch", error=NotFound),
    cli("model list with an extra argument", "model", "list", "churn"),
    cli("model load onto a folder", "model", "load", "churn@1", "-o", "{scratch}"),
    cli(
        "model load into a variable that is not a name",
        "model",
        "load",
        "churn@1",
        "--as",
        "1st model",
    ),
    cli(
        "model load trusting a type that is not one",
        "model",
        "load",
        "churn@1",
        "--trust",
        "not a type",
    ),
    cli(
        "model promote to an alias with a space",
        "model",
        "promote",
        "churn@1",
        "--to",
        "pro duction",
    ),
    cli(
        "model promote of a model that does not exist",
        "model",
        "promote",
        "nosuch@1",
        "--to",
        "production",
        error=NotFound,
    ),
    cli(
        "model register of a missing file",
        "model",
        "register",
        "no/such.pkl",
        "-n",
        "churn",
        error=NotFound,
    ),
    cli(
        "model register under a name escaping the store",
        "model",
        "register",
        "loans.csv",
        "-n",
        "../evil",
    ),
    cli(
        "model register of a file that is not a model",
        "model",
        "register",
        "loans.csv",
        "-n",
        "other",
    ),
    cli(
        "model reject with nothing pending",
        "model",
        "reject",
        "churn@1",
        "--to",
        "production",
        error=NotFound,
    ),
    cli("model show of a name with a NUL byte", "model", "show", "ch\x00urn"),
    cli("model show of a version that is negative", "model", "show", "churn@-1"),
    py("models.register of a model that is text", "mo.models.register('not a model', 'churn')"),
    # ---------------------------------------------------------------- monitors (seeded: loans-watch
    # on loans@1)
    cli(
        "monitor check of an unknown monitor",
        "monitor",
        "check",
        "nosuch",
        "loans.csv",
        error=NotFound,
    ),
    cli(
        "monitor check of missing data",
        "monitor",
        "check",
        "loans-watch",
        "no/such.csv",
        error=NotFound,
    ),
    cli(
        "monitor create that exists",
        "monitor",
        "create",
        "loans-watch",
        "-r",
        "loans@1",
        error=Conflict,
    ),
    cli(
        "monitor create with a drift share above one",
        "monitor",
        "create",
        "m2",
        "-r",
        "loans@1",
        "--max-drift-share",
        "1.5",
    ),
    cli(
        "monitor create with a limit that is text",
        "monitor",
        "create",
        "m2",
        "-r",
        "loans@1",
        "-t",
        "churned",
        "--min",
        "accuracy=high",
    ),
    cli(
        "monitor create with a limit but no target",
        "monitor",
        "create",
        "m2",
        "-r",
        "loans@1",
        "--min",
        "accuracy=0.8",
    ),
    cli(
        "monitor create on a missing reference",
        "monitor",
        "create",
        "m2",
        "-r",
        "no/such.csv",
        error=NotFound,
    ),
    cli(
        "monitor create with an unknown notifier",
        "monitor",
        "create",
        "m2",
        "-r",
        "loans@1",
        "--notify",
        "pigeon",
    ),
    cli("monitor history limit zero", "monitor", "history", "loans-watch", "--limit", "0"),
    cli("monitor list with an extra argument", "monitor", "list", "loans-watch"),
    cli(
        "monitor policy with a missing notebook",
        "monitor",
        "policy",
        "loans-watch",
        "--retrain",
        "no/such.ipynb",
        error=NotFound,
    ),
    cli(
        "monitor policy with an age that is not one",
        "monitor",
        "policy",
        "loans-watch",
        "--max-age",
        "forever",
    ),
    cli("monitor show of an unknown monitor", "monitor", "show", "nosuch", error=NotFound),
    # ---------------------------------------------------------------- panels and dashboards
    cli("panel runs with a filter cut short", "panel", "runs", "--filter", "metrics.loss >"),
    cli("panel models of a name escaping", "panel", "models", "../churn"),
    cli("panel data of a reference with no version", "panel", "data", "loans@"),
    cli("panel data of a reference with two versions", "panel", "data", "loans@@2"),
    cli("panel drift of an evaluation that is a word", "panel", "drift", "twelve"),
    cli("panel bias of an evaluation that is a word", "panel", "bias", "twelve"),
    cli("panel jobs limit not a number", "panel", "jobs", "--limit", "ten"),
    cli(
        "dashboard publish with a malformed goal",
        "dashboard",
        "publish",
        "churn",
        "--goal",
        "accuracy>>0.8",
    ),
    cli("dashboard publish of an unknown model", "dashboard", "publish", "nosuch", error=NotFound),
    cli(
        "dashboard export of an unknown model",
        "dashboard",
        "export",
        "nosuch",
        "-o",
        "{scratch}/d.html",
        error=NotFound,
    ),
    cli(
        "dashboard export of a dashboard never published",
        "dashboard",
        "export",
        "churn",
        "-o",
        "{scratch}/d.html",
        error=NotFound,
        leaves_nothing="{scratch}/d.html",
    ),
    cli(
        "dashboard serve on an address that is not one",
        "dashboard",
        "serve",
        "churn",
        "--ip",
        "not an address!",
        "--no-browser",
    ),
    cli(
        "dashboard serve of a dashboard never published",
        "dashboard",
        "serve",
        "churn",
        "--no-browser",
        error=NotFound,
    ),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One seeded workspace, copied for every case."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLOPS_USER", "tester")
        for var in (
            "MLOPS_HOME",
            "MLOPS_DB_URL",
            "MLOPS_OBJECTS_URL",
            "MLOPS_RUN_ID",
            "MLOPS_NOTEBOOK",
        ):
            mp.delenv(var, raising=False)
        mo.Workspace.init(root)
        with mo.start_run(name="seeded", tags={"team": "risk"}) as run:
            mo.log_params(C=0.5)
            for step, loss in enumerate([0.9, 0.5, 0.3]):
                mo.log_metric("loss", loss, step=step)
            mo.log_artifact(b"model bytes", "model.bin")
            record_evaluation(
                "bias", subject={"run": run.id}, summary={"dp": 0.8}, report={"groups": [1, 2]}
            )
        ids = [run.id]
        for i in range(17):  # 18 ids over 16 first hex digits: some prefix is shared
            with mo.start_run(name=f"r{i}") as other:
                pass
            ids.append(other.id)
        _seed_concepts(root)
        store = mo.Workspace.find().store()
        with store.read() as conn:
            artifact = conn.execute(select(meta.artifacts.c.digest)).scalar_one()
        forget_stores()  # closes SQLite: the copy below is consistent
    firsts = [i[0] for i in ids]
    ambiguous = next(c for c in firsts if firsts.count(c) > 1)
    return {"root": root, "run": run.id, "ambiguous": ambiguous, "artifact": artifact}


def _seed_concepts(root: Path) -> None:
    """A dataset version loans@1 (and loans.csv), a registered model churn@1, a monitor and a job
    notebook."""
    import nbformat
    from samples import FEATURES, churn_frame, fit_classifier

    frame = churn_frame(200)
    frame.to_csv(root / "loans.csv", index=False)
    with mo.start_run(name="trained") as trained:
        mo.data.commit(frame, "loans")
        mo.models.register(fit_classifier(frame), "churn", run=trained.id, example=frame[FEATURES])
    mo.monitor.create("loans-watch", reference="loans@1")
    parameters = nbformat.v4.new_code_cell("C = 1.0")
    parameters.metadata["tags"] = ["parameters"]
    job = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell("print(C)")])
    job.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(job, root / "job.ipynb")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def snapshot(store) -> dict[str, int]:
    with store.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in meta.metadata.sorted_tables
        }


def one_line(text: str) -> str:
    lines = [line for line in text.strip("\n").split("\n") if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def fill(text: str, ctx: dict) -> str:
    """Put the test's values in for ``{name}`` placeholders; other braces (dict literals) stay as
    written."""
    for key, value in ctx.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, template, ip, cli, capsys, tmp_path, monkeypatch):
    ws, scratch = tmp_path / "ws", tmp_path / "scratch"
    shutil.copytree(template["root"], ws)
    scratch.mkdir()
    monkeypatch.chdir(ws)
    store = mo.Workspace.find().store()
    ctx = {**template, "store": store, "scratch": scratch, "closed": closed_port()}
    assert ip.run_cell("import nbmlops as mo\nrun = mo.start_run(name='open')").success
    undo = case.setup(ctx) if case.setup else None
    before = snapshot(store)
    for name, data in case.files.items():
        (scratch / name).parent.mkdir(parents=True, exist_ok=True)
        (scratch / name).write_bytes(data.replace(b"CLOSED", str(ctx["closed"]).encode()))
    with pytest.MonkeyPatch.context() as env:
        for var, value in case.env.items():
            env.setenv(var, fill(value, ctx))
        argv = [fill(a, ctx) for a in case.argv]
        if argv and not case.magic_only:
            out = cli(*argv)
            assert (out.exit_code, out.stdout) == (case.error.exit_code, ""), out.stderr
            assert one_line(out.stderr).startswith("Error: ")
        line = "%mlops " + (
            shlex.join(argv) if not case.magic_only else " ".join(argv) + ' "unbalanced'
        )
        capsys.readouterr()
        result = ip.run_cell(line if argv else fill(case.code, ctx))
        shown = capsys.readouterr()
    error = result.error_in_exec
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    assert "Error: " in one_line(shown.out + shown.err)
    assert (
        "\n" not in error.message
        and len(error.message) < 600
        and error.message.endswith((".", ")"))
    )
    if undo:
        undo()
    if case.leaves_nothing:
        assert not Path(fill(case.leaves_nothing, ctx)).exists()
    assert snapshot(store) == before
    report = fsck(store=store)
    assert report.passed, report.problems


def test_the_corpus_is_large_and_covers_every_command():
    from nbmlops.commands import cli as tree

    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    covered = {c.argv[0] for c in CASES if c.argv} | {
        " ".join(c.argv[:2]) for c in CASES if len(c.argv) > 1
    }
    for name in tree.list_commands(None):  # type: ignore[arg-type]
        command = tree.get_command(None, name)  # type: ignore[arg-type]
        subs = command.list_commands(None) if hasattr(command, "list_commands") else []  # type: ignore[attr-defined]
        for full in [f"{name} {s}" for s in subs] or [name]:
            assert full in covered, f"no bad input for `mlops {full}`"
