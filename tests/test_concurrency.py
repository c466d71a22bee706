"""Many processes write to one workspace at once: every point is stored and nobody sees an error.

Writers are real processes (spawn start method) released together by a barrier
on a fresh workspace, so they also race to create the schema. Each logs metric
points (flushed in the background every few milliseconds and explicitly in
between, so write transactions collide all the time), params, tags and an
artifact. Every stored point is then checked by SQL against the formula that
produced it, and each writer's stderr must be empty: "database is locked"
must never reach a user.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

import nbmlops as mo
from nbmlops.maintenance.integrity import fsck
from nbmlops.store import meta

SOAK = bool(os.environ.get("MLOPS_SOAK"))
soak = pytest.mark.skipif(not SOAK, reason="soak runs only under `make soak` (MLOPS_SOAK=1)")
TAG_EVERY = 1000
FLUSH_EVERY = 500


def expected_value(writer: int, step: int) -> float:
    return writer * 1_000_000 + step * 0.25  # exact in binary floating point


def write(root: str, writer: int, points: int, barrier, stderr_path: str) -> None:  # type: ignore[no-untyped-def]
    """One writer process: a run with params, many metric points, periodic tags and an artifact."""
    errors = open(stderr_path, "w")  # noqa: SIM115 - stays open for the life of the process
    os.dup2(errors.fileno(), 2)
    os.chdir(root)
    os.environ["MLOPS_FLUSH_INTERVAL"] = "0.005"
    from nbmlops.tracking.buffer import BUFFER

    barrier.wait()
    with mo.start_run(name=f"writer-{writer}") as run:
        run.log_params(writer=writer)
        for step in range(points):
            run.log_metric("value", expected_value(writer, step), step=step)
            if step % FLUSH_EVERY == FLUSH_EVERY - 1:
                BUFFER.flush(run.store)
            if step % TAG_EVERY == TAG_EVERY - 1:
                run.set_tags(progress=step + 1)
        run.log_artifact(f"artifact of writer {writer}".encode(), "out.txt")


def run_writers(root: Path, writers: int, points: int) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(writers)
    processes = [
        ctx.Process(
            target=write, args=(str(root), i, points, barrier, str(root / f"writer-{i}.err"))
        )
        for i in range(writers)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=600)
    assert [p.exitcode for p in processes] == [0] * writers
    surfaced = {i: (root / f"writer-{i}.err").read_text() for i in range(writers)}
    assert {i: text for i, text in surfaced.items() if text} == {}


def check_every_point(store, writers: int, points: int) -> None:
    with store.read() as conn:
        runs = dict(
            conn.execute(
                select(meta.runs.c.name, meta.runs.c.id).where(meta.runs.c.status == "FINISHED")
            ).all()
        )
        assert len(runs) == writers
        for writer in range(writers):
            run_id = runs[f"writer-{writer}"]
            rows = conn.execute(
                select(meta.metrics.c.step, meta.metrics.c.value)
                .where(meta.metrics.c.run_id == run_id)
                .order_by(meta.metrics.c.step)
            ).all()
            assert [s for s, _ in rows] == list(range(points)), (
                f"writer {writer}: steps lost or doubled"
            )
            assert [v for _, v in rows] == [expected_value(writer, s) for s in range(points)]
            latest = conn.execute(
                select(meta.latest_metrics).where(meta.latest_metrics.c.run_id == run_id)
            ).one()
            assert (latest.count, latest.step, latest.value) == (
                points,
                points - 1,
                expected_value(writer, points - 1),
            )
            tags = dict(
                conn.execute(
                    select(meta.tags.c.key, meta.tags.c.value).where(meta.tags.c.run_id == run_id)
                ).all()
            )
            assert tags == {"progress": str(points)}
        events = conn.execute(
            select(meta.audit_events.c.action, func.count()).group_by(meta.audit_events.c.action)
        ).all()
    assert dict(events) == {
        "run.start": writers,
        "run.params": writers,
        "run.tags": writers * (points // TAG_EVERY),
        "run.artifact": writers,
        "run.end": writers,
    }
    for writer, run_id in sorted(runs.items()):
        assert (
            mo.load_artifact(run_id, "out.txt")
            == f"artifact of {writer.replace('-', ' ')}".encode()
        )
    assert mo.verify_audit().passed
    assert fsck(store=store).passed


def test_8_sqlite_writers_store_every_point(workspace):
    run_writers(workspace.root, writers=8, points=10_000)
    check_every_point(workspace.store(), writers=8, points=10_000)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres-local"], indirect=True)
def test_16_postgres_writers_store_every_point(backend):
    run_writers(backend.root, writers=16, points=10_000)
    check_every_point(backend.store(), writers=16, points=10_000)


@pytest.mark.soak
@soak
def test_soak_32_sqlite_writers(workspace):
    run_writers(workspace.root, writers=32, points=50_000)
    check_every_point(workspace.store(), writers=32, points=50_000)


@pytest.mark.soak
@soak
@pytest.mark.parametrize("backend", ["postgres-s3"], indirect=True)
def test_soak_48_postgres_writers(backend):
    run_writers(backend.root, writers=48, points=50_000)
    check_every_point(backend.store(), writers=48, points=50_000)
