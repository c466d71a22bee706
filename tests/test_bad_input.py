"""The bad-input corpus: every malformed input gets one sentence, a non-zero exit, one red line, and no change.

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
params C=0.5, metric loss, tag team=risk, artifact model.bin, which registered
model ``churn`` v1; dataset ``loans`` v1 holds income, gender, default), ``{ambiguous}``
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

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
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
from nbmlops.evaluations import record_evaluation
from nbmlops.integrity import fsck
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
S3_REFUSING = {".mlops/config.toml": b'objects_url = "s3://bucket/objects"\n[objects_options]\nkey = "k"\nsecret = "s"\n'
               b'client_kwargs = {endpoint_url = "http://127.0.0.1:CLOSED"}\n'
               b'config_kwargs = {retries = {max_attempts = 1}, connect_timeout = 1}\n'}
NOT_A_DB = {".mlops/meta.db": b"SQLite format 2\x00 but really just some bytes" * 50}
NOTEBOOK_NOT_JSON = {"analysis.ipynb": b"{this is not json"}
LONG = "x" * 100_000
X_CSV = {"x.csv": b"income,gender,default\n1.0,f,0\n2.0,m,1\n"}

CASES: list[Case] = [
    # ---------------------------------------------------------------- front ends
    cli("unknown command", "frobnicate"),
    cli("unknown option", "runs", "list", "--frobnicate"),
    cli("unknown sub-command", "runs", "frobnicate"),
    cli("unbalanced quote in the magic", "runs", "list", "--filter", "x", magic_only=True),
    # ---------------------------------------------------------------- init and configuration
    cli("init into a file", "init", "{scratch}/afile", files={"afile": b"I am a file"}),
    cli("init with an unsupported database", "init", "{scratch}/new", "--db-url", "mysql://u@h/db",
        leaves_nothing="{scratch}/new/.mlops"),
    cli("init with a database URL that is not one", "init", "{scratch}/new", "--db-url", "not a url",
        leaves_nothing="{scratch}/new/.mlops"),
    cli("init with an unknown object store", "init", "{scratch}/new", "--objects-url", "nosuch://bucket",
        leaves_nothing="{scratch}/new/.mlops"),
    cli("init with PostgreSQL on a closed port", "init", "{scratch}/new", "--db-url",
        "postgresql+psycopg://ada:pw@127.0.0.1:{closed}/mlops", error=StoreUnavailable,
        leaves_nothing="{scratch}/new/.mlops"),
    cli("init here again with other URLs", "init", ".", "--db-url", "sqlite:////tmp/elsewhere.db"),
    cli("config that is not TOML", "status", env=SCRATCH_HOME, files=BAD_TOML),
    cli("config that is not UTF-8", "runs", "list", env=SCRATCH_HOME, files={".mlops/config.toml": b"\xff\xfe\x00d"}),
    cli("config with an unknown setting", "status", env=SCRATCH_HOME, files={".mlops/config.toml": b'colour = "red"\n'}),
    cli("config with a number for a URL", "status", env=SCRATCH_HOME, files={".mlops/config.toml": b"db_url = 5\n"}),
    cli("config with objects_options not a table", "status", env=SCRATCH_HOME,
        files={".mlops/config.toml": b'objects_options = "fast"\n'}),
    cli("MLOPS_HOME without a workspace", "status", error=WorkspaceNotFound, env=SCRATCH_HOME),
    cli("database file that is not SQLite", "status", error=IntegrityError, env=SCRATCH_HOME,
        files={".mlops/config.toml": b"", **NOT_A_DB}),
    cli("database path that is a folder", "status", error=StoreUnavailable, env=SCRATCH_HOME,
        files={".mlops/config.toml": b'db_url = "sqlite:///dbdir"\n', "dbdir/keep": b""}),
    cli("read-only open of a database never created", "status", "--readonly", error=StoreUnavailable,
        env=SCRATCH_HOME, files={".mlops/config.toml": b""}),
    cli("PostgreSQL on a closed port", "status", error=StoreUnavailable,
        env={"MLOPS_DB_URL": "postgresql+psycopg://ada:pw@127.0.0.1:{closed}/mlops"}),
    cli("PostgreSQL URL with a bad port", "runs", "list", env={"MLOPS_DB_URL": "postgresql+psycopg://ada@127.0.0.1:notaport/x"}),
    cli("S3 endpoint that refuses", "fsck", error=StoreUnavailable, env=SCRATCH_HOME, files=S3_REFUSING),
    # ---------------------------------------------------------------- mlops run
    cli("run without a command", "run"),
    cli("run a program that does not exist", "run", "--", "/no/such/program", "--flag"),
    cli("run with a tag without =", "run", "--tag", "novalue", "--", "true"),
    cli("run with an empty tag key", "run", "--tag", "=v", "--", "true"),
    cli("run with a huge name", "run", "--name", LONG, "--", "true"),
    cli("run with a non-UTF-8 name", "run", "--name", "caf\udce9", "--", "true"),
    cli("run with a non-UTF-8 tag value", "run", "--tag", "k=caf\udce9", "--", "true"),
    cli("run with a notebook that is not JSON", "run", "--name", "x" * 300, "--", "true", files=NOTEBOOK_NOT_JSON),
    # ---------------------------------------------------------------- mlops runs list: filters, sort, pages
    cli("filter cut short", "runs", "list", "--filter", "metrics.loss >"),
    cli("filter with an unknown namespace", "runs", "list", "--filter", "foo.bar = 1"),
    cli("filter comparing a metric with text", "runs", "list", "--filter", "metrics.loss > 'low'"),
    cli("filter with NaN", "runs", "list", "--filter", "metrics.loss > nan"),
    cli("filter with infinity", "runs", "list", "--filter", "metrics.loss < inf"),
    cli("filter with an unclosed parenthesis", "runs", "list", "--filter", "(metrics.loss > 1"),
    cli("filter with an empty list", "runs", "list", "--filter", "params.C in ()"),
    cli("filter with a date that is not one", "runs", "list", "--filter", "attributes.start_time > 'soon'"),
    cli("filter with an unclosed backtick", "runs", "list", "--filter", "metrics.`val loss > 1"),
    cli("filter with an unknown attribute", "runs", "list", "--filter", "attributes.colour = 'red'"),
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
    # ---------------------------------------------------------------- runs show / compare / history / tag / artifact
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
    cli("artifact that does not exist", "runs", "artifact", "{run}", "missing.bin", "--out", "{scratch}/o", error=NotFound),
    cli("artifact name escaping the store", "runs", "artifact", "{run}", "../../etc/passwd", "--out", "{scratch}/o"),
    cli("artifact name with a NUL byte", "runs", "artifact", "{run}", "a\x00b", "--out", "{scratch}/o"),
    cli("artifact written into a missing folder", "runs", "artifact", "{run}", "model.bin", "--out", "/no/such/dir/o"),
    cli("artifact written onto a folder", "runs", "artifact", "{run}", "model.bin", "--out", "{scratch}"),
    cli("artifact whose object is corrupt", "runs", "artifact", "{run}", "model.bin", "--out", "{scratch}/o",
        error=IntegrityError, setup=_flip_artifact),
    cli("artifact whose object is missing", "runs", "artifact", "{run}", "model.bin", "--out", "{scratch}/o",
        error=NotFound, setup=_hide_artifact),
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
    # ---------------------------------------------------------------- copy, export, import
    cli("copy without a target", "copy", "--db-url", "", "--objects-url", "{scratch}/objects"),
    cli("copy onto its own database", "copy", "--db-url", "sqlite:///.mlops/meta.db", "--objects-url", "{scratch}/o"),
    cli("export to MLflow on a closed port", "export", "mlflow", "--to", "http://127.0.0.1:{closed}",
        error=StoreUnavailable),
    cli("export with a bad filter", "export", "mlflow", "--to", "sqlite:///{scratch}/m.db", "--filter", "metrics.loss >",
        leaves_nothing="{scratch}/m.db"),
    cli("import from a missing MLflow store", "import", "mlflow", "--from", "sqlite:///{scratch}/none.db", error=NotFound),
    cli("import from an empty MLflow URI", "import", "mlflow", "--from", " "),
    # ---------------------------------------------------------------- data
    cli("commit a missing file", "data", "commit", "{scratch}/none.csv", "--name", "loans", error=NotFound),
    cli("commit under a name with ../", "data", "commit", "{scratch}/t.csv", "--name", "../loans",
        files={"t.csv": b"a,b\n1,2\n"}),
    cli("commit a CSV that is not one", "data", "commit", "{scratch}/t.csv", "--name", "loans",
        files={"t.csv": b"\x00\xff\xfe garbage"}),
    cli("diff of an unknown dataset", "data", "diff", "fraud@1", "fraud@2", error=NotFound),
    cli("diff with a negative sample", "data", "diff", "loans@1", "loans@1", "--sample", "-1"),
    cli("lineage of a malformed ref", "data", "lineage", "loans@@1"),
    cli("list with an unknown option", "data", "list", "--all"),
    cli("load into a name that is not one", "data", "load", "loans@1", "--into", "1df"),
    cli("log of an unknown dataset", "data", "log", "fraud", error=NotFound),
    cli("schema of version zero", "data", "schema", "loans@0", error=NotFound),
    cli("show of a version not yet committed", "data", "show", "loans@2", error=NotFound),
    cli("tag named with digits", "data", "tag", "loans@1", "123"),
    cli("validate a missing file", "data", "validate", "{scratch}/none.csv", "--against", "loans@1", error=NotFound),
    # ---------------------------------------------------------------- drift and evaluations
    cli("drift against an unknown dataset", "drift", "fraud@1", "{scratch}/x.csv", error=NotFound, files=X_CSV),
    cli("drift with a threshold above one", "drift", "{scratch}/t.csv", "{scratch}/t.csv", "--threshold", "ks=5",
        files={"t.csv": b"a,b\n1,2\n"}),
    cli("bias of a model file that is missing", "evaluate", "bias", "{scratch}/m.skops", "{scratch}/x.csv",
        "--sensitive", "gender", error=NotFound, files=X_CSV),
    cli("bias by a column that is not there", "evaluate", "bias", "churn@1", "{scratch}/x.csv", "--target",
        "default", "--sensitive", "colour", files=X_CSV),
    cli("evaluations of an unknown kind", "evaluate", "list", "--kind", "vibes"),
    cli("perf with a zero batch", "evaluate", "perf", "churn@1", "{scratch}/x.csv", "--batch-size", "0", files=X_CSV),
    cli("evaluation that does not exist", "evaluate", "show", "999", error=NotFound),
    cli("slices with negative bins", "evaluate", "slices", "churn@1", "{scratch}/x.csv", "--target", "default", "--by", "income",
        "--bins", "-2", files=X_CSV),
    # ---------------------------------------------------------------- jobs
    cli("jobs with a negative limit", "job", "list", "--limit", "-1"),
    cli("log of a job that does not exist", "job", "log", "0123abcd", error=NotFound),
    cli("output of a run that is not a job", "job", "output", "{run}", "--out", "{scratch}/o.ipynb", error=NotFound),
    cli("params of a missing notebook", "job", "params", "{scratch}/none.ipynb", error=NotFound),
    cli("reproduce a run that is not a job", "job", "reproduce", "{run}"),
    cli("run a notebook that is not JSON", "job", "run", "{scratch}/analysis.ipynb", files=NOTEBOOK_NOT_JSON),
    cli("show a job with a bad ref", "job", "show", "../x"),
    cli("sweep with a grid without values", "job", "sweep", "{scratch}/analysis.ipynb", "--grid", "C="),
    cli("validate a missing notebook", "job", "validate", "{scratch}/none.ipynb", error=NotFound),
    # ---------------------------------------------------------------- registry
    cli("alias a model that does not exist", "model", "alias", "fraud@1", "challenger", error=NotFound),
    cli("alias named latest", "model", "alias", "churn@1", "latest"),
    cli("approve to an alias of digits", "model", "approve", "churn@1", "--to", "42"),
    cli("card of a version that does not exist", "model", "card", "churn@3", error=NotFound),
    cli("check a malformed ref", "model", "check", "churn@"),
    cli("compare with a version that does not exist", "model", "compare", "churn@1", "churn@2", "--data",
        "{scratch}/x.csv", "--target", "default", error=NotFound, files=X_CSV),
    cli("gate with a malformed requirement", "model", "gate", "churn", "--require", "accuracy >>= 0.8"),
    cli("history of a model name with a NUL byte", "model", "history", "ch\x00urn"),
    cli("models with an unknown option", "model", "list", "--stage", "prod"),
    cli("load an alias nobody set", "model", "load", "churn@production", "--out", "{scratch}/m.bin", error=NotFound),
    cli("promote to an empty alias", "model", "promote", "churn@1", "--to", ""),
    cli("register a model file that is missing", "model", "register", "{scratch}/m.skops", "--name", "churn",
        error=NotFound),
    cli("reject with nothing awaiting approval", "model", "reject", "churn@1", "--to", "production", error=NotFound),
    cli("show a model name escaping", "model", "show", "../../churn"),
    # ---------------------------------------------------------------- monitors
    cli("check a monitor that does not exist", "monitor", "check", "churn-prod", "loans@1", error=NotFound),
    cli("monitor with a drift share above one", "monitor", "create", "churn-prod", "--reference", "loans@1",
        "--max-drift-share", "1.5"),
    cli("history with a zero limit", "monitor", "history", "churn-prod", "--limit", "0"),
    cli("monitors with an unknown option", "monitor", "list", "--all"),
    cli("policy for a monitor that does not exist", "monitor", "policy", "churn-prod", "--on", "alert",
        "--retrain", "{scratch}/analysis.ipynb", error=NotFound),
    cli("show a monitor that does not exist", "monitor", "show", "churn-prod", error=NotFound),
    # ---------------------------------------------------------------- panels and dashboards
    cli("bias panel of an evaluation id that is text", "panel", "bias", "latest!"),
    cli("drift panel with an unknown option", "panel", "drift", "loans@1", "--bins", "5"),
    cli("jobs panel with a negative limit", "panel", "jobs", "--limit", "-3"),
    cli("models panel with no name", "panel", "models"),
    cli("runs panel with a broken filter", "panel", "runs", "--filter", "metrics.loss >"),
    cli("dashboard export of a model that does not exist", "dashboard", "export", "churn", error=NotFound),
    cli("dashboard with a malformed goal", "dashboard", "publish", "churn", "--goal", "accuracy is high"),
    cli("dashboard on a port out of range", "dashboard", "serve", "churn", "--port", "70000"),
    # ---------------------------------------------------------------- the Python API, in the notebook
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
    py("artifact frame that is not Parquet", "import pandas as pd; mo.log_artifact(pd.DataFrame({'a': [object()]}))"),
    py("run name that is a number", "mo.start_run(name=5)"),
    py("run name of 300 characters", "mo.start_run(name='x' * 300)"),
    py("get_run with a number", "mo.get_run(42)"),
    py("load_artifact that does not exist", "mo.load_artifact('{run}', 'nope.bin')", error=NotFound),
    py("list_runs with a negative limit", "mo.list_runs(limit=-1)"),
    py("list_runs with a filter that is a number", "mo.list_runs(filter=123)"),
    py("compare_runs with one string", "mo.compare_runs('{run}')"),
    py("tag_run with a bad ref", "mo.tag_run('zzz', {'a': 1})"),
    py("audit_log limit as text", "mo.audit_log(limit='5')"),
    py("gc grace of None", "mo.gc(grace=None)"),
    py("verify_audit anchor a number", "mo.verify_audit(anchor=5)"),
    py("evaluation of an unknown kind", "from nbmlops.evaluations import record_evaluation; "
       "record_evaluation('vibes', subject={}, summary={}, report={})"),
    py("evaluation id that is text", "from nbmlops.evaluations import get_evaluation; get_evaluation('x')"),
    py("init with a NUL byte in the path", "mo.init('a\\x00b')"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """One seeded workspace, copied for every case."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLOPS_USER", "tester")
        for var in ("MLOPS_HOME", "MLOPS_DB_URL", "MLOPS_OBJECTS_URL", "MLOPS_RUN_ID", "MLOPS_NOTEBOOK"):
            mp.delenv(var, raising=False)
        mo.Workspace.init(root)
        with mo.start_run(name="seeded", tags={"team": "risk"}) as run:
            mo.log_params(C=0.5)
            for step, loss in enumerate([0.9, 0.5, 0.3]):
                mo.log_metric("loss", loss, step=step)
            mo.log_artifact(b"model bytes", "model.bin")
            record_evaluation("bias", subject={"run": run.id}, summary={"dp": 0.8}, report={"groups": [1, 2]})
        frame = pd.DataFrame({"income": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "gender": list("fmfmfm"),
                              "default": [0, 1, 0, 1, 0, 1]})
        mo.data.commit(frame, name="loans", message="seed")
        model = LogisticRegression().fit(frame[["income"]], frame["default"])
        mo.models.register(model, "churn", run=run.id, example=frame[["income"]])
        ids = [run.id]
        for i in range(17):  # 18 ids over 16 first hex digits: some prefix is shared
            with mo.start_run(name=f"r{i}") as other:
                pass
            ids.append(other.id)
        store = mo.Workspace.find().store()
        with store.read() as conn:
            artifact = conn.execute(select(meta.artifacts.c.digest)).scalar_one()
        forget_stores()  # closes SQLite: the copy below is consistent
    firsts = [i[0] for i in ids]
    ambiguous = next(c for c in firsts if firsts.count(c) > 1)
    return {"root": root, "run": run.id, "ambiguous": ambiguous, "artifact": artifact}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once it is closed


