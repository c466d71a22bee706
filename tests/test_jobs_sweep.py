"""Sweeps on a real local process pool and a real Dask LocalCluster with 2 workers."""

from __future__ import annotations

import json
import math
import os
import socket

import nbformat
import numpy as np
import pytest
from jobs_notebooks import score, write_train
from sqlalchemy import select

import nbmlops as mo
from nbmlops.errors import InvalidInput
from nbmlops.jobs import get_job, list_jobs, sweep
from nbmlops.jobs.executors import executor_url
from nbmlops.jobs.space import build, parse_distribution, parse_grid, parse_random
from nbmlops.store.meta import runs


@pytest.fixture
def dask_cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("DASK_TEMPORARY_DIRECTORY", str(tmp_path / "dask"))
    from distributed import LocalCluster

    saved = dict(os.environ)
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    )
    yield cluster
    cluster.close()
    os.environ.clear()  # the nanny exported its worker tuning into this process
    os.environ.update(saved)


def test_grid_on_the_process_pool_survives_a_dying_kernel(workspace, tmp_path):
    nb = write_train(tmp_path / "train.ipynb")
    res = sweep(
        nb,
        {"C": [0.5, 2.0], "die": [False, True]},
        parameters={"penalty": "l1"},
        metric="score",
        executor="process://?workers=2",
        progress=False,
    )
    assert res.status == "FAILED" and res.error == "2 of 4 points failed (point 1, 3)."
    by_point = {p["point"]: p for p in res.points}
    for point, (C, die) in enumerate([(0.5, False), (0.5, True), (2.0, False), (2.0, True)]):
        p = by_point[point]
        assert p["parameters"] == {"C": C, "die": die}
        # the execution count is known when the kernel said it started the cell before dying
        if die:
            assert p["status"] == "FAILED" and p["error"].startswith(
                "The kernel died while running "
            )
            job = get_job(p["run_id"]).job
            assert (
                "os._exit(3)"
                in nbformat.reads(
                    workspace.store().objects.get(job.output_digest).decode(), as_version=4
                )
                .cells[job.error_cell]
                .source
            )
        else:
            assert p["status"] == "FINISHED" and p["metrics"]["score"] == score(C, "l1")
    # best first: the finished points by score, then the failed ones
    assert [p["point"] for p in res.points[:2]] == [0, 2]
    assert res.best["run_id"] == by_point[0]["run_id"]

    sweep_run = mo.get_run(res.sweep_id)
    assert sweep_run.run["kind"] == "sweep" and sweep_run.tags["best_run"] == by_point[0]["run_id"]
    assert {m["key"]: m["last"] for m in sweep_run.metrics} == {"score": score(0.5, "l1")}
    assert sorted(c["id"] for c in sweep_run.children) == sorted(p["run_id"] for p in res.points)
    # each point: a job run, child of the sweep, with the fixed and swept params
    for p in res.points:
        point_run = mo.get_run(p["run_id"])
        assert point_run.run["parent_id"] == res.sweep_id and point_run.run["kind"] == "job"
        assert {q["key"]: q["value"] for q in point_run.params}["penalty"] == "l1"
    frame = res.to_frame()  # the views a user gets: pandas, JSON, HTML
    assert list(frame["point"]) == [p["point"] for p in res.points] and frame["metrics.score"].iloc[
        0
    ] == score(0.5, "l1")
    assert json.loads(res.to_json())["sweep_id"] == res.sweep_id
    html = res._repr_html_()
    # the comparison table and the chart of C, die -> score
    assert "<table>" in html and '"parcoords"' in html
    shown = get_job(res.sweep_id[:8])  # the stored sweep reads back as the same comparison
    assert [p["run_id"] for p in shown.points] == [p["run_id"] for p in res.points]
    assert len(list_jobs(sweep=res.sweep_id).jobs) == 4


def test_random_search_on_a_dask_cluster_by_address(cli, workspace, tmp_path, dask_cluster):
    nb = write_train(tmp_path / "train.ipynb")
    out = cli(
        "job",
        "sweep",
        str(nb),
        "--random",
        "C=loguniform:0.1:10",
        "--samples",
        "3",
        "--seed",
        "7",
        "--cluster",
        dask_cluster.scheduler_address,
        "--metric",
        "score",
        "--goal",
        "min",
        "--no-progress",
    )
    assert out.exit_code == 0, out.stderr
    [sweep_job] = list_jobs(mode="sweep").jobs
    res = get_job(sweep_job.run_id)
    assert res.executor == dask_cluster.scheduler_address and res.seed == 7
    drawn = [math.exp(x) for x in np.random.default_rng(7).uniform(math.log(0.1), math.log(10), 3)]
    assert sorted(p["parameters"]["C"] for p in res.points) == pytest.approx(
        sorted(drawn), rel=1e-12
    )
    for p in res.points:  # what the kernel received is what the run records
        assert p["status"] == "FINISHED" and p["metrics"]["C_seen"] == p["parameters"]["C"]
        assert p["metrics"]["malloc_fixed"] == 0  # kernels do not inherit the nanny's malloc tuning
        assert p["metrics"]["score"] == score(p["parameters"]["C"])
    scores = [p["metrics"]["score"] for p in res.points]
    assert scores == sorted(scores)  # lowest first


