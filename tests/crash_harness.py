"""SIGKILL a process at random moments while it writes; then prove nothing committed was lost or
half-written.

A *workload* is one kind of write a process repeats (log metrics, log
artifacts, start and end runs, record evaluations; later: commit data
versions, run jobs). Its ``step`` does one unit of work and, only after the
API call returned, writes what it committed to a journal (one JSON line). After
all the kills, the workload's ``check`` proves every journaled thing reads back
intact, and :func:`check_store` proves the store as a whole has no damage
(fsck), no half-written run, no unaudited row, and that gc leaves it whole.

A concept adds a workload in its own test module::

    from crash_harness import workload

    @workload("data commits")
    def commit_versions(journal, rng, state):      # in the child process
        version = data.commit(frame_from(seed := rng.getrandbits(32)), name="loans")
        journal.record(version=version.number, seed=seed)

    @commit_versions.checker
    def _(store, entries):                         # in the test process, after the kills
        for e in entries:
            assert data.load(f"loans@{e['version']}").equals(frame_from(e["seed"]))

and lists its module in ``crash(..., modules=[...])`` so the forkserver preloads it.

Children come from a forkserver that has imported nbmlops once, so each of
the many processes starts in milliseconds.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import random
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbmlops as mo
from nbmlops.tracking import runs as tracking  # noqa: F401 - preloaded by the forkserver
from nbmlops.tracking.buffer import BUFFER
from nbmlops.tracking.context import package_set

package_set()  # cached here, in the forkserver, so a child's first run starts in milliseconds

Step = Callable[["Journal", random.Random, dict[str, Any]], None]
Check = Callable[[Any, list[dict[str, Any]]], None]


@dataclasses.dataclass
class Workload:
    """One kind of write, done in a loop by a process that may be killed at any moment."""

    name: str
    step: Step
    check: Check | None = None

    def checker(self, check: Check) -> Check:
        self.check = check
        return check


WORKLOADS: dict[str, Workload] = {}


def workload(name: str) -> Callable[[Step], Workload]:
    """Register a workload's step function under ``name`` (see the module doc)."""

    def register(step: Step) -> Workload:
        WORKLOADS[name] = Workload(name, step)
        return WORKLOADS[name]

    return register


class Journal:
    """Append-only record of what a child saw committed; one JSON line per entry, survives
    SIGKILL."""

    def __init__(self, fd: int, workload: str) -> None:
        self.fd, self.workload = fd, workload

    def record(self, **entry: Any) -> None:
        os.write(self.fd, (json.dumps({"workload": self.workload, **entry}) + "\n").encode())


def read_journal(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Entries per workload (a torn last line, impossible for small writes but cheap to allow, is
    skipped)."""
    by_workload: dict[str, list[dict[str, Any]]] = {}
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        by_workload.setdefault(entry.pop("workload"), []).append(entry)
    return by_workload


def _child(
    root: str,
    journal: str,
    names: list[str],
    seed: int,
    env: dict[str, str],
    ready,  # type: ignore[no-untyped-def]
    modules: list[str],
) -> None:
    import importlib

    # preloaded when this forkserver started with them; an earlier one may not have
    for module in modules:
        importlib.import_module(module)
    for var in [v for v in os.environ if v.startswith("MLOPS_")]:
        del os.environ[var]  # the forkserver's environment is older than the test's
    os.environ.update(env)
    os.chdir(root)
    package_set()  # a no-op unless sys.path differs from the forkserver's
    rng = random.Random(seed)
    fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    state: dict[str, Any] = {"seed": seed}
    # connect and reach the object store before the clock starts
    store = mo.Workspace.find().store()
    store.objects.exists("0" * 64)
    ready.send(True)
    while True:
        name = rng.choice(names)
        WORKLOADS[name].step(Journal(fd, name), rng, state)


def forkserver(modules: list[str]) -> Any:
    """The forkserver context, its server started with everything a writer imports already imported.

    Python 3.11's forkserver ignores the parent's sys.path, so it gets it through
    PYTHONPATH; ``pytest`` is preloaded because every child re-runs the main script.
    """
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["crash_harness", "pytest", *modules])
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        forkserver.ensure_running()
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved
    return ctx


def crash(
    root: Path,
    names: list[str],
    *,
    kills: int,
    seed: int,
    max_delay: float = 0.5,
    min_delay: float = 0.0,
    env: dict[str, str] | None = None,
    modules: list[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Start a writer, let it work ``min_delay`` to ``max_delay`` seconds, SIGKILL it; ``kills``
    times. Returns the journal."""
    unknown = set(names) - set(WORKLOADS)
    assert not unknown, f"unknown workloads {unknown}"
    ctx = forkserver(modules or [])
    rng = random.Random(seed)
    journal = root / "crash-journal.jsonl"
    child_env = {"MLOPS_FLUSH_INTERVAL": "0.02", "MLOPS_USER": "crasher", **(env or {})}
    for k in range(kills):
        parent_end, child_end = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=_child,
            args=(
                str(root),
                str(journal),
                names,
                seed * 1000 + k,
                child_env,
                child_end,
                modules or [],
            ),
        )
        written = journal.stat().st_size if journal.exists() else 0
        process.start()
        assert parent_end.poll(120), "the writer did not start"
        parent_end.recv()
        # on a busy machine a writer can be slow to commit anything: the kill lands after its first
        # committed write (the delay counts from there), so every writer is killed while writing
        deadline = time.time() + 60
        while (
            journal.stat().st_size if journal.exists() else 0
        ) == written and time.time() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(min_delay, max_delay))
        assert process.is_alive(), (
            f"writer {k} died before it was killed (exit code {process.exitcode})"
        )
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        assert process.exitcode == -signal.SIGKILL
    return read_journal(journal)


