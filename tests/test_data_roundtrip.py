"""Table versions come back exactly (dtypes and index), on every backend; only changed chunks
take space."""

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbmlops as mo
from nbmlops.data import tables


def zoo(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """Every kind of column the issue names: nullable, categorical, tz-aware, string, object
    text."""
    rng = np.random.default_rng(seed)
    ints = pd.array(rng.integers(-5, 5, rows), dtype="Int64")
    ints[rng.random(rows) < 0.1] = pd.NA
    return pd.DataFrame(
        {
            "id": np.arange(rows, dtype="int64"),
            "x": rng.normal(size=rows),
            "n": ints,
            "flag": pd.array(rng.choice([True, False, None], rows), dtype="boolean"),
            "share": pd.array(
                np.where(rng.random(rows) < 0.1, None, rng.random(rows)), dtype="Float64"
            ),
            "grade": pd.Categorical(
                rng.choice(["a", "b", "c"], rows), categories=["c", "b", "a", "z"], ordered=True
            ),
            "region": pd.Categorical(rng.choice(["north", "south"], rows)),
            "when": pd.date_range("2024-03-30", periods=rows, freq="h", tz="Europe/Paris"),
            "naive": pd.date_range("2020-01-01", periods=rows, freq="D").as_unit("ns"),
            "wait": pd.to_timedelta(rng.integers(0, 1000, rows), unit="s"),
            "name": pd.array(
                [None if i % 7 == 0 else f"n{i}" for i in range(rows)], dtype="string"
            ),
            "text": pd.Series([f"t{i % 11}" for i in range(rows)], dtype="str"),
            "obj": pd.Series([None if i % 5 == 0 else f"o{i}" for i in range(rows)], dtype=object),
            "small": rng.integers(0, 200, rows).astype("uint8"),
            "ok": rng.random(rows) > 0.5,
        }
    )


def objects_bytes(store) -> int:
    return sum(store.objects.size(d) for d in store.objects)


def test_every_dtype_and_index_round_trips_on_every_backend(backend_store):
    frame = zoo()
    mo.data.commit(frame, "zoo")
    pd.testing.assert_frame_equal(mo.data.load("zoo@1"), frame)
    keyed = frame.set_index(["region", "id"])  # MultiIndex with a categorical level
    mo.data.commit(keyed, "zoo")
    pd.testing.assert_frame_equal(mo.data.load("zoo@latest"), keyed)
    batches = list(mo.data.iter_batches("zoo@2", columns=["x", "when"], rows=128))
    assert [len(b) for b in batches] == [128, 128, 44]
    pd.testing.assert_frame_equal(pd.concat(batches), keyed[["x", "when"]])


@pytest.mark.parametrize(
    "index",
    [
        pd.RangeIndex(10, 40, 3, name="row"),
        pd.Index([f"k{i}" for i in range(10)], name="key"),
        pd.DatetimeIndex(pd.date_range("2024-01-01", periods=10, tz="UTC")),
        pd.Index(pd.array(range(10), dtype="Int64"), name="n"),
    ],
)
def test_indexes_round_trip(workspace, index):
    frame = pd.DataFrame({"v": np.arange(10.0)}, index=index)
    frame.columns.name = "fields"
    mo.data.commit(frame, "idx")
    pd.testing.assert_frame_equal(mo.data.load("idx"), frame)


def test_an_empty_frame_keeps_its_columns_and_dtypes(workspace):
    frame = zoo().iloc[:0]
    result = mo.data.commit(frame, "empty")
    assert (result.rows, result.columns) == (0, 15)
    pd.testing.assert_frame_equal(mo.data.load("empty"), frame)
    pd.testing.assert_frame_equal(mo.data.load("empty", columns=["grade"]), frame[["grade"]])


@st.composite
def frames(draw):
    """Frames of the column kinds users commit, with nulls, odd floats and several index kinds."""
    n = draw(st.integers(0, 30))
    text = st.one_of(st.none(), st.text(max_size=5))

    def values(elements):
        return draw(st.lists(elements, min_size=n, max_size=n))

    stamps = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
    cats = draw(st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=4, unique=True))
    frame = pd.DataFrame(
        {
            "i": np.array(values(st.integers(-(2**63), 2**63 - 1)), dtype="int64"),
            "f": np.array(values(st.floats(allow_nan=True, allow_infinity=True)), dtype="float64"),
            "n": pd.array(values(st.one_of(st.none(), st.integers(-1000, 1000))), dtype="Int64"),
            "b": np.array(values(st.booleans()), dtype=bool),
            "o": pd.Series(values(text), dtype=object),
            "s": pd.array(values(text), dtype="string"),
            "t": pd.DatetimeIndex(values(stamps))
            .as_unit("us")
            .tz_localize("UTC")
            .tz_convert("Asia/Tokyo"),
            "c": pd.Categorical(
                values(st.sampled_from(cats)), categories=cats, ordered=draw(st.booleans())
            ),
        }
    )
    kind = draw(st.sampled_from(["range", "text", "multi"]))
    if kind == "text" and n:
        frame.index = pd.Index(
            [f"r{i}" for i in range(n)], name=draw(st.sampled_from([None, "row"]))
        )
    elif kind == "multi" and n:
        frame = frame.set_index(["c", "i"])
    return frame


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frames())
def test_any_generated_frame_round_trips(workspace, frame):
    result = mo.data.commit(frame, "gen")
    pd.testing.assert_frame_equal(mo.data.load(result.ref), frame)


