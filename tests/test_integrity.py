"""fsck finds every kind of damage and names what it affects; gc removes only what nothing
references.

Damage is done the way it happens: bytes flipped or files deleted in the object
store itself, rows edited with plain SQL. Every backend pair runs the same checks.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time

import pytest
from sqlalchemy import select, update

import nbmlops as mo
from nbmlops.errors import IntegrityError, NotFound, PermissionDenied
from nbmlops.evaluate.storage import record_evaluation
from nbmlops.maintenance.integrity import fsck, gc
from nbmlops.maintenance.reachability import column, register, unregister
from nbmlops.store import meta, objects
from nbmlops.verdict import FAILED_EXIT_CODE


def rewrite_object(store, digest, transform):
    """Change an object's stored bytes behind the store's back (local folder or S3 alike)."""
    fs, key = store.objects.fs, store.objects.key(digest)
    fs.pipe_file(key, transform(fs.cat_file(key)))


def flip_one_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def age(store, digest, seconds):
    path = store.objects.key(digest)
    past = time.time() - seconds
    os.utime(path, (past, past))


@pytest.fixture
def populated(backend_store, tmp_path, monkeypatch):
    """A run with every kind of reference: artifacts, an evaluation, notebook snapshot, git diff,
    package set."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "train.py").write_text("C = 1\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    subprocess.run(["git", "-C", str(tmp_path), "add", "train.py"], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "init"], check=True, env=env)
    (tmp_path / "train.py").write_text("C = 2\n")  # dirty: the run keeps the diff
    notebook = tmp_path / "analysis.ipynb"
    notebook.write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    monkeypatch.setenv("MLOPS_NOTEBOOK", str(notebook))
    with mo.start_run(name="populated") as run:
        mo.log_params(C=2)
        mo.log_metric("loss", 0.5)
        mo.log_artifact(b"model bytes", "model.bin")
        mo.log_artifact({"threshold": 0.4}, "config.json")
        record_evaluation(
            "bias", subject={"run": run.id}, summary={"dp": 0.8}, report={"groups": [1, 2]}
        )
    with backend_store.read() as conn:
        context = json.loads(conn.execute(select(meta.runs.c.context)).scalar_one())
        arts = dict(conn.execute(select(meta.artifacts.c.name, meta.artifacts.c.digest)).all())
        report = conn.execute(select(meta.evaluations.c.report)).scalar_one()
    # when an IPython shell exists in this process
    return {
        "store": backend_store,
        "run": run.id,
        "artifacts": arts,
        "report": report,
        "notebook": context["notebook"]["digest"],
        "diff": context["git"]["diff_digest"],
        "packages": context["packages"]["digest"],
        "history": (context.get("history") or {}).get("digest"),
    }


def problems(report):
    return {(p.problem, p.subject): p.affected for p in report.problems}