# ---------------------------------------------------------------- the foundation's workloads


def metric_value(step: int) -> float:
    return step * 0.5 + 1.0


@workload("metrics")
def log_metrics(journal: Journal, rng: random.Random, state: dict[str, Any]) -> None:
    """Log batches of points (flushed in the background every 20 ms); sometimes flush, sometimes
    end the run."""
    if "metrics_run" not in state:
        state["metrics_run"] = mo.start_run(name="crash-metrics")
        state["next_step"] = 0
        journal.record(run=state["metrics_run"].id)
    run = state["metrics_run"]
    for _ in range(rng.randint(1, 400)):
        run.log_metric("loss", metric_value(state["next_step"]), step=state["next_step"])
        state["next_step"] += 1
    roll = rng.random()
    if roll < 0.4:
        BUFFER.flush(run.store)
        journal.record(run=run.id, flushed=state["next_step"])
    elif roll < 0.5:
        run.end()
        journal.record(run=run.id, ended=state["next_step"])
        del state["metrics_run"]


@log_metrics.checker
def _check_metrics(store: Any, entries: list[dict[str, Any]]) -> None:
    from sqlalchemy import select

    from nbmlops.store import meta

    flushed: dict[str, int] = {}
    ended: dict[str, int] = {}
    for e in entries:
        flushed[e["run"]] = max(flushed.get(e["run"], 0), e.get("flushed", 0), e.get("ended", 0))
        if "ended" in e:
            ended[e["run"]] = e["ended"]
    with store.read() as conn:
        for run_id, at_least in flushed.items():
            rows = conn.execute(
                select(meta.metrics.c.step, meta.metrics.c.value)
                .where(meta.metrics.c.run_id == run_id)
                .order_by(meta.metrics.c.step)
            ).all()
            steps = [s for s, _ in rows]
            assert steps == list(range(len(steps))), (
                f"run {run_id[:8]}: points missing in the middle or doubled"
            )
            assert len(steps) >= at_least, (
                f"run {run_id[:8]}: {at_least} points were flushed, {len(steps)} stored"
            )
            assert [v for _, v in rows] == [metric_value(s) for s in steps]
            if run_id in ended:
                assert len(steps) == ended[run_id]
            if steps:
                latest = conn.execute(
                    select(meta.latest_metrics).where(meta.latest_metrics.c.run_id == run_id)
                ).one()
                assert (latest.count, latest.step) == (len(steps), steps[-1])
            status = conn.execute(
                select(meta.runs.c.status).where(meta.runs.c.id == run_id)
            ).scalar_one()
            # killed between ending the run and writing the journal: FINISHED but not journaled as
            # ended
            assert status == "FINISHED" if run_id in ended else status in ("KILLED", "FINISHED")


def artifact_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


@workload("artifacts")
def log_artifacts(journal: Journal, rng: random.Random, state: dict[str, Any]) -> None:
    """Log an artifact from memory, from a file (streamed), or a folder of two files."""
    if "artifact_run" not in state:
        state["artifact_run"] = mo.start_run(name="crash-artifacts")
        state["artifacts"] = 0
    run = state["artifact_run"]
    state["artifacts"] += 1
    seed, size, mode = (
        rng.getrandbits(32),
        rng.randint(1, 64 << 10),
        rng.choice(["bytes", "file", "folder"]),
    )
    name = f"a{state['artifacts']}"
    if mode == "bytes":
        run.log_artifact(artifact_bytes(seed, size), name)
        journal.record(run=run.id, files={name: [seed, size]})
    else:
        scratch = Path(f"scratch-{os.getpid()}") / name
        scratch.mkdir(parents=True)
        if mode == "file":
            (scratch / "blob.bin").write_bytes(artifact_bytes(seed, size))
            run.log_artifact(scratch / "blob.bin", name)
            journal.record(run=run.id, files={name: [seed, size]})
        else:
            (scratch / "x.bin").write_bytes(artifact_bytes(seed, size))
            (scratch / "y.bin").write_bytes(artifact_bytes(seed + 1, 100))
            run.log_artifact(scratch, name)
            journal.record(
                run=run.id, files={f"{name}/x.bin": [seed, size], f"{name}/y.bin": [seed + 1, 100]}
            )


