"""What buffered metric logging can lose: nothing on a clean exit, one flush interval on SIGKILL.

A child logs points at a steady pace and writes the moment each one was
accepted into a memory-mapped file, which outlives the SIGKILL. Every point
accepted more than one flush interval (plus a margin for the write itself and a
busy machine) before the kill must be in the database, and what is stored must
be a prefix of what was logged: a flush is all or nothing.
"""

from __future__ import annotations

import mmap
import os
import signal
import struct
import subprocess
import sys
import time

from crash_harness import forkserver
from sqlalchemy import select

import nbmlops as mo
from nbmlops.store import meta

INTERVAL = 0.1
MARGIN = 1.0  # a flush's own transaction, and scheduling on a loaded two-core machine
CAPACITY = 200_000


def log_steadily(root: str, interval: float, ready) -> None:  # type: ignore[no-untyped-def]
    """In the child: log one point every ~0.5 ms and note when each was accepted."""
    os.environ["MLOPS_FLUSH_INTERVAL"] = str(interval)
    os.chdir(root)
    run = mo.start_run(name="steady")
    with open("accepted.bin", "r+b") as f:
        accepted = mmap.mmap(f.fileno(), CAPACITY * 8)
    ready.send(run.id)
    for step in range(CAPACITY):
        run.log_metric("x", float(step), step=step)
        struct.pack_into("d", accepted, step * 8, time.time())
        time.sleep(0.0005)


def test_sigkill_loses_at_most_one_flush_interval(workspace):
    (workspace.root / "accepted.bin").write_bytes(bytes(CAPACITY * 8))
    ctx = forkserver(["test_buffer"])
    parent_end, child_end = ctx.Pipe(duplex=False)
    child = ctx.Process(target=log_steadily, args=(str(workspace.root), INTERVAL, child_end))
    child.start()
    assert parent_end.poll(60)
    run_id = parent_end.recv()
    time.sleep(2.5)
    killed_at = time.time()
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    raw = (workspace.root / "accepted.bin").read_bytes()
    accepted = [t for (t,) in struct.iter_unpack("d", raw) if t]
    with workspace.store().read() as conn:
        stored = conn.execute(
            select(meta.metrics.c.step, meta.metrics.c.value)
            .where(meta.metrics.c.run_id == run_id)
            .order_by(meta.metrics.c.step)
        ).all()
    steps = [s for s, _ in stored]
    assert steps == list(range(len(steps))), "stored points are not a prefix of the logged ones"
    assert [v for _, v in stored] == [float(s) for s in steps]
    must_be_stored = sum(1 for t in accepted if t < killed_at - INTERVAL - MARGIN)
    assert must_be_stored > 1000, "the child logged too little for the bound to mean anything"
    assert len(steps) >= must_be_stored, (
        f"{must_be_stored - len(steps)} points older than {INTERVAL + MARGIN:.1f} s before the "
        "kill were lost"
    )
    assert len(steps) <= len(accepted)


def test_clean_exit_without_ending_the_run_loses_nothing(workspace):
    code = (
        "import nbmlops as mo\n"
        "run = mo.start_run(name='no-end')\n"
        "for i in range(25_000): mo.log_metric('x', i * 0.5, step=i)\n"
        "print(run.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    run_id = out.stdout.strip()
    history = mo.metric_history(run_id, "x")
    assert history.steps == list(range(25_000)) and history.values == [
        i * 0.5 for i in range(25_000)
    ]
    assert mo.get_run(run_id).run["status"] == "FINISHED"
    assert out.stderr == ""
