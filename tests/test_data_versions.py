"""References, tags, lineage, bad input (one sentence, nothing written) and concurrent commits."""

import json
import multiprocessing
import os

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

import nbmlops as mo
from nbmlops.store import meta


def frame(rows: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "loan_id": np.arange(rows),
            "amount": rng.normal(100, 10, rows).round(2),
            "region": rng.choice(["n", "s"], rows),
        }
    )


def audit(store) -> list[tuple[str, str]]:
    with store.read() as conn:
        return [
            (r.action, r.entity_id)
            for r in conn.execute(select(meta.audit_events).order_by(meta.audit_events.c.seq))
        ]


def snapshot(store) -> tuple:
    """Everything a failed command must leave as it was: rows of every data table, audit events,
    objects."""
    with store.read() as conn:
        counts = tuple(
            conn.execute(select(func.count()).select_from(t)).scalar()
            for t in (
                meta.datasets,
                meta.dataset_versions,
                meta.dataset_tags,
                meta.lineage,
                meta.audit_events,
            )
        )
    return counts, sorted(store.objects)


def test_references_resolve_by_number_latest_tag_and_digest(store):
    for seed in range(3):
        mo.data.commit(frame(seed=seed), "loans", message=f"v{seed + 1}")
    assert (
        mo.data.resolve("loans").ref == "loans@3" and mo.data.resolve("loans@latest").version == 3
    )
    second = mo.data.resolve("loans@2")
    assert (second.rows, second.columns, second.name) == (50, 3, "loans")
    assert mo.data.resolve(f"loans@{second.digest[:8]}").ref == "loans@2"
    info, old = mo.data.set_tag("loans@2", "prod")
    assert old is None and mo.data.resolve("loans@prod").version == 2
    info, old = mo.data.set_tag("loans@3", "prod")  # a tag moves, and the move is audited
    assert (old, mo.data.resolve("loans@prod").version) == (2, 3)
    tags = [e for e in audit(store) if e[0] == "data.tag"]
    assert tags == [("data.tag", "loans@2"), ("data.tag", "loans@3")]
    with store.read() as conn:
        payload = conn.execute(
            select(meta.audit_events.c.payload)
            .where(meta.audit_events.c.action == "data.tag")
            .order_by(meta.audit_events.c.seq.desc())
        ).scalar()
    assert json.loads(payload) == {"previous": 2, "tag": "prod"}
    assert mo.data.log("loans").versions[0]["tags"] == ["prod"]
    assert mo.data.remove_tag("loans", "prod") == 3
    with pytest.raises(
        mo.NotFound, match="loans has no version, tag or digest 'prod'; it has no tags."
    ):
        mo.data.resolve("loans@prod")


@pytest.mark.parametrize(
    "ref, error, message",
    [
        ("nope@1", mo.NotFound, "No dataset is named 'nope'; datasets: loans."),
        ("loans@9", mo.NotFound, "loans has versions 1 to 1; there is no loans@9."),
        ("loans@beta", mo.NotFound, "loans has no version, tag or digest 'beta'; it has no tags."),
        ("../x", mo.InvalidInput, "'../x' is not a valid dataset name"),
        ("a/b@1", mo.InvalidInput, "'a/b' is not a valid dataset name"),
        ("loans@", mo.InvalidInput, "'loans@' is not a valid dataset reference"),
    ],
)
def test_unknown_or_malformed_references_are_one_sentence(store, ref, error, message):
    mo.data.commit(frame(), "loans")
    with pytest.raises(error) as e:
        mo.data.load(ref)
    assert str(e.value).startswith(message) and str(e.value).count(". ") == 0


class Opaque:
    pass


@pytest.mark.parametrize(
    "make, name, message",
    [
        (lambda: frame(), "../x", "'../x' is not a valid dataset name"),
        (lambda: frame(), "my data", "'my data' is not a valid dataset name"),
        (
            lambda: frame().rename(columns={"amount": "loan_id"}),
            "t",
            "The column name 'loan_id' appears more than once",
        ),
        (lambda: pd.DataFrame({0: [1], 1: [2]}), "t", "Column names must be text; 0 is a int"),
        (
            lambda: pd.DataFrame({"a": [1, 2]}, index=pd.Index([1, 2], name=3)),
            "t",
            "Index level names must be text",
        ),
        (lambda: frame().assign(mixed=[1, "a"] * 25), "t", "Column 'mixed' mixes types (int, str)"),
        (lambda: frame().assign(obj=[Opaque()] * 50), "t", "Column 'obj' holds Opaque"),
        (
            lambda: frame().assign(lists=[[1, 2]] * 50),
            "t",
            "Column 'lists' holds Python objects (list<item: int64>)",
        ),
        (
            lambda: [1, 2, 3],
            "t",
            "Only a DataFrame, a CSV/Parquet file or a folder can be committed, not list.",
        ),
    ],
)
def test_bad_input_is_one_sentence_and_nothing_is_written(store, make, name, message):
    mo.data.commit(frame(), "loans")
    before = snapshot(store)
    with pytest.raises(mo.InvalidInput) as e:
        mo.data.commit(make(), name)
    assert str(e.value).startswith(message), str(e.value)
    assert "\n" not in str(e.value)
    assert snapshot(store) == before


