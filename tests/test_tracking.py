"""Tracking round trips on every backend pair (sqlite/postgres x local/s3)."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import nbmlops as mo
from nbmlops.errors import Conflict, InvalidInput, NotFound


def test_every_point_is_stored_with_its_step(backend):
    values = np.random.default_rng(0).normal(size=5000)
    with mo.start_run(name="points") as run:
        for step, value in enumerate(values):
            mo.log_metric("loss", value, step=step)
        mo.log_metric("accuracy", 0.5, step=0)
        mo.log_metric("accuracy", 0.9, step=3)
        mo.log_metric("accuracy", 0.7, step=1)  # logged late, for an earlier step
    history = mo.metric_history(run.id, "loss")
    assert history.steps == list(range(5000))
    np.testing.assert_array_equal(history.values, values)
    detail = mo.get_run(run.id)
    by_key = {m["key"]: m for m in detail.metrics}
    # latest = highest step
    assert by_key["accuracy"]["last"] == 0.9 and by_key["accuracy"]["step"] == 3
    assert by_key["accuracy"]["count"] == 3
    assert by_key["loss"]["min"] == values.min() and by_key["loss"]["max"] == values.max()


def test_steps_default_to_the_next_step_of_each_series(backend):
    with mo.start_run() as run:
        for v in (3.0, 2.0, 1.0):
            mo.log_metric("a", v)
        mo.log_metric("b", 7)
    assert mo.metric_history(run.id, "a").steps == [0, 1, 2]
    assert mo.metric_history(run.id, "b").steps == [0]


def test_non_finite_values_are_kept_and_flagged(backend):
    with mo.start_run() as run:
        mo.log_metric("x", float("nan"))
        mo.log_metric("x", math.inf)
        mo.log_metric("x", -math.inf)
        mo.log_metric("x", 1.5)
    values = mo.metric_history(run.id, "x").values
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf, 1.5]
    note = mo.get_run(run.id).metrics[0]["note"]
    assert note == "3 of 4 values are NaN or infinite"
    assert "3 of 4 values are NaN or infinite" in str(mo.get_run(run.id))


def test_params_are_typed_filterable_and_immutable(backend):
    with mo.start_run() as run:
        mo.log_params(C=0.5, penalty="l2", layers=[64, 32], flag=True, n=np.int64(3))
        mo.log_params(C=0.5)  # the same value again is fine
        with pytest.raises(Conflict, match="Parameter 'C' is already '0.5'"):
            mo.log_params(C=1.0)
        mo.log_param("obj", object())
    params = {p["key"]: p for p in mo.get_run(run.id).params}
    assert params["C"]["value"] == 0.5 and params["layers"]["value"] == [64, 32]
    assert params["flag"]["value"] is True and params["n"]["value"] == 3
    assert params["obj"]["note"] == "stored as repr(): not JSON-serialisable"
    assert params["obj"]["display"].startswith("<object object at")
    assert [r["id"] for r in mo.list_runs("params.C < 0.6 and params.n >= 3").runs] == [run.id]


def test_tags_can_change_and_finished_runs_can_be_tagged(backend):
    with mo.start_run(tags={"team": "risk"}) as run:
        mo.set_tag("team", "fraud")
    mo.tag_run(run.id[:6], {"reviewed": "yes"})
    assert mo.get_run(run.id).tags == {"team": "fraud", "reviewed": "yes"}


def test_runs_nest_under_the_active_run(backend):
    with mo.start_run(name="parent") as parent:
        with mo.start_run(name="child") as child:
            assert mo.active_run() is child
        assert mo.active_run() is parent
    assert mo.active_run() is None
    assert mo.get_run(child.id).run["parent_id"] == parent.id
    assert [c["id"] for c in mo.get_run(parent.id).children] == [child.id]


def test_a_failing_block_fails_the_run(backend):
    with pytest.raises(ZeroDivisionError):
        with mo.start_run() as run:
            mo.log_metric("before", 1)
            raise ZeroDivisionError("division by zero")
    detail = mo.get_run(run.id)
    assert (
        detail.run["status"] == "FAILED"
        and detail.run["error"] == "ZeroDivisionError: division by zero"
    )
    assert detail.metrics[0]["key"] == "before"  # what was logged before the error is kept


def test_logging_outside_a_run_starts_one_and_says_so_once(workspace, capsys):
    mo.log_metric("x", 1)
    mo.log_metric("y", 2)
    err = capsys.readouterr().err
    assert err.count("no run was active") == 1
    run = mo.active_run()
    mo.end_run()
    assert {m["key"] for m in mo.get_run(run.id).metrics} == {"x", "y"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.log_metric(3, 1.0), "Metric names must be text, not int 3."),
        (lambda r: r.log_metric("", 1.0), "Metric name '' must be 1 to 255 characters"),
        (lambda r: r.log_metric("m", "0.5"), "Metric 'm' must be a number, not text '0.5'."),
        (lambda r: r.log_metric("m", [1]), "Metric 'm' must be a number, not list."),
        (
            lambda r: r.log_metric("m", 1.0, step=1.5),
            "The step of metric 'm' must be a whole number",
        ),
        (lambda r: r.log_params({"x" * 300: 1}), "Parameter name 'xxxx"),
    ],
)
def test_bad_metric_input_is_one_sentence(workspace, call, message):
    with mo.start_run() as run:
        with pytest.raises(InvalidInput) as info:
            call(run)
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_logging_into_an_ended_run_is_refused(workspace):
    with mo.start_run() as run:
        pass
    with pytest.raises(Conflict, match="has ended"):
        run.log_metric("late", 1)


# ---------------------------------------------------------------- artifacts


def test_artifacts_round_trip(backend, tmp_path):
    import plotly.express as px

    frame = pd.DataFrame({"a": [1, 2, None], "b": ["x", "y", "z"]}).astype({"a": "Int64"})
    fig = px.line(x=[0, 1, 2], y=[3, 1, 2])
    report = tmp_path / "report.txt"
    report.write_text("all good\n")
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "sub" / "b.csv").write_text("y\n2\n")
    with mo.start_run() as run:
        assert mo.log_artifact(frame) == "frame.parquet"
        assert mo.log_artifact(frame.head(1)) == "frame-2.parquet"  # default names never collide
        assert mo.log_artifact(fig) == "figure.plotly.json"
        assert mo.log_artifact(str(report)) == "report.txt"
        assert mo.log_artifact(folder) == ["plots/a.csv", "plots/sub/b.csv"]
        assert mo.log_artifact(b"\x00\x01", "raw.bin") == "raw.bin"
        assert mo.log_artifact({"k": [1, 2]}, "meta.json") == "meta.json"
        assert mo.log_artifact("free text", name="notes.txt") == "notes.txt"
    pd.testing.assert_frame_equal(mo.load_artifact(run.id, "frame.parquet"), frame)
    assert list(mo.load_artifact(run.id, "figure.plotly.json").data[0].y) == [3, 1, 2]
    assert mo.load_artifact(run.id, "report.txt") == "all good\n"
    assert mo.load_artifact(run.id, "plots/sub/b.csv") == "y\n2\n"  # text/csv comes back as text
    assert mo.load_artifact(run.id, "raw.bin") == b"\x00\x01"
    assert mo.load_artifact(run.id, "meta.json") == {"k": [1, 2]}
    assert mo.load_artifact(run.id, "notes.txt") == "free text"


def test_artifact_names_cannot_leave_the_store_or_clash(workspace):
    with mo.start_run():
        for bad in ("../x", "/etc/passwd", "a/../../b", "a\x00b", "x" * 600, "a//b", ""):
            with pytest.raises(InvalidInput):
                mo.log_artifact(b"1", bad)
        mo.log_artifact(b"1", "same.bin")
        mo.log_artifact(b"1", "same.bin")  # identical content: nothing to do
        with pytest.raises(Conflict, match="already has an artifact 'same.bin'"):
            mo.log_artifact(b"2", "same.bin")
        mo.log_artifact(b"2", "same.bin", overwrite=True)
        with pytest.raises(NotFound, match="No file or folder named 'missing.txt'"):
            mo.log_artifact("missing.txt")
        with pytest.raises(InvalidInput, match="Cannot store a set"):
            mo.log_artifact({1, 2})
    assert mo.load_artifact(mo.list_runs().runs[0]["id"], "same.bin") == b"2"


def test_matplotlib_figures_are_stored_as_png(workspace):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with mo.start_run() as run:
        name = mo.log_artifact(fig)
    plt.close(fig)
    data = mo.load_artifact(run.id, name)
    assert name == "figure.png" and data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    assert Image.open(io.BytesIO(data)).size[0] > 100


# ---------------------------------------------------------------- processes


def _python(code: str, cwd, env=None, **kwargs) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_points_left_in_the_buffer_are_written_at_exit(workspace):
    # no end_run, a long flush interval: only the exit handler can save these points
    proc = _python(
        """
        import nbmlops as mo
        run = mo.start_run(name="exit")
        for i in range(30000):
            mo.log_metric("m", i)
        print(run.id)
    """,
        workspace.root,
        {"MLOPS_FLUSH_INTERVAL": "600"},
    )
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    detail = mo.get_run(out.strip())
    assert detail.run["status"] == "FINISHED"
    assert detail.metrics[0]["count"] == 30000


def test_an_uncaught_exception_fails_the_run_at_exit(workspace):
    proc = _python(
        """
        import nbmlops as mo
        run = mo.start_run(name="crash")
        print(run.id, flush=True)
        raise RuntimeError("boom")
    """,
        workspace.root,
    )
    out, _ = proc.communicate(timeout=60)
    detail = mo.get_run(out.strip())
    assert detail.run["status"] == "FAILED" and detail.run["error"] == "RuntimeError: boom"


def test_a_killed_process_leaves_a_killed_run_not_a_running_one(workspace):
    proc = _python(
        """
        import sys, time
        import nbmlops as mo
        run = mo.start_run(name="doomed")
        mo.log_params(a=1)
        print(run.id, flush=True)
        time.sleep(600)
    """,
        workspace.root,
    )
    run_id = proc.stdout.readline().strip()
    assert mo.get_run(run_id).run["status"] == "RUNNING"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    listed = {r["id"]: r["status"] for r in mo.list_runs().runs}
    assert listed[run_id] == "KILLED"
    assert "without closing the run" in mo.get_run(run_id).run["error"]


def test_a_process_logs_into_the_run_named_by_mlops_run_id(workspace):
    with mo.start_run(name="job") as run:
        mo.log_metric("m", 1.0, step=0)
        from nbmlops.tracking.buffer import BUFFER

        BUFFER.flush()
        proc = _python(
            """
            import nbmlops as mo
            mo.log_metric("m", 2.0)
            mo.log_params(from_child=True)
        """,
            workspace.root,
            {"MLOPS_RUN_ID": run.id},
        )
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "no run was active" not in err
    history = mo.metric_history(run.id, "m")
    assert history.steps == [0, 1] and history.values == [
        1.0,
        2.0,
    ]  # the child continues the series
    assert mo.get_run(run.id).params[0]["key"] == "from_child"
    assert mo.get_run(run.id).run["status"] == "FINISHED"  # the owner closed it, not the child


def test_run_context_records_git_packages_and_resources(workspace):
    subprocess.run(["git", "init", "-q", str(workspace.root)], check=True)
    (workspace.root / "train.py").write_text("print(1)\n")
    git = ["git", "-C", str(workspace.root), "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "add", "train.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    (workspace.root / "train.py").write_text("print(2)\n")
    import nbmlops.tracking.context as context

    context._git_cache.clear()
    with mo.start_run() as run:
        blob = np.ones(20_000_000)  # 160 MB: raises the high-water mark during the run
        del blob
    ctx = mo.get_run(run.id).context
    assert (
        ctx["git"]["commit"] == head
        and ctx["git"]["dirty"] is True
        and ctx["git"]["changed_files"] == 1
    )
    diff = subprocess.run(
        [*git, "diff", "HEAD", "--binary", "--no-ext-diff"], capture_output=True, check=True
    ).stdout
    from nbmlops.store.objects import digest_bytes

    assert ctx["git"]["diff_digest"] == digest_bytes(diff)
    assert workspace.store().objects.get(ctx["git"]["diff_digest"]) == diff
    from importlib import metadata

    installed = {d.metadata["Name"] for d in metadata.distributions()}
    assert ctx["packages"]["count"] == len(installed)
    from sqlalchemy import select

    from nbmlops.store.meta import package_sets

    with workspace.store().read() as conn:
        stored = json.loads(conn.execute(select(package_sets.c.packages)).scalar_one())
    assert {p.split("==")[0] for p in stored} == installed
    assert ctx["resources"]["peak_memory_bytes"] >= 160_000_000
    assert ctx["resources"]["peak_memory_method"].startswith("exact")
    assert ctx["python"] == ".".join(map(str, sys.version_info[:3]))


def test_notebook_snapshot_is_stored_when_the_notebook_is_known(workspace, monkeypatch):
    notebook = workspace.root / "train.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(notebook))
    with mo.start_run() as run:
        pass
    detail = mo.get_run(run.id)
    assert detail.run["name"] == "train"  # default name: the notebook's
    snap = detail.context["notebook"]
    assert snap["path"] == str(notebook)
    assert workspace.store().objects.get(snap["digest"]) == notebook.read_bytes()


def test_heartbeat_keeps_a_long_run_alive(workspace, monkeypatch):
    import nbmlops.tracking.reading as runs_module
    from nbmlops.tracking import runs as tracking

    with mo.start_run() as run:
        monkeypatch.setattr(runs_module, "STALE_S", 0.5)
        time.sleep(0.6)
        tracking._tick.last = 0.0  # force the next tick to beat
        tracking._tick()
        assert mo.get_run(run.id).run["status"] == "RUNNING"
