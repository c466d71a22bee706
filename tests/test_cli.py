"""The `mlops` command line: text tables, --json, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import nbmlops as mo


@pytest.fixture
def two_runs(workspace):
    with mo.start_run(name="slow", tags={"team": "risk"}) as a:
        mo.log_params(C=0.1, penalty="l1")
        mo.log_metric("accuracy", 0.81)
    with mo.start_run(name="fast", tags={"team": "risk"}) as b:
        mo.log_params(C=1.0, penalty="l1")
        mo.log_metric("accuracy", 0.93)
    return a.id, b.id


def test_init_is_idempotent(tmp_path, cli):
    first = cli("init", str(tmp_path))
    assert first.exit_code == 0 and "Initialised an nbmlops workspace" in first.stdout
    second = cli("init", str(tmp_path))
    assert (
        second.exit_code == 0 and "already an nbmlops workspace; nothing changed" in second.stdout
    )
    assert (tmp_path / ".mlops" / "meta.db").exists()


def test_list_filters_and_sorts_as_text_and_json(two_runs, cli):
    slow, fast = two_runs
    out = cli("runs", "list", "--filter", "metrics.accuracy > 0.8", "--sort", "-metrics.accuracy")
    assert out.exit_code == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "name", "status"]
    assert [line.split()[1] for line in lines[2:4]] == ["fast", "slow"]
    assert "Runs 1-2 of 2 matching 'metrics.accuracy > 0.8'." in out.stdout
    data = json.loads(cli("runs", "list", "--sort", "metrics.accuracy", "--json").stdout)
    assert [r["id"] for r in data["runs"]] == [slow, fast]
    assert data["runs"][1]["metrics"] == {"accuracy": 0.93} and data["runs"][1]["params"] == {
        "C": 1.0,
        "penalty": "l1",
    }
    # --json works before the command too
    assert json.loads(cli("--json", "runs").stdout)["total"] == 2


def test_show_and_compare(two_runs, cli):
    slow, fast = two_runs
    show = cli("runs", "show", fast[:6])
    assert (
        show.exit_code == 0
        and f"Run fast · {fast[:8]}" in show.stdout
        and "accuracy" in show.stdout
    )
    compare = cli("runs", "compare", slow[:6], fast[:6])
    # rows of the two tables: a two-character marker column ("* " or "  "), then the key
    rows = {
        line[2:].split()[0]: line
        for line in compare.stdout.splitlines()
        if line[:2] in ("* ", "  ") and len(line.split()) > 2
    }
    assert rows["C"].startswith("*") and rows["accuracy"].startswith("*")  # differences are marked
    assert rows["penalty"].startswith(" ")  # equal values are not
    assert "2 of 3 values differ" in compare.stdout


def test_history_and_artifact(workspace, cli, tmp_path):
    with mo.start_run() as run:
        for i in range(20):
            mo.log_metric("loss", 1 / (i + 1))
        mo.log_artifact(b"payload", "blob.bin")
    hist = json.loads(cli("runs", "history", run.id, "loss", "--json").stdout)
    assert hist["steps"] == list(range(20)) and hist["values"][-1] == 1 / 20
    out = tmp_path / "copy.bin"
    assert cli("runs", "artifact", run.id, "blob.bin", "--out", str(out)).exit_code == 0
    assert out.read_bytes() == b"payload"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("runs", "show", "ffff"), 3, "Error: No run id starts with 'ffff'."),
        (("runs", "show", "not-an-id"), 2, "Error: 'not-an-id' is not a run id"),
        (
            ("runs", "list", "--filter", "metrics.x >"),
            2,
            "Error: The filter 'metrics.x >' has a syntax error at position 12",
        ),
        (("runs", "history", "0", "loss"), 3, "Error: No run id starts with '0'."),
        (("runs", "compare", "0"), 2, "Error: Give at least two runs to compare."),
        (("run",), 2, "Error: Use %%mlops run as a cell magic"),
    ],
)
def test_errors_are_one_line_with_an_exit_code(workspace, cli, args, code, message):
    out = cli(*args)
    assert out.exit_code == code
    assert out.stderr.startswith(message)
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


def test_ambiguous_prefix(workspace, cli):
    ids = []
    while True:  # run ids are random: make two that share a first character
        with mo.start_run() as run:
            ids.append(run.id)
        firsts = [i[0] for i in ids]
        if len(set(firsts)) < len(firsts):
            break
    shared = next(c for c in firsts if firsts.count(c) > 1)
    out = cli("runs", "show", shared)
    assert (
        out.exit_code == 3
        and "matches several runs" in out.stderr
        and "give more characters" in out.stderr
    )


def test_no_workspace(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = cli("runs")
    assert out.exit_code == 3
    assert (
        out.stderr
        == f"Error: No nbmlops workspace in {tmp_path} or its parents; run `mlops init` (or "
        "%mlops init) to create one.\n"
    )


def test_unreachable_database_is_one_sentence_without_the_password(tmp_path, cli, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLOPS_DB_URL", f"postgresql+psycopg://ada:s3cret@127.0.0.1:{port}/mlops")
    monkeypatch.setenv("MLOPS_OBJECTS_URL", str(tmp_path / "objects"))
    monkeypatch.chdir(tmp_path)
    out = cli("status")
    assert out.exit_code == 6
    assert out.stderr.startswith(
        f"Error: Cannot reach the database at postgresql+psycopg://ada:***@127.0.0.1:{port}/mlops"
    )
    assert "s3cret" not in out.stderr and out.stderr.count("\n") == 1


def test_run_tracks_a_command(workspace, cli):
    code = "import nbmlops as mo; mo.log_metric('score', 0.7); mo.log_params(source='script')"
    out = cli("run", "--name", "script", "--tag", "kind=cli", "--", sys.executable, "-c", code)
    assert out.exit_code == 0, out.stderr
    assert "Run script (" in out.stdout and "finished" in out.stdout
    run = mo.list_runs().runs[0]
    assert (
        run["metrics"] == {"score": 0.7}
        and run["params"] == {"source": "script"}
        and run["tags"] == {"kind": "cli"}
    )
    failed = cli("run", "--", sys.executable, "-c", "import sys; sys.exit(3)")
    assert failed.exit_code == 1 and "exited with status 3" in failed.stderr
    assert mo.list_runs().runs[0]["status"] == "FAILED"


def test_help_lists_every_command_with_a_sentence(cli):
    out = cli("--help")
    assert out.exit_code == 0
    from nbmlops.commands import LAZY_COMMANDS

    for name in LAZY_COMMANDS:
        line = next(line for line in out.stdout.splitlines() if line.strip().startswith(name + " "))
        assert len(line.split(None, 1)[1]) > 10


def test_console_script_and_module_entry_point(workspace):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    version = subprocess.run(
        [sys.executable, "-m", "nbmlops", "--version"], capture_output=True, text=True, env=env
    )
    assert version.returncode == 0 and version.stdout.strip() == "nbmlops, version 0.1.0"
    status = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "mlops"), "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=workspace.root,
    )
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["workspace"] == str(workspace.root)
