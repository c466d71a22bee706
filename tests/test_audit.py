"""The audit trail: every write path appends an event, tampering is named, the log filters and
pages.

Tampering is done with plain SQL, the way someone with database access would.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, select, update

import nbmlops as mo
from nbmlops.errors import InvalidInput
from nbmlops.evaluate.storage import record_evaluation
from nbmlops.maintenance.integrity import gc
from nbmlops.store import meta
from nbmlops.store.audit_chain import GENESIS, event_hash
from nbmlops.tracking import runs as tracking

SRC = Path(mo.__file__).parent
EVENTS = meta.audit_events


def events(store):
    with store.read() as conn:
        return conn.execute(select(EVENTS).order_by(EVENTS.c.seq)).all()


def actions_since(store, seq):
    return [(e.action, e.entity_type) for e in events(store) if e.seq > seq]


def head(store):
    with store.read() as conn:
        return conn.execute(select(meta.audit_head.c.seq)).scalar_one()


# ---------------------------------------------------------------- every write path appends an event


def _overwrite(ctx):
    ctx["run"].log_artifact(b"v2", "model.bin", overwrite=True)


def _reap(ctx):
    code = "import os, nbmlops as mo; mo.start_run(name='doomed'); os._exit(0)"
    subprocess.run(
        [sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(SRC.parent)}
    )
    mo.list_runs()


def _resume(ctx):
    run = ctx["run"]
    with run.store.write() as conn:
        conn.execute(
            update(meta.runs)
            .where(meta.runs.c.id == run.id)
            .values(status="KILLED", error=tracking.REAPED)
        )
    tracking._tick.last = 0.0
    tracking._tick()


def _gc(ctx):
    digest = ctx["store"].objects.put(b"orphan")
    past = time.time() - 7200
    os.utime(ctx["store"].objects.key(digest), (past, past))
    gc(grace="1h", store=ctx["store"])


# (what, the write, the events it must append); a concept adds its write paths here
AUDITED_WRITES = [
    ("start a run", lambda ctx: ctx.update(run=mo.start_run(name="r")), [("run.start", "run")]),
    ("log params", lambda ctx: ctx["run"].log_params(C=0.5, penalty="l2"), [("run.params", "run")]),
    ("log a param again (no change)", lambda ctx: ctx["run"].log_params(C=0.5), []),
    ("set tags", lambda ctx: ctx["run"].set_tags(team="risk"), [("run.tags", "run")]),
    (
        "tag a finished run from the CLI",
        lambda ctx: ctx["cli"]("runs", "tag", ctx["run"].id, "ok=yes"),
        [("run.tags", "run")],
    ),
    ("add a note", lambda ctx: ctx["run"].note("looks good"), [("run.note", "run")]),
    (
        "log an artifact",
        lambda ctx: ctx["run"].log_artifact(b"v1", "model.bin"),
        [("run.artifact", "run")],
    ),
    (
        "log a folder",
        lambda ctx: ctx["run"].log_artifact(ctx["folder"]),
        [("run.artifact", "run")] * 2,
    ),
    ("overwrite an artifact", _overwrite, [("run.artifact", "run")]),
    (
        "record an evaluation",
        lambda ctx: record_evaluation("bias", subject={}, summary={}, report={}),
        [("evaluation.record", "evaluation")],
    ),
    ("revive a wrongly reaped run", _resume, [("run.resumed", "run")]),
    ("end a run", lambda ctx: ctx["run"].end(), [("run.end", "run")]),
    ("reap a run whose process died", _reap, [("run.start", "run"), ("run.killed", "run")]),
    (
        "mlops run -- a command",
        lambda ctx: ctx["cli"]("run", "--", sys.executable, "-c", "pass"),
        [("run.start", "run"), ("run.end", "run")],
    ),
    ("gc removes objects", _gc, [("objects.gc", "objects")]),
]


def test_every_write_path_appends_its_event(store, cli, tmp_path):
    folder = tmp_path / "plots"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    ctx = {"cli": cli, "store": store, "folder": folder}
    for what, write, expected in AUDITED_WRITES:
        before = head(store)
        write(ctx)
        assert actions_since(store, before) == expected, what
    assert mo.verify_audit().passed


def _own_calls(function: ast.AST) -> set[str]:
    """What a function does itself (not inside functions nested in it): ``transaction`` for
    ``with x.write():``, and the names of the methods it calls."""
    found, pending = set(), list(ast.iter_child_nodes(function))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.With):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "write"
                    and not call.args
                ):
                    found.add("transaction")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            found.add(node.func.attr)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            found.add(node.func.id)
        pending.extend(ast.iter_child_nodes(node))
    return found


def test_no_write_transaction_goes_unaudited():
    """Every function that opens a write transaction appends an audit event, or is listed here
    with why."""
    exempt = {
        "buffer.py:write_points.transaction": "metric points: thousands a second; their run's "
        "start and end are audited",
    }
    functions = {}

    def visit(node, module, names):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions[(module, child.name, f"{module}:{'.'.join([*names, child.name])}")] = (
                    _own_calls(child)
                )
                visit(child, module, [*names, child.name])
            elif isinstance(child, ast.ClassDef):
                visit(child, module, [*names, child.name])

    for path in sorted(SRC.rglob("*.py")):
        visit(ast.parse(path.read_text()), str(path.relative_to(SRC)), [])
    # a function audits when it calls audit, or calls (by name) a function of its package that does
    auditing = {"audit"}
    while True:
        more = {name for (_, name, _), calls in functions.items() if calls & auditing} - auditing
        if not more:
            break
        auditing |= more
    unaudited = [
        full
        for (_, _, full), calls in functions.items()
        if "transaction" in calls and not calls & auditing and full not in exempt
    ]
    assert unaudited == []


def test_events_are_append_only_in_the_api():
    """Nothing in the package updates or deletes audit events; only store/audit_chain.py moves
    the head."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        source = path.read_text()
        rel = str(path.relative_to(SRC))
        for pattern in (
            "update(audit_events",
            "delete(audit_events",
            "audit_events.delete",
            "audit_events.update",
            "DELETE FROM audit",
            "UPDATE audit",
        ):
            if pattern in source:
                offenders.append(f"{rel}: {pattern}")
        if "update(audit_head" in source and rel != "store/audit_chain.py":
            offenders.append(f"{rel}: moves the audit head")
    assert offenders == []