def snapshot(store) -> dict[str, int]:
    with store.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in meta.metadata.sorted_tables}


def one_line(text: str) -> str:
    lines = [line for line in text.strip("\n").split("\n") if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def fill(text: str, ctx: dict) -> str:
    """Put the test's values in for ``{name}`` placeholders; other braces (dict literals) stay as written."""
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
        line = "%mlops " + (shlex.join(argv) if not case.magic_only else " ".join(argv) + ' "unbalanced')
        capsys.readouterr()
        result = ip.run_cell(line if argv else fill(case.code, ctx))
        shown = capsys.readouterr()
    error = result.error_in_exec
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    assert "Error: " in one_line(shown.out + shown.err)
    assert "\n" not in error.message and len(error.message) < 600 and error.message.endswith((".", ")"))
    if undo:
        undo()
    if case.leaves_nothing:
        assert not Path(fill(case.leaves_nothing, ctx)).exists()
    assert snapshot(store) == before
    report = fsck(store=store)
    assert report.ok, report.problems


def test_the_corpus_is_large_and_covers_every_command():
    from nbmlops.commands import cli as tree

    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    covered = {c.argv[0] for c in CASES if c.argv} | {" ".join(c.argv[:2]) for c in CASES if len(c.argv) > 1}
    for name in tree.list_commands(None):  # type: ignore[arg-type]
        command = tree.get_command(None, name)  # type: ignore[arg-type]
        subs = command.list_commands(None) if hasattr(command, "list_commands") else []  # type: ignore[attr-defined]
        for full in [f"{name} {s}" for s in subs] or [name]:
            assert full in covered, f"no bad input for `mlops {full}`"
