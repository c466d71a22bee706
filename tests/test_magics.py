"""%mlops and %%mlops inside IPython: Results come back, names are notebook variables, errors are
one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import nbmlops as mo
from nbmlops.result import Result


def test_line_magic_returns_a_result_that_renders_html(ip):
    with mo.start_run(name="a") as run:
        mo.log_metric("accuracy", 0.9)
    res = ip.run_line_magic("mlops", "runs list --filter 'metrics.accuracy > 0.8'")
    assert isinstance(res, Result)
    html = res._repr_html_()
    assert "<table>" in html and run.id[:8] in html
    assert res.to_frame()["id"].tolist() == [run.id]
    ip.run_cell("captured = %mlops runs list")
    assert isinstance(ip.user_ns["captured"], Result)


def test_cell_magic_tracks_the_cell_as_a_run(ip, capsys):
    outcome = ip.run_cell(
        textwrap.dedent("""\
        %%mlops run --name baseline --tag team=risk
        import nbmlops as mo
        mo.log_params(C=0.5)
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            mo.log_metric("loss", loss, step=step)
        seen_run = mo.active_run().id
    """)
    )
    assert outcome.error_in_exec is None
    shown = capsys.readouterr().out  # the run's summary is displayed under the cell
    assert "Run baseline (" in shown and "finished in" in shown and "loss=0.3" in shown
    run = mo.get_run(ip.user_ns["seen_run"])
    assert (
        run.run["name"] == "baseline"
        and run.run["status"] == "FINISHED"
        and run.tags == {"team": "risk"}
    )
    assert mo.metric_history(run.run["id"], "loss").values == [0.9, 0.5, 0.3]
    assert mo.active_run() is None


def test_a_failing_cell_fails_its_run_and_stops_execution(ip, capsys):
    outcome = ip.run_cell(
        "%%mlops run --name broken\nimport nbmlops as mo\nmo.log_metric('x', 1)\n{}['missing']\n"
    )
    assert isinstance(outcome.error_in_exec, mo.MlopsError)  # Run All stops here
    run = mo.list_runs().runs[0]
    assert run["name"] == "broken" and run["status"] == "FAILED"
    assert mo.get_run(run["id"]).run["error"] == "KeyError: 'missing'"


def test_errors_show_one_line(ip, monkeypatch):
    shown: list[list[str]] = []  # what the shell would print as the "traceback"
    monkeypatch.setattr(ip, "_showtraceback", lambda etype, value, stb: shown.append(stb))
    outcome = ip.run_cell("%mlops runs show 0123")
    assert isinstance(outcome.error_in_exec, mo.NotFound)
    assert shown[-1] == ["\x1b[31mError: No run id starts with '0123'.\x1b[0m"]
    # the API too, not only magics
    outcome = ip.run_cell("import nbmlops as mo\nmo.metric_history('0123', 'loss')")
    assert shown[-1] == ["\x1b[31mError: No run id starts with '0123'.\x1b[0m"]
    outcome = ip.run_cell("%mlops runs list --limt 3")
    assert isinstance(outcome.error_in_exec, mo.InvalidInput)
    assert (
        len(shown[-1]) == 1
        and "No such option '--limt'. Did you mean '--limit'? (see %mlops runs list --help)"
        in shown[-1][0]
    )
    outcome = ip.run_cell("%mlops runs list --filter 'unbalanced")
    assert "check the quotes" in str(outcome.error_in_exec)


def test_help_is_the_same_tree_as_the_cli(ip, capsys, cli):
    ip.run_line_magic("mlops", "--help")
    magic_help = capsys.readouterr().out
    cli_help = cli("--help").stdout
    assert magic_help.replace("Usage: %mlops", "Usage: mlops") == cli_help


def test_json_flag_prints_json(ip, capsys):
    assert ip.run_line_magic("mlops", "status --json") is None
    assert json.loads(capsys.readouterr().out)["user"] == "tester"


def test_loading_the_extension_imports_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        before = set(sys.modules)
        shell.run_line_magic("load_ext", "nbmlops")
        new = {m.split(".")[0] for m in set(sys.modules) - before}
        print(" ".join(sorted(new)))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.split()
    heavy = {
        "sqlalchemy",
        "pandas",
        "numpy",
        "pyarrow",
        "plotly",
        "scipy",
        "sklearn",
        "papermill",
        "click",
        "fsspec",
    }
    assert "nbmlops" in out and not heavy & set(out)


@pytest.mark.slow
def test_in_a_real_kernel_an_error_is_one_red_line_and_stops_the_notebook(workspace):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext nbmlops"),
        nbformat.v4.new_code_cell("res = %mlops runs list\nprint(type(res).__name__)"),
        nbformat.v4.new_code_cell("import nbmlops as mo\nmo.get_run('abcdef')"),
        nbformat.v4.new_code_cell("print('not reached')"),
    ]
    client = NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(workspace.root)}}
    )
    with pytest.raises(CellExecutionError):
        client.execute()
    assert nb.cells[1].outputs[0]["text"] == "RunList\n"
    error = nb.cells[2].outputs[0]
    assert error["output_type"] == "error" and error["ename"] == "NotFound"
    assert error["traceback"] == ["\x1b[31mError: No run id starts with 'abcdef'.\x1b[0m"]
    assert nb.cells[3].outputs == []