# ---------------------------------------------------------------- tampering is detected and named

N = 8
DATABASES = pytest.mark.parametrize("backend", ["sqlite-local", "postgres-local"], indirect=True)


@pytest.fixture
def chain(backend_store, monkeypatch):
    """Eight events by two users, written through the API."""
    for i in range(4):
        monkeypatch.setenv("MLOPS_USER", "ada" if i % 2 else "bob")
        with mo.start_run(name=f"r{i}"):
            pass
    assert head(backend_store) == N
    return backend_store


def _row(store, seq):
    with store.read() as conn:
        return conn.execute(select(EVENTS).where(EVENTS.c.seq == seq)).one()._asdict()


def _swap(store, a, b):
    ra, rb = _row(store, a), _row(store, b)
    with store.write() as conn:
        for seq, row in ((a, rb), (b, ra)):
            conn.execute(
                update(EVENTS)
                .where(EVENTS.c.seq == seq)
                .values({k: v for k, v in row.items() if k != "seq"})
            )


def _rehash_from(store, start, edit):
    """Edit event ``start`` and recompute every hash after it, head included: a careful forger."""
    with store.write() as conn:
        rows = [r._asdict() for r in conn.execute(select(EVENTS).order_by(EVENTS.c.seq))]
        prev = GENESIS
        for r in rows:
            if r["seq"] == start:
                r.update(edit)
            if r["seq"] >= start:
                r["prev_hash"] = prev
                r["hash"] = event_hash(
                    r["seq"],
                    r["ts"],
                    r["username"],
                    r["action"],
                    r["entity_type"],
                    r["entity_id"],
                    r["payload"],
                    prev,
                )
                changes = {
                    "prev_hash": r["prev_hash"],
                    "hash": r["hash"],
                    **(edit if r["seq"] == start else {}),
                }
                conn.execute(update(EVENTS).where(EVENTS.c.seq == r["seq"]).values(changes))
            prev = r["hash"]
        conn.execute(update(meta.audit_head).values(hash=prev))


