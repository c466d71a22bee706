"""diff and validate, checked against pandas computing the same answers independently."""

import numpy as np
import pandas as pd
import pytest

import nbmlops as mo


def loans(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "loan_id": np.arange(rows) * 3,
            "amount": rng.normal(1000, 200, rows).round(2),
            "rate": pd.array(rng.uniform(1, 9, rows).round(3), dtype="Float64"),
            "region": pd.Categorical(rng.choice(["north", "south", "east"], rows)),
            "status": rng.choice(["open", "closed"], rows),
            "opened": pd.date_range("2023-01-01", periods=rows, freq="D"),
        }
    )


def test_diff_counts_match_pandas(workspace):
    a = loans()
    rng = np.random.default_rng(7)
    b = a.drop(index=rng.choice(len(a), 30, replace=False)).copy()
    b.loc[b.sample(25, random_state=1).index, "amount"] += 5
    b.loc[b.sample(10, random_state=2).index, "status"] = "closed"
    b.loc[b.index[:3], "rate"] = pd.NA
    extra = loans(12, seed=9).assign(loan_id=lambda d: d.loan_id + 10_000)
    b = pd.concat([b, extra], ignore_index=True)
    mo.data.commit(a, "loans")
    mo.data.commit(b, "loans")
    d = mo.data.diff("loans@1", "loans@2", key="loan_id", sample=3)

    # the oracle: an outer merge with an indicator, and pandas' own compare on the shared keys
    merged = a.merge(b, on="loan_id", how="outer", indicator=True, suffixes=("_a", "_b"))
    assert d.added == (merged["_merge"] == "right_only").sum()
    assert d.removed == (merged["_merge"] == "left_only").sum()
    common = merged[merged["_merge"] == "both"]
    changed_by_col = {}
    for c in ["amount", "rate", "region", "status", "opened"]:
        x, y = common[f"{c}_a"].astype(object), common[f"{c}_b"].astype(object)
        differs = ~((x == y) | (x.isna() & y.isna()))
        if differs.sum():
            changed_by_col[c] = int(differs.sum())
    assert d.changed_by_column == changed_by_col
    sa, sb = a.set_index("loan_id"), b.set_index("loan_id")
    shared = sa.index.intersection(sb.index)
    assert d.changed == len(
        sa.loc[shared].astype(object).compare(sb.loc[shared].astype(object)).index.unique()
    )
    assert d.rows == (len(a), len(b))
    stats = {(s["column"], s["stat"]): s for s in d.stats}
    assert stats[("amount", "mean")]["a"] == pytest.approx(a.amount.mean())
    assert stats[("amount", "mean")]["b"] == pytest.approx(b.amount.mean())
    assert stats[("amount", "std")]["b"] == pytest.approx(b.amount.std())
    assert stats[("rate", "nulls")]["b"] == b.rate.isna().sum() == 3
    assert len(d.samples["added"]) == 3 and all(r["loan_id"] >= 10_000 for r in d.samples["added"])
    assert {r["column"] for r in d.samples["changed"]} <= set(changed_by_col)
    assert "Sample of changed rows" in d._repr_html_()


def test_diff_without_a_key_reads_only_manifests_and_shows_schema_changes(workspace):
    a = loans()
    b = a.drop(columns=["status"]).assign(score=1.5, loan_id=a.loan_id.astype("float64"))
    mo.data.commit(a, "loans")
    mo.data.commit(b, "loans")
    d = mo.data.diff("loans@1", "loans@2")
    assert {(s["column"], s["change"]) for s in d.schema} == {
        ("status", "removed"),
        ("score", "added"),
        ("loan_id", "dtype"),
    }
    assert d.key is None and d.shared_bytes > 0  # unchanged columns share their chunks
    same = mo.data.diff("loans@1", "loans@1")
    assert same.identical and "hold the same data" in str(same)
    with pytest.raises(mo.InvalidInput, match="The key 'region' is not unique in loans@1"):
        mo.data.diff("loans@1", "loans@2", key="region")


def test_validate_reports_every_discrepancy_at_once(workspace):
    ref = loans()
    mo.data.commit(ref, "loans")
    schema = mo.data.infer_schema("loans")
    by_name = {c["name"]: c for c in schema.columns}
    assert by_name["loan_id"]["unique"] and not by_name["amount"]["unique"]
    assert (by_name["amount"]["min"], by_name["amount"]["max"]) == (
        ref.amount.min(),
        ref.amount.max(),
    )
    assert sorted(by_name["region"]["allowed"]) == sorted(ref.region.cat.categories)
    assert sorted(by_name["status"]["allowed"]) == ["closed", "open"]
    assert mo.data.validate(ref, against="loans@1").passed

    bad = ref.drop(columns=["opened"]).assign(extra=1)
    bad["amount"] = bad["amount"].astype("float32")
    bad.loc[:4, "rate"] = pd.NA
    bad.loc[5, "status"] = "frozen"
    bad.loc[6, "loan_id"] = bad.loc[7, "loan_id"]
    bad.loc[8, "rate"] = 99.0
    report = mo.data.validate(bad, against="loans@latest")
    found = {(p["column"], p["problem"]) for p in report.problems}
    assert found == {
        ("opened", "missing column"),
        ("extra", "extra column"),
        ("amount", "type changed"),
        ("rate", "nulls where none were allowed"),
        ("rate", "out of range"),
        ("status", "unseen values"),
        ("loan_id", "duplicate values"),
    }
    rows = {(p["column"], p["problem"]): p for p in report.problems}
    assert rows[("status", "unseen values")]["sample"] == "frozen"
    assert rows[("rate", "nulls where none were allowed")]["found"] == "5 nulls"
    assert not report.passed and report.exit_code == 1
    assert "7 discrepancies" in str(report)


def test_diff_of_file_versions_lists_added_removed_and_changed_paths(workspace, tmp_path):
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha")
    (folder / "sub" / "b.bin").write_bytes(b"\x00" * 100)
    (folder / "gone.txt").write_text("bye")
    mo.data.commit(str(folder), "scans")
    (folder / "a.txt").write_text("alpha, edited")
    (folder / "gone.txt").unlink()
    (folder / "new.txt").write_text("hello")
    mo.data.commit(str(folder), "scans")
    d = mo.data.diff("scans@1", "scans@2")
    assert (d.unit, d.rows, d.added, d.removed, d.changed) == ("files", (3, 3), 1, 1, 1)
    assert [r["path"] for r in d.samples["added"]] == ["new.txt"]
    assert [r["path"] for r in d.samples["removed"]] == ["gone.txt"]
    assert [r["path"] for r in d.samples["changed"]] == ["a.txt"]
    assert d.shared_bytes == 100 and d.bytes_b == 100 + len("alpha, edited") + len("hello")
    text = str(d)
    assert "files added" in text and "Sample of changed files" in text and "rows" not in text
    assert mo.data.diff("scans@2", "scans@2").identical
    mo.data.commit(loans(), "loans")
    with pytest.raises(mo.InvalidInput, match="loans@1 is a table and scans@1 holds files"):
        mo.data.diff("scans@1", "loans@1")
    with pytest.raises(mo.InvalidInput, match="compared by path; leave out the key"):
        mo.data.diff("scans@1", "scans@2", key="path")
