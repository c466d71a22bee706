"""Drift over batches (data larger than memory) agrees with the in-memory comparison."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nbmlops.drift import compare
from nbmlops.errors import InvalidInput


def data(n, shifted, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.lognormal(3 + (0.15 if shifted else 0), 0.8, n),
            "score": rng.normal(0, 1, n),
            "kind": rng.choice(
                ["a", "b", "c", "d"],
                n,
                p=[0.1, 0.2, 0.3, 0.4] if not shifted else [0.2, 0.2, 0.2, 0.4],
            ),
            "stars": rng.integers(1, 6, n),
            "y": rng.integers(0, 2, n),
            "when": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(np.sort(rng.uniform(0, 60, n)), unit="D"),
        }
    )
    frame["pred"] = np.where(rng.uniform(size=n) < 0.8, frame["y"], 1 - frame["y"])
    frame.loc[rng.uniform(size=n) < 0.05, "amount"] = np.nan
    return frame


@pytest.fixture(scope="module")
def pair():
    return data(60_000, False, 1), data(40_000, True, 2)


def test_batches_agree_with_memory(pair):
    ref, cur = pair
    exact = compare(ref, cur, target="y", prediction="pred", window="7d", record=False)
    batched = compare(
        ref,
        cur,
        target="y",
        prediction="pred",
        window="7d",
        chunked=True,
        batch_rows=7_000,
        record=False,
    )
    assert batched.mode == "in batches (9 + 6)" and exact.mode == "in memory"
    for name in ("kind", "stars"):  # categories are counted exactly
        a, b = exact.column(name), batched.column(name)
        assert a["stats"]["chi2"] == b["stats"]["chi2"] and a["stats"]["psi"] == b["stats"]["psi"]
    for name in ("amount", "score"):
        a, b = exact.column(name), batched.column(name)
        true_d = stats.ks_2samp(ref[name].dropna(), cur[name].dropna()).statistic
        bound = float(b["notes"][0].split("at most ")[1].split(" below")[0])
        assert (
            b["stats"]["ks"]["statistic"]
            <= true_d + 1e-12
            <= b["stats"]["ks"]["statistic"] + bound + 1e-12
        )
        assert b["stats"]["wasserstein"] == pytest.approx(
            a["stats"]["wasserstein"], rel=0.02, abs=1e-3
        )
        assert b["stats"]["psi"] == pytest.approx(a["stats"]["psi"], abs=0.01)
        assert b["missing"] == a["missing"] and b["drifted"] == a["drifted"]
    assert batched.drifted_columns == exact.drifted_columns
    assert batched.time_column == exact.time_column == "when" and batched.period == exact.period
    rates = {m["metric"]: m["current"] for m in batched.performance["metrics"]}
    expected = {m["metric"]: m["current"] for m in exact.performance["metrics"]}
    assert rates == pytest.approx({k: v for k, v in expected.items() if k != "roc_auc"})
    assert [w["metrics"] for w in batched.performance["windows"]] == [
        w["metrics"] for w in exact.performance["windows"]
    ]


def test_files_and_iterators_in_batches(pair, tmp_path):
    ref, cur = pair
    ref.to_parquet(tmp_path / "ref.parquet", row_group_size=10_000)
    folder = tmp_path / "cur"
    folder.mkdir()
    cur.iloc[:20_000].to_parquet(folder / "part-0.parquet")
    cur.iloc[20_000:].to_parquet(folder / "part-1.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    from_files = compare(
        str(tmp_path / "ref.parquet"),
        str(folder),
        chunked=True,
        batch_rows=9_000,
        time="none",
        record=False,
    )
    assert from_files.rows["current"] == 40_000 and from_files.reference["path"].endswith(
        "ref.parquet"
    )
    csv = compare(
        str(tmp_path / "ref.parquet"),
        str(tmp_path / "cur.csv"),
        chunked=True,
        time="none",
        record=False,
    )
    assert csv.column("kind")["stats"]["chi2"] == from_files.column("kind")["stats"]["chi2"]

    def ref_batches():
        return (ref.iloc[i : i + 25_000] for i in range(0, len(ref), 25_000))

    streamed = compare(
        ref_batches,
        (cur.iloc[i : i + 5_000] for i in range(0, len(cur), 5_000)),
        time="none",
        record=False,
    )
    assert streamed.column("kind")["stats"]["chi2"] == from_files.column("kind")["stats"]["chi2"]
    with pytest.raises(
        InvalidInput,
        match=r"^The reference is an iterator that can be read only once, but "
        r"drift reads the reference twice",
    ):
        compare(iter([ref]), cur, record=False)
    with pytest.raises(InvalidInput, match=r"yielded a dict; every batch must be a DataFrame"):
        compare(lambda: iter([{"a": 1}]), cur, record=False)
    with pytest.raises(InvalidInput, match=r"^The current data has no rows"):
        compare(ref_batches, lambda: iter([cur.iloc[:0]]), record=False)


def test_columns_without_values_and_type_changes_in_batches():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "gone": np.nan, "t": rng.normal(size=3000)})
    cur = pd.DataFrame({"x": np.nan, "gone": rng.normal(size=3000), "t": ["a"] * 3000})
    report = compare(ref, cur, chunked=True, batch_rows=1000, record=False)
    assert report.column("x")["drifted"] and report.column("x")["missing"]["current"] == 1.0
    assert report.column("gone")["drifted"] and report.column("gone")["count"] == [0, 3000]
    assert report.schema["type_changed"][0]["column"] == "t"