def test_the_same_content_twice_stores_nothing_and_says_unchanged(store):
    frame = zoo(2000)
    first = mo.data.commit(frame, "loans", message="one")
    size = objects_bytes(store)
    assert first.bytes_added == size  # everything was new, and the count says so
    again = mo.data.commit(frame.copy(), "loans", message="again")
    assert again.unchanged and again.ref == "loans@1" and again.bytes_added == 0
    assert objects_bytes(store) == size
    assert "unchanged" in str(again)
    assert [v["version"] for v in mo.data.log("loans").versions] == [1]


def test_new_versions_store_only_the_changed_chunks(store, monkeypatch):
    monkeypatch.setattr(tables, "CHUNK_ROWS", 1000)
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({f"f{i}": rng.normal(size=10_000) for i in range(10)})
    v1 = mo.data.commit(frame, "wide")
    before = objects_bytes(store)
    edited = frame.copy()
    edited.loc[4000:4099, "f3"] += 1.0  # 100 rows in one chunk of one column
    v2 = mo.data.commit(edited, "wide")
    grown = objects_bytes(store) - before
    assert grown == v2.bytes_added
    assert v2.bytes_added < 0.03 * v1.bytes_total
    appended = pd.concat([edited, edited.tail(100)], ignore_index=True)
    v3 = mo.data.commit(appended, "wide")
    # the old chunks, row ranges included, stay identical
    assert v3.bytes_added < 0.04 * v1.bytes_total
    widened = appended.assign(extra=rng.normal(size=len(appended)))
    v4 = mo.data.commit(widened, "wide")
    assert v4.bytes_added < 0.15 * v1.bytes_total
    for ref, expected in (
        ("wide@1", frame),
        ("wide@2", edited),
        ("wide@3", appended),
        ("wide@4", widened),
    ):
        pd.testing.assert_frame_equal(mo.data.load(ref), expected)


def test_load_restores_only_the_asked_columns(workspace):
    frame = zoo()
    mo.data.commit(frame, "zoo")
    pd.testing.assert_frame_equal(
        mo.data.load("zoo", columns=["when", "id"]), frame[["when", "id"]]
    )
    with pytest.raises(mo.InvalidInput, match="zoo@1 has no column 'nope'"):
        mo.data.load("zoo", columns=["nope"])


def test_files_and_folders_round_trip_and_dedup(backend_store, tmp_path):
    src = tmp_path / "scans"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello")
    (src / "sub" / "b.bin").write_bytes(os.urandom(3000))
    first = mo.data.commit(src, "scans")
    assert (first.kind, first.rows, first.bytes_added > 3000) == ("files", 2, True)
    assert mo.data.commit(src, "scans").unchanged
    (src / "c.txt").write_text("hello")  # same bytes as a.txt: no new object for it
    second = mo.data.commit(src, "scans")
    assert second.ref == "scans@2" and second.bytes_added < 1000
    out = mo.data.checkout("scans@1", tmp_path / "restored")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "a.txt",
        "sub/b.bin",
    ]
    assert (out / "sub" / "b.bin").read_bytes() == (src / "sub" / "b.bin").read_bytes()
    with pytest.raises(mo.InvalidInput, match="holds files, not a table"):
        mo.data.load("scans@1")
