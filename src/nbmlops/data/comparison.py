"""``diff``: schema, row count and per-column statistic changes between two versions (from their
manifests alone), and with a key the rows added, removed and changed, with samples.

Two versions of files compare by path: files added, removed and changed (their digests differ),
also from the manifests alone."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..result import Block, Fields, Heading, Note, Result, Table, fmt, fmt_bytes
from ..workspace import open_current
from .tables import read_frame
from .versions import find, read_manifest

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

STATS = ("count", "nulls", "min", "max", "mean", "std", "distinct")


@dataclasses.dataclass(repr=False)
class DiffResult(Result):
    """What changed from version ``a`` to version ``b``."""

    a: str
    b: str
    rows: tuple[int, int]
    schema: list[dict[str, Any]]
    stats: list[dict[str, Any]]
    shared_bytes: int
    bytes_b: int
    key: str | None = None
    added: int | None = None
    removed: int | None = None
    changed: int | None = None
    changed_by_column: dict[str, int] = dataclasses.field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    unit: str = "rows"  # rows (tables) or files

    @property
    def identical(self) -> bool:
        return (
            not self.schema
            and not self.stats
            and self.rows[0] == self.rows[1]
            and not self.changed
            and not self.added
            and not self.removed
        )

    def blocks(self) -> list[Block]:
        out: list[Block] = [
            Heading(f"{self.a} -> {self.b}"),
            Fields(
                [
                    (
                        self.unit,
                        f"{self.rows[0]:,} -> {self.rows[1]:,} ({self.rows[1] - self.rows[0]:+,})",
                    ),
                    (
                        "chunks reused",
                        f"{fmt_bytes(self.shared_bytes)} of {fmt_bytes(self.bytes_b)}",
                    ),
                ]
            ),
        ]
        if self.schema:
            out.append(
                Table(
                    ["column", "change", self.a, self.b],
                    [
                        [s["column"], s["change"], s.get("a", ""), s.get("b", "")]
                        for s in self.schema
                    ],
                    title="Schema changes",
                )
            )
        if self.stats:
            out.append(
                Table(
                    ["column", "statistic", self.a, self.b, "change"],
                    [[s["column"], s["stat"], s["a"], s["b"], s["change"]] for s in self.stats],
                    title="Statistic changes",
                )
            )
        out += self.keyed_blocks()
        if self.identical:
            out.append(Note(f"{self.a} and {self.b} hold the same data.", "ok"))
        return out

    def keyed_blocks(self) -> list[Block]:
        """The rows (or files) added, removed and changed, with samples; nothing without a key."""
        if self.key is None:
            return []
        out: list[Block] = [
            Fields(
                [
                    ("key", self.key),
                    (f"{self.unit} added", f"{self.added:,}"),
                    (f"{self.unit} removed", f"{self.removed:,}"),
                    (f"{self.unit} changed", f"{self.changed:,}"),
                ]
            )
        ]
        if self.changed_by_column:
            out.append(
                Table(
                    ["column", "rows changed"],
                    sorted(self.changed_by_column.items(), key=lambda kv: -kv[1]),
                    title="Changed values by column",
                )
            )
        for what, rows in self.samples.items():
            if rows:
                columns = list(rows[0])
                out.append(
                    Table(
                        columns,
                        [[r[c] for c in columns] for r in rows],
                        title=f"Sample of {what} {self.unit}",
                    )
                )
        return out


def _schema(ma: dict[str, Any], mb: dict[str, Any]) -> list[dict[str, Any]]:
    ca = {c["name"]: c for c in ma["columns"]}
    cb = {c["name"]: c for c in mb["columns"]}
    out = [{"column": n, "change": "removed", "a": ca[n]["dtype"]} for n in ca if n not in cb]
    out += [{"column": n, "change": "added", "b": cb[n]["dtype"]} for n in cb if n not in ca]
    out += [
        {"column": n, "change": "dtype", "a": ca[n]["dtype"], "b": cb[n]["dtype"]}
        for n in ca
        if n in cb and ca[n]["dtype"] != cb[n]["dtype"]
    ]
    return out


def _change(x: Any, y: Any) -> str:
    if isinstance(x, (int, float)) and isinstance(y, (int, float)) and not isinstance(x, bool):
        delta = y - x
        rel = f" ({delta / abs(x):+.1%})" if x else ""
        return f"{fmt(delta) if delta < 0 else '+' + fmt(delta)}{rel}"
    return "changed"


def _stats(ma: dict[str, Any], mb: dict[str, Any]) -> list[dict[str, Any]]:
    cb = {c["name"]: c for c in mb["columns"]}
    out = []
    for col in ma["columns"]:
        if col["name"] not in cb:
            continue
        sa, sb = col["stats"], cb[col["name"]]["stats"]
        for stat in STATS:
            x, y = sa.get(stat), sb.get(stat)
            if x != y:
                out.append(
                    {"column": col["name"], "stat": stat, "a": x, "b": y, "change": _change(x, y)}
                )
        va, vb = sa.get("values") or {}, sb.get("values") or {}
        new, gone = sorted(set(vb) - set(va)), sorted(set(va) - set(vb))
        if new:
            out.append(
                {
                    "column": col["name"],
                    "stat": "new values",
                    "a": "",
                    "b": ", ".join(new[:10]),
                    "change": len(new),
                }
            )
        if gone:
            out.append(
                {
                    "column": col["name"],
                    "stat": "values gone",
                    "a": ", ".join(gone[:10]),
                    "b": "",
                    "change": len(gone),
                }
            )
    return out


def _keyed(frame: pd.DataFrame, key: str, ref: str) -> pd.DataFrame:
    if key not in frame.columns:
        raise InvalidInput(f"{ref} has no column {key!r} to use as the key.")
    if frame[key].isna().any() or not frame[key].is_unique:
        raise InvalidInput(
            f"The key {key!r} is not unique in {ref} (or has nulls); pick a column that names "
            "each row once."
        )
    return frame.set_index(key)


def _differs(x: pd.Series, y: pd.Series) -> pd.Series:
    """Row by row: do two aligned columns hold different values (two nulls are equal)?"""
    try:
        ne = x.ne(y)
    except TypeError:  # categoricals with other categories, mixed kinds
        ne = x.astype(object).ne(y.astype(object))
    both_null = x.isna().to_numpy() & y.isna().to_numpy()
    return ne.fillna(True).astype(bool) & ~both_null


def _plain(value: Any) -> Any:
    """A sample cell as plain JSON-able data (timestamps as text, missing as None)."""
    import pandas as pd  # lazy: start-up time

    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    return value.item() if hasattr(value, "item") else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: _plain(v) for k, v in row.items()} for row in frame.reset_index().to_dict("records")
    ]


def _rows_diff(
    result: DiffResult, fa: pd.DataFrame, fb: pd.DataFrame, key: str, sample: int
) -> None:
    ka, kb = _keyed(fa, key, result.a), _keyed(fb, key, result.b)
    added, removed = (
        kb.index.difference(ka.index, sort=False),
        ka.index.difference(kb.index, sort=False),
    )
    common = ka.index.intersection(kb.index, sort=False)
    columns = [c for c in ka.columns if c in kb.columns]
    va, vb = ka.loc[common, columns], kb.loc[common, columns]
    changed_any = None
    by_column = {}
    for c in columns:
        mask = _differs(va[c], vb[c])
        if mask.any():
            by_column[c] = int(mask.sum())
            changed_any = mask if changed_any is None else (changed_any | mask)
    changed = common[changed_any.to_numpy()] if changed_any is not None else common[:0]
    result.key, result.added, result.removed, result.changed = (
        key,
        len(added),
        len(removed),
        len(changed),
    )
    result.changed_by_column = by_column
    result.samples = {
        "added": _records(kb.loc[added[:sample]]),
        "removed": _records(ka.loc[removed[:sample]]),
        "changed": [
            {
                key: _plain(k),
                "column": c,
                result.a: _plain(va.at[k, c]),
                result.b: _plain(vb.at[k, c]),
            }
            for k in changed[:sample]
            for c in by_column
            if _differs(va.loc[[k], c], vb.loc[[k], c]).iloc[0]
        ],
    }


def _files_diff(a: str, b: str, ma: dict[str, Any], mb: dict[str, Any], sample: int) -> DiffResult:
    """Two versions of files by path: added, removed, changed (their digests differ), and the
    bytes they share."""
    fa = {f["path"]: f for f in ma["files"]}
    fb = {f["path"]: f for f in mb["files"]}
    added = [p for p in fb if p not in fa]
    removed = [p for p in fa if p not in fb]
    changed = [p for p in fb if p in fa and fa[p]["digest"] != fb[p]["digest"]]
    in_a = {f["digest"] for f in fa.values()}
    return DiffResult(
        a,
        b,
        (len(fa), len(fb)),
        [],
        [],
        sum(f["size"] for f in fb.values() if f["digest"] in in_a),
        sum(f["size"] for f in fb.values()),
        key="path",
        added=len(added),
        removed=len(removed),
        changed=len(changed),
        samples={
            "added": [{"path": p, "size": fmt_bytes(fb[p]["size"])} for p in added[:sample]],
            "removed": [{"path": p, "size": fmt_bytes(fa[p]["size"])} for p in removed[:sample]],
            "changed": [
                {"path": p, a: fmt_bytes(fa[p]["size"]), b: fmt_bytes(fb[p]["size"])}
                for p in changed[:sample]
            ],
        },
        unit="files",
    )


def diff(
    a: str, b: str, *, key: str | None = None, sample: int = 5, store: Store | None = None
) -> DiffResult:
    """Compare two versions: schema, rows, per-column statistics; with ``key``, rows
    added/removed/changed.

    Two versions of files compare by path: files added, removed and changed.

    Example:
        >>> mo.data.diff("loans@3", "loans@4", key="loan_id").changed  # doctest: +SKIP
        412
    """

    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise InvalidInput(
            "sample is how many rows to show per kind of change: a whole number from 0, not "
            f"{sample!r}."
        )
    store = store or open_current()
    with store.read() as conn:
        ia, ib = find(conn, a), find(conn, b)
    if ia.kind != ib.kind:
        table, files = (ia, ib) if ia.kind == "table" else (ib, ia)
        raise InvalidInput(
            f"diff compares two tables or two sets of files; {table.ref} is a table and "
            f"{files.ref} holds files."
        )
    ma, mb = read_manifest(store, ia.manifest), read_manifest(store, ib.manifest)
    if ia.kind == "files":
        if key is not None:
            raise InvalidInput(
                f"{ia.ref} and {ib.ref} hold files, which are compared by path; leave out the key."
            )
        return _files_diff(ia.ref, ib.ref, ma, mb, sample)
    in_a = set(ma["sizes"])
    shared = sum(size for d, size in mb["sizes"].items() if d in in_a)
    result = DiffResult(
        ia.ref,
        ib.ref,
        (ma["rows"], mb["rows"]),
        _schema(ma, mb),
        _stats(ma, mb),
        shared,
        sum(mb["sizes"].values()),
    )
    if key is not None:
        _rows_diff(
            result,
            read_frame(store, ma, ma["columns"]),
            read_frame(store, mb, mb["columns"]),
            key,
            sample,
        )
    return result