@pytest.mark.postgres
@pytest.mark.s3
def test_sweep_workers_share_a_postgres_and_s3_workspace(pg_url, s3_url, tmp_path, monkeypatch):
    from nbmlops.workspace import Workspace

    monkeypatch.chdir(tmp_path)
    ws, _ = Workspace.init(tmp_path, db_url=pg_url, objects_url=s3_url)
    nb = write_train(tmp_path / "train.ipynb")
    res = sweep(
        nb, {"C": [1.0, 4.0]}, metric="score", executor="process://?workers=2", progress=False
    )
    assert res.status == "FINISHED" and [p["parameters"]["C"] for p in res.points] == [1.0, 4.0]
    for p in res.points:
        assert p["metrics"]["score"] == score(p["parameters"]["C"])
        job = get_job(p["run_id"]).job
        assert ws.store().objects.get(job.output_digest, verify=True).startswith(b"{")
    assert ws.store().dialect == "postgresql" and ws.objects_url.startswith("s3://")


@pytest.mark.slow
def test_cluster_local_starts_a_local_cluster(cli, workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("DASK_TEMPORARY_DIRECTORY", str(tmp_path / "dask"))
    nb = write_train(tmp_path / "train.ipynb")
    out = cli(
        "job",
        "sweep",
        str(nb),
        "--grid",
        "C=0.5,1.5",
        "--grid",
        "fail=false,true",
        "--cluster",
        "local",
        "--workers",
        "2",
        "--metric",
        "score",
        "--no-progress",
    )
    assert out.exit_code == 1  # two points failed: printed, then a non-zero exit
    assert "2 of 4 points failed" in out.stdout and "dask://local?workers=2" in out.stdout
    # the cluster we started left this process as it was
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
    res = get_job(list_jobs(mode="sweep").jobs[0].run_id)
    assert [(p["parameters"], p["status"]) for p in res.points[:2]] == [
        ({"C": 0.5, "fail": False}, "FINISHED"),
        ({"C": 1.5, "fail": False}, "FINISHED"),
    ]


@pytest.mark.slow
def test_sweep_and_job_from_inside_a_real_kernel(workspace, tmp_path):
    """The way users run them: the process pool's workers must start safely from a Jupyter
    kernel."""
    from nbclient import NotebookClient

    write_train(tmp_path / "train.ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(source)
        for source in (
            "%load_ext nbmlops",
            "res = %mlops job sweep train.ipynb --grid C=1,3 --workers 2 --metric score "
            "--no-progress\n"
            "print(res.status, res.best['parameters'])",
            "job = %mlops job run train.ipynb -p C 7 --no-progress\nprint(job.status, "
            "job.metrics['score'])",
        )
    ]
    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    assert nb.cells[1].outputs[0]["text"] == "FINISHED {'C': 1}\n"
    assert nb.cells[2].outputs[0]["text"] == f"FINISHED {score(7)}\n"
    kinds = sorted(j.mode for j in list_jobs().jobs)
    assert kinds == ["run", "run", "run", "sweep"]


def test_unreachable_cluster_is_one_sentence_and_writes_nothing(cli, workspace, tmp_path):
    nb = write_train(tmp_path / "train.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = cli("job", "sweep", str(nb), "--grid", "C=1,2", "--cluster", f"tcp://127.0.0.1:{port}")
    assert out.exit_code == 6
    assert out.stderr.startswith(
        f"Error: No Dask scheduler answered at tcp://127.0.0.1:{port} within 3 s"
    )
    assert len(out.stderr.strip().splitlines()) == 1
    with workspace.store().read() as conn:
        assert conn.execute(select(runs.c.id)).all() == []


# ---------------------------------------------------------------- search spaces (no kernels)


def test_grid_is_the_product_in_order():
    grid = parse_grid(["C=0.1,0.5,1.0", "penalty=l1,l2", "layers=[[8], [8, 8]]"])
    assert grid == {"C": [0.1, 0.5, 1.0], "penalty": ["l1", "l2"], "layers": [[8], [8, 8]]}
    points = build(grid).points
    assert len(points) == 12 and points[0] == {"C": 0.1, "penalty": "l1", "layers": [8]}
    assert points[-1] == {"C": 1.0, "penalty": "l2", "layers": [8, 8]}


def test_random_draws_are_seeded_bounded_and_crossed_with_the_grid():
    dists = parse_random(
        ["C=loguniform:0.01:10", "n=int:1:3", "penalty=choice:l1,l2", "x=uniform:-1:1"]
    )
    space = build({"scale": [1, 2]}, dists, samples=50, seed=3)
    assert len(space.points) == 100 and space.seed == 3
    assert space.points == build({"scale": [1, 2]}, dists, samples=50, seed=3).points
    assert all(
        0.01 <= p["C"] <= 10
        and p["n"] in (1, 2, 3)
        and p["penalty"] in ("l1", "l2")
        and -1 <= p["x"] <= 1
        for p in space.points
    )
    assert {p["n"] for p in space.points} == {1, 2, 3}  # both ends of int are included
    unseeded = build(None, {"C": "uniform:0:1"}, samples=2)
    assert isinstance(unseeded.seed, int)  # a fresh seed, recorded


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: parse_grid(["C"]), "--grid expects NAME=VALUES"),
        (lambda: parse_distribution("C", "beta:1:2"), "Unknown distribution 'beta'"),
        (
            lambda: parse_distribution("C", "loguniform:0:1"),
            "loguniform for 'C' needs LOW above zero",
        ),
        (lambda: parse_distribution("C", "uniform:2:1"), "needs LOW below HIGH"),
        (lambda: build(None, {"C": "uniform:0:1"}), "Random search needs --samples N"),
        (lambda: build(), "A sweep needs --grid"),
        (lambda: executor_url(cluster="nowhere"), "--cluster expects tcp://host:port"),
        (lambda: executor_url(workers=0), "--workers must be a whole number of at least 1"),
    ],
)
def test_bad_search_spaces_are_one_sentence(call, message):
    with pytest.raises(InvalidInput, match=message):
        call()