def test_clean_store_reports_no_damage(populated, cli):
    store = populated["store"]
    report = fsck(store=store)
    assert report.passed, report.problems
    expected = {
        *populated["artifacts"].values(),
        populated["report"],
        populated["notebook"],
        populated["diff"],
    }
    contexts = 2 + (populated["history"] is not None)
    assert set(store.objects) == expected | ({populated["history"]} - {None})
    assert report.references == {
        "artifact": 2,
        "evaluation report": 1,
        "run context": contexts,
        "package set": 1,
    }
    assert report.unreferenced == 0 and report.audit_events >= 5
    out = cli("fsck", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["passed"] is True


def test_one_flipped_byte_in_an_artifact_is_found_and_named(populated, cli):
    store, run = populated["store"], populated["run"]
    digest = populated["artifacts"]["model.bin"]
    rewrite_object(store, digest, flip_one_byte)
    report = fsck(store=store)
    assert problems(report) == {
        ("corrupt object", digest[:12]): [f"artifact 'model.bin' of run {run[:8]}"]
    }
    out = cli("fsck")
    assert out.exit_code == FAILED_EXIT_CODE
    assert "corrupt object" in out.stdout and "model.bin" in out.stdout
    with pytest.raises(IntegrityError, match="corrupt"):
        mo.load_artifact(run, "model.bin")


@pytest.mark.parametrize(
    "which, label",
    [
        ("notebook", "notebook snapshot"),
        ("diff", "git diff"),
        ("report", "evaluation"),
    ],
)
def test_deleted_context_and_report_objects_are_found_and_named(populated, which, label):
    store, digest = populated["store"], populated[which]
    store.objects.delete(digest)
    [(problem, subject)] = problems(fsck(store=store))
    assert (problem, subject) == ("missing object", digest[:12])
    [affected] = problems(fsck(store=store))[(problem, subject)]
    assert affected.startswith(label)


def test_executed_cells_snapshot_is_checked(ip):
    ip.run_cell("import nbmlops as mo\nx = 1", store_history=True)
    assert ip.run_cell(
        "with mo.start_run(name='in-notebook') as run: pass", store_history=True
    ).success
    store = mo.Workspace.find().store()
    with store.read() as conn:
        history = json.loads(conn.execute(select(meta.runs.c.context)).scalar_one())["history"][
            "digest"
        ]
    assert fsck(store=store).passed
    assert b"x = 1" in store.objects.get(history)
    rewrite_object(store, history, lambda b: b.replace(b"x = 1", b"x = 2"))
    assert problems(fsck(store=store)) == {
        ("corrupt object", history[:12]): [f"executed cells of run {ip.user_ns['run'].id[:8]}"]
    }


def test_edited_package_set_and_broken_references(populated):
    store, run = populated["store"], populated["run"]
    with store.write() as conn:
        conn.execute(update(meta.package_sets).values(packages=json.dumps(["evil==6.6.6"])))
        conn.execute(
            update(meta.artifacts)
            .where(meta.artifacts.c.name == "config.json")
            .values(digest="not-a-digest")
        )
    found = problems(fsck(store=store))
    assert found == {
        ("corrupt package set", populated["packages"][:12]): [f"package set of run {run[:8]}"],
        ("broken reference", "not-a-digest"): [f"artifact 'config.json' of run {run[:8]}"],
    }


def test_unreadable_context_is_reported_and_stops_gc(populated):
    store = populated["store"]
    with store.write() as conn:
        conn.execute(update(meta.runs).values(context="{truncated"))
    assert ("unreadable reference", "-") in problems(fsck(store=store))
    before = set(store.objects)
    with pytest.raises(IntegrityError, match="gc stopped before deleting anything"):
        gc(grace=0, store=store)
    assert set(store.objects) == before


def test_tampered_audit_chain_is_part_of_fsck(populated):
    store = populated["store"]
    with store.write() as conn:
        conn.execute(
            update(meta.audit_events).where(meta.audit_events.c.seq == 2).values(username="mallory")
        )
    assert ("audit chain", "event 2") in problems(fsck(store=store))


# ---------------------------------------------------------------- manifests: the follow hook


def manifest_chunks(data: bytes):
    """A stand-in for the data concept's manifest reader: JSON listing chunk digests."""
    doc = json.loads(data)
    if not isinstance(doc, dict) or "chunks" not in doc:
        raise ValueError("no chunk list")
    return [(digest, f"chunk {i}") for i, digest in enumerate(doc["chunks"])]


@pytest.fixture
def manifests(backend_store):
    """Evaluation reports play manifests: one registry entry makes fsck and gc follow them to
    their chunks."""
    register(
        column(
            "test manifest",
            meta.evaluations.c.report,
            "manifest of evaluation #{id}",
            meta.evaluations.c.id,
            follow=manifest_chunks,
        )
    )
    chunks = [backend_store.objects.put(f"chunk {i}".encode()) for i in range(3)]
    eid = record_evaluation(
        "drift", subject={}, summary={}, report={"chunks": chunks}, store=backend_store
    )
    yield backend_store, chunks, eid
    unregister("test manifest")


def test_manifest_chunks_are_followed_checked_and_kept(manifests):
    store, chunks, eid = manifests
    report = fsck(store=store)
    assert (
        report.passed and report.references["test manifest entry"] == 3 and report.unreferenced == 0
    )
    assert gc(grace=0, store=store).removed == []
    store.objects.delete(chunks[1])
    rewrite_object(store, chunks[2], flip_one_byte)
    assert problems(fsck(store=store)) == {
        ("missing object", chunks[1][:12]): [f"chunk 1 in manifest of evaluation #{eid}"],
        ("corrupt object", chunks[2][:12]): [f"chunk 2 in manifest of evaluation #{eid}"],
    }


def test_edited_manifest_is_found_and_gc_keeps_its_chunks(manifests):
    store, chunks, eid = manifests
    with store.read() as conn:
        manifest = conn.execute(select(meta.evaluations.c.report)).scalar_one()
    rewrite_object(store, manifest, lambda b: b.replace(chunks[0].encode(), chunks[1].encode()))
    found = problems(fsck(store=store))
    assert found[("corrupt object", manifest[:12])] == [
        f"manifest of evaluation #{eid}",
        f"evaluation #{eid} (drift)",
    ]
    with pytest.raises(IntegrityError, match="cannot be read"):
        gc(grace=0, store=store)
    assert all(store.objects.exists(c) for c in chunks)


def test_manifest_that_cannot_be_parsed_is_unreadable(manifests):
    store, _chunks, eid = manifests
    junk = store.objects.put(b'{"rows": 3}')  # a valid object that is not a manifest
    with store.write() as conn:
        conn.execute(update(meta.evaluations).values(report=junk))
    found = problems(fsck(store=store))
    assert found[("unreadable object", junk[:12])] == [f"manifest of evaluation #{eid}"]


# ---------------------------------------------------------------- gc


def test_gc_removes_old_orphans_only_and_records_it(populated, cli):
    store = populated["store"]
    orphans = [store.objects.put(f"orphan {i}".encode()) for i in range(3)]
    dry = gc(grace=0, dry_run=True, store=store)
    assert sorted(d for d, _, _ in dry.removed) == sorted(orphans)
    assert all(store.objects.exists(d) for d in orphans)
    kept = gc(grace="1h", store=store)
    assert kept.removed == [] and kept.kept_young == 3
    done = gc(grace=0, store=store)
    assert sorted(d for d, _, _ in done.removed) == sorted(orphans)
    assert not any(store.objects.exists(d) for d in orphans)
    assert fsck(store=store).passed
    assert mo.load_artifact(populated["run"], "model.bin") == b"model bytes"
    [event] = mo.audit_log(action="objects.gc").events
    assert event["payload"]["removed"] == 3 and sorted(event["payload"]["digests"]) == sorted(
        orphans
    )
    out = cli("gc", "--grace", "0", "--json")
    assert out.exit_code == 0 and json.loads(out.stdout)["removed"] == []


def test_gc_removes_stale_temporaries(store):
    stale = store.objects._tmp_path()
    with open(stale, "wb") as f:
        f.write(b"half an object")
    past = time.time() - 7200
    os.utime(stale, (past, past))
    fresh = store.objects._tmp_path()
    with open(fresh, "wb") as f:
        f.write(b"a write in progress")
    assert fsck(store=store).temporaries == 2
    assert gc(grace="1h", store=store).temporaries == 1
    assert [p for p, _ in store.objects.temporaries()] == [fresh]


def test_reused_old_object_is_freshened_so_gc_keeps_it(store):
    digest = store.objects.put(b"left by a killed writer")
    age(store, digest, 7200)
    assert store.objects.put(b"left by a killed writer") == digest  # a new commit reuses the bytes
    assert gc(grace="1h", store=store).removed == []
    assert store.objects.exists(digest)


def test_gc_never_removes_what_a_concurrent_commit_references(store, monkeypatch):
    """A writer keeps leaving orphans and later commits rows reusing old ones, while gc runs in a
    loop."""
    monkeypatch.setattr(objects, "FRESHEN_AFTER_S", 0.05)
    grace = 0.5  # safe: every commit below takes far less than grace - FRESHEN_AFTER_S
    stop = threading.Event()
    removed = []

    def collector():
        while not stop.is_set():
            removed.extend(d for d, _, _ in gc(grace=grace, store=store).removed)

    worker = threading.Thread(target=collector)
    worker.start()
    rng = random.Random(8)
    reused = 0
    try:
        with mo.start_run(name="writer") as run:
            # enough rounds to prove something, however busy the machine is
            deadline = time.time() + 120
            i = 0
            while (reused <= 60 or len(removed) <= 60) and time.time() < deadline:
                store.objects.put(f"orphan {i}".encode())  # a writer killed before its row
                if i > 50 and i % 4 == 0:
                    # bytes first written long ago: maybe collected, maybe not
                    j = rng.randrange(i - 50)
                    run.log_artifact(f"orphan {j}".encode(), f"a{i}.bin")
                    reused += 1
                i += 1
                time.sleep(0.002)
    finally:
        stop.set()
        worker.join()
    report = fsck(store=store)
    assert report.passed, report.problems
    assert reused > 50 and len(removed) > 50, "too little happened for the test to prove anything"


def test_gc_on_a_readonly_workspace_is_refused(workspace):
    workspace.store()  # create the schema
    with pytest.raises(PermissionDenied):
        gc(grace=0, store=mo.Workspace.find(readonly=True).store())


def test_missing_object_read_names_it(store):
    with pytest.raises(NotFound, match="missing from the object store"):
        store.objects.get("0" * 64)


def test_fsck_does_not_blame_an_object_committed_after_its_listing(store, monkeypatch):
    """An object written between fsck's listing and its reading of references is not 'missing'."""
    real_entries = store.objects.entries

    def listing_then_commit():
        listed = list(real_entries())
        with mo.start_run(name="late"):
            mo.log_artifact(b"committed during fsck", "late.bin")
        return iter(listed)

    monkeypatch.setattr(store.objects, "entries", listing_then_commit)
    assert fsck(store=store).passed