@log_artifacts.checker
def _check_artifacts(store: Any, entries: list[dict[str, Any]]) -> None:
    for e in entries:
        for name, (seed, size) in e["files"].items():
            assert mo.load_artifact(e["run"], name, store=store) == artifact_bytes(seed, size), name


@workload("runs")
def start_and_end_runs(journal: Journal, rng: random.Random, state: dict[str, Any]) -> None:
    """A whole short run: params and tags at start, ended cleanly."""
    value = rng.getrandbits(20)
    with mo.start_run(name="crash-run", tags={"value": value}) as run:
        run.log_params(value=value, kind="crash")
    journal.record(run=run.id, value=value)


@start_and_end_runs.checker
def _check_runs(store: Any, entries: list[dict[str, Any]]) -> None:
    for e in entries:
        detail = mo.get_run(e["run"], store=store)
        assert detail.run["status"] == "FINISHED"
        assert {p["key"]: p["value"] for p in detail.params} == {
            "value": e["value"],
            "kind": "crash",
        }
        assert detail.tags == {"value": str(e["value"])}


@workload("evaluations")
def record_evaluations(journal: Journal, rng: random.Random, state: dict[str, Any]) -> None:
    """An evaluation with a report object, outside any run."""
    from nbmlops.evaluate.storage import record_evaluation

    seed = rng.getrandbits(32)
    report = {"seed": seed, "values": random.Random(seed).sample(range(10_000), 50)}
    eid = record_evaluation(
        "slices", subject={"seed": seed}, summary={"n": 50}, report=report, run_id=None
    )
    journal.record(id=eid, seed=seed)


@record_evaluations.checker
def _check_evaluations(store: Any, entries: list[dict[str, Any]]) -> None:
    from nbmlops.evaluate.storage import get_evaluation

    for e in entries:
        report = get_evaluation(e["id"], store=store).report
        assert report == {
            "seed": e["seed"],
            "values": random.Random(e["seed"]).sample(range(10_000), 50),
        }


# ---------------------------------------------------------------- after the kills


def check_store(store: Any, journal: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Everything journaled reads back, nothing is damaged or half-written, and gc keeps it that
    way."""
    from sqlalchemy import func, select

    from nbmlops.maintenance.integrity import fsck, gc
    from nbmlops.store import meta
    from nbmlops.tracking.reading import reap_dead_runs

    reap_dead_runs(store)
    report = fsck(store=store)
    assert report.passed, report.problems
    with store.read() as conn:
        statuses = dict(
            conn.execute(
                select(meta.runs.c.status, func.count()).group_by(meta.runs.c.status)
            ).all()
        )
        run_ids = set(conn.execute(select(meta.runs.c.id)).scalars())
        started = set(
            conn.execute(
                select(meta.audit_events.c.entity_id).where(
                    meta.audit_events.c.action == "run.start"
                )
            ).scalars()
        )
        series = conn.execute(
            select(
                meta.metrics.c.run_id,
                func.count(),
                func.min(meta.metrics.c.step),
                func.max(meta.metrics.c.step),
                func.count(func.distinct(meta.metrics.c.step)),
            ).group_by(meta.metrics.c.run_id)
        ).all()
    assert "RUNNING" not in statuses, "a run of a killed process still says RUNNING"
    assert run_ids == started, "a run row without its audit event, or the reverse"
    for run_id, count, low, high, distinct in series:  # every batch is all or nothing
        assert (low, high, distinct) == (0, count - 1, count), (
            f"run {run_id[:8]} has a torn metric series"
        )
    for name, entries in journal.items():
        WORKLOADS[name].check(store, entries)  # type: ignore[misc]
    collected = gc(grace=0, store=store)
    assert fsck(store=store).passed
    for name, entries in journal.items():
        WORKLOADS[name].check(store, entries)  # type: ignore[misc]
    return {
        "run_rows": len(run_ids),
        "objects": report.objects,
        "orphans_collected": len(collected.removed),
        "temporaries_collected": collected.temporaries,
        **{n: len(e) for n, e in journal.items()},
    }