def _truncate(store, keep):
    with store.write() as conn:
        conn.execute(delete(EVENTS).where(EVENTS.c.seq > keep))
        last = conn.execute(select(EVENTS.c.hash).where(EVENTS.c.seq == keep)).scalar_one()
        conn.execute(update(meta.audit_head).values(seq=keep, hash=last))


def _forge_append(store):
    last = _row(store, N)
    forged = {**last, "seq": N + 1, "action": "run.end", "prev_hash": last["hash"]}
    forged["hash"] = event_hash(
        N + 1,
        forged["ts"],
        forged["username"],
        forged["action"],
        forged["entity_type"],
        forged["entity_id"],
        forged["payload"],
        forged["prev_hash"],
    )
    with store.write() as conn:
        conn.execute(insert(EVENTS).values(forged))


def _sql(statement):
    def tamper(store):
        with store.write() as conn:
            conn.execute(statement)

    return tamper


def _where(seq):
    return EVENTS.c.seq == seq


# (what, the tampering, the first bad event verify must name, whether it needs the anchor taken
# before)
TAMPERING = [
    (
        "edit a payload",
        _sql(update(EVENTS).where(_where(3)).values(payload='{"status":"FINISHED"}')),
        3,
        False,
    ),
    ("edit who did it", _sql(update(EVENTS).where(_where(3)).values(username="mallory")), 3, False),
    (
        "edit when",
        _sql(update(EVENTS).where(_where(5)).values(ts="2020-01-01T00:00:00.000000+00:00")),
        5,
        False,
    ),
    ("edit the action", _sql(update(EVENTS).where(_where(4)).values(action="run.start")), 4, False),
    ("edit the entity", _sql(update(EVENTS).where(_where(6)).values(entity_id="0" * 32)), 6, False),
    ("edit the stored hash", _sql(update(EVENTS).where(_where(2)).values(hash="f" * 64)), 2, False),
    (
        "edit the link to the previous event",
        _sql(update(EVENTS).where(_where(7)).values(prev_hash="e" * 64)),
        7,
        False,
    ),
    ("delete the first event", _sql(delete(EVENTS).where(_where(1))), 1, False),
    ("delete an event in the middle", _sql(delete(EVENTS).where(_where(4))), 4, False),
    ("delete the last event", _sql(delete(EVENTS).where(_where(N))), N, False),
    (
        "delete the last three events",
        _sql(delete(EVENTS).where(EVENTS.c.seq > N - 3)),
        N - 2,
        False,
    ),
    ("reorder two events", lambda s: _swap(s, 3, 4), 3, False),
    ("reorder the first and the last", lambda s: _swap(s, 1, N), 1, False),
    ("move an event to the end", _sql(update(EVENTS).where(_where(2)).values(seq=N + 1)), 2, False),
    ("append a forged event", _forge_append, N + 1, False),
    (
        "replace the last event and fix the chain head",
        lambda s: _rehash_from(s, N, {"username": "mallory"}),
        N,
        True,
    ),
    (
        "rewrite the chain from event 2 with fresh hashes",
        lambda s: _rehash_from(s, 2, {"username": "mallory"}),
        N,
        True,
    ),
    ("delete the last events and move the head back", lambda s: _truncate(s, 5), 6, True),
]