def test_bad_files_are_refused_before_anything_is_stored(store, tmp_path):
    before = snapshot(store)
    (tmp_path / "notes.txt").write_text("not a table")
    with pytest.raises(mo.InvalidInput, match=r"notes.txt is not a CSV or Parquet file"):
        from nbmlops.data.committing import read_table_file

        read_table_file(tmp_path / "notes.txt")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(mo.InvalidInput, match=r"Cannot read .*broken.parquet as Parquet"):
        mo.data.commit(tmp_path / "broken.parquet", "t")
    folder = tmp_path / "imgs"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG")
    locked = folder / "b.png"
    locked.write_bytes(b"secret")
    locked.chmod(0)
    try:
        if os.geteuid() != 0:  # root reads anything
            with pytest.raises(
                mo.InvalidInput, match="Cannot read b.png in .*; nothing was committed."
            ):
                mo.data.commit(folder, "imgs")
    finally:
        locked.chmod(0o644)
    with pytest.raises(mo.NotFound, match="No file or folder is called"):
        mo.data.commit(tmp_path / "missing.csv", "t")
    assert snapshot(store) == before
    mo.data.commit(folder, "imgs")
    with pytest.raises(
        mo.Conflict, match="imgs holds files, not a table; commit under another name."
    ):
        mo.data.commit(frame(), "imgs")


def test_commit_and_load_inside_runs_record_lineage_both_ways(store):
    with mo.start_run(name="ingest") as ingest:
        raw = mo.data.commit(frame(seed=1), "raw")
    with mo.start_run(name="clean") as clean:
        df = mo.data.load("raw@latest")
        mo.data.load("raw@1")  # read twice, recorded once
        cleaned = mo.data.commit(df[df.amount > 90], "loans", message="cleaned")
    with mo.start_run(name="train") as train:
        mo.data.load(cleaned.ref)
    assert raw.run_id == ingest.id and cleaned.run_id == clean.id
    view = mo.data.lineage("loans@1")
    assert [(r["run_id"], r["inputs"], r["outputs"]) for r in view.producers] == [
        (clean.id, ["raw@1"], ["loans@1"])
    ]
    assert [r["run_id"] for r in view.upstream] == [
        clean.id,
        ingest.id,
    ]  # walked back to the raw data's producer
    assert [(r["run_id"], r["inputs"]) for r in view.consumers] == [(train.id, ["loans@1"])]
    down = mo.data.lineage("raw@1")
    assert [r["run_id"] for r in down.downstream] == [clean.id, train.id]
    assert "clean" in view._repr_html_() and "raw@1" in str(view)
    with store.read() as conn:
        reads = conn.execute(
            select(func.count())
            .select_from(meta.lineage)
            .where(meta.lineage.c.direction == "input")
        ).scalar()
    assert reads == 2
    assert [a for a, _ in audit(store)].count("data.read") == 2


def _commit_in_child(args):
    root, seed = args
    os.chdir(root)
    from nbmlops.store import forget_stores

    forget_stores()
    return mo.data.commit(frame(200, seed=seed), "shared", message=f"seed {seed}").ref


@pytest.mark.slow
@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_concurrent_commits_from_processes_get_distinct_ordered_versions(
    db, tmp_path, monkeypatch, request
):
    from nbmlops.workspace import Workspace

    db_url = request.getfixturevalue("pg_url") if db == "postgres" else None
    monkeypatch.chdir(tmp_path)
    if db_url:
        monkeypatch.setenv("MLOPS_DB_URL", db_url)
    Workspace.init(tmp_path, db_url=db_url)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        refs = pool.map(_commit_in_child, [(str(tmp_path), s) for s in range(6)])
    assert sorted(refs, key=lambda r: int(r.split("@")[1])) == [f"shared@{i}" for i in range(1, 7)]
    log = mo.data.log("shared").versions
    assert [v["version"] for v in log] == [6, 5, 4, 3, 2, 1]
    created = [v["created_at"] for v in reversed(log)]
    assert created == sorted(created)
    for ref in refs:
        seed = int([v["message"] for v in log if f"shared@{v['version']}" == ref][0].split()[1])
        pd.testing.assert_frame_equal(mo.data.load(ref), frame(200, seed=seed))