@DATABASES
@pytest.mark.parametrize(
    "what, tamper, first_bad, anchored", TAMPERING, ids=[t[0] for t in TAMPERING]
)
def test_tampering_is_detected_and_the_first_bad_event_named(
    chain, cli, what, tamper, first_bad, anchored
):
    intact = mo.verify_audit()
    assert intact.passed and intact.events == N
    anchor = f"{intact.head_seq}:{intact.head_hash}"
    tamper(chain)
    verdict = mo.verify_audit(anchor if anchored else None)
    assert not verdict.passed, what
    assert verdict.first_bad == first_bad, verdict.reason
    args = ["audit", "verify"] + (["--anchor", anchor] if anchored else [])
    out = cli(*args)
    assert out.exit_code == 1 and f"event {first_bad}" in out.stdout
    if anchored:
        # without the anchor, a careful forger goes unnoticed: that is why it exists
        assert mo.verify_audit().passed


@DATABASES
def test_anchor_of_an_intact_chain_matches_and_bad_anchors_are_refused(chain):
    verdict = mo.verify_audit()
    assert mo.verify_audit(f"3:{_row(chain, 3)['hash'][:16]}").passed
    assert not mo.verify_audit(f"{verdict.head_seq}:{'0' * 16}").passed
    for bad in ("3", "x:abc", "3:xyz", "3:abc", "-1:" + "a" * 16, 42):
        with pytest.raises(InvalidInput, match="not an anchor"):
            mo.verify_audit(bad)


# ---------------------------------------------------------------- the log: filters, order, pages


@DATABASES
def test_log_filters_order_and_pages(chain, cli):
    every = events(chain)
    newest_first = [e.seq for e in reversed(every)]
    assert [e["seq"] for e in mo.audit_log(limit=100).events] == newest_first
    page = mo.audit_log(limit=3, offset=3)
    assert [e["seq"] for e in page.events] == newest_first[3:6] and page.total == N
    assert [e["seq"] for e in mo.audit_log(user="ada", limit=100).events] == [
        e.seq for e in reversed(every) if e.username == "ada"
    ]
    assert [e["seq"] for e in mo.audit_log(action="run.end").events] == [
        e.seq for e in reversed(every) if e.action == "run.end"
    ]
    assert (
        mo.audit_log(action="run.*").total == N and mo.audit_log(action="evaluation.*").total == 0
    )
    run_id = every[0].entity_id
    assert {e["entity_id"] for e in mo.audit_log(entity=f"run:{run_id[:6]}").events} == {run_id}
    assert mo.audit_log(entity="run").total == N and mo.audit_log(entity="model").total == 0
    out = cli("audit", "log", "--user", "bob", "-n", "2", "--json")
    assert out.exit_code == 0
    shown = json.loads(out.stdout)
    assert [e["seq"] for e in shown["events"]] == [
        e.seq for e in reversed(every) if e.username == "bob"
    ][:2]
    assert "--offset 2" in cli("audit", "log", "-n", "2").stdout


def test_log_since(store):
    with mo.start_run(name="old"):
        pass
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    with mo.start_run(name="new") as new:
        pass
    since = dt.datetime.fromtimestamp(middle).isoformat()  # local time, as a user types it
    assert {e["entity_id"] for e in mo.audit_log(since=since).events} == {new.id}
    assert mo.audit_log(since="1h").total == 4
    assert (
        mo.audit_log(since=dt.datetime.fromtimestamp(time.time() + 60, dt.UTC).isoformat()).total
        == 0
    )


def test_log_in_the_notebook(ip):
    ip.run_cell("import nbmlops as mo\nwith mo.start_run(name='nb'): pass")
    result = ip.run_line_magic("mlops", "audit log --action run.start")
    assert [e["action"] for e in result.events] == ["run.start"]
    assert "run.start" in result._repr_html_()
