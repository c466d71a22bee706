"""Schemas inferred from a version, and validation of new data against them (through pandera).

The schema comes from the version's manifest statistics, so inferring it reads
no data: column types, nullability, observed ranges, allowed values (the
categories of a categorical, or the few values of a low-cardinality text
column) and uniqueness. pandera runs the checks lazily and reports every
failure at once; we group its failure cases into one row per column and check.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, NotFound, require
from ..result import Block, Fields, Heading, Note, Result, Table
from ..verdict import Finding, Verdict
from ..workspace import open_current
from .committing import TABLE_SUFFIXES, read_table_file
from .reading import load, table_version
from .tables import check_frame

if TYPE_CHECKING:
    import pandas as pd

    from ..store import Store

SAMPLE = 5


@dataclasses.dataclass(repr=False)
class Schema(Result):
    """The columns a version promises: type, nullability, range, allowed values, uniqueness."""

    ref: str
    columns: list[dict[str, Any]]

    def blocks(self) -> list[Block]:
        rows = [
            [
                c["name"],
                c["dtype"],
                "yes" if c["nullable"] else "no",
                c.get("min", ""),
                c.get("max", ""),
                ", ".join(map(str, c["allowed"][:8])) + (", ..." if len(c["allowed"]) > 8 else "")
                if c.get("allowed")
                else "",
                "yes" if c["unique"] else "",
            ]
            for c in self.columns
        ]
        return [
            Heading(f"Schema of {self.ref}"),
            Table(
                ["column", "dtype", "nulls allowed", "min", "max", "allowed values", "unique"], rows
            ),
        ]


def infer_schema(ref: str, *, store: Store | None = None) -> Schema:
    """The schema observed in a version (no data is read: the manifest has the statistics).

    Example:
        >>> mo.data.infer_schema("loans@latest").columns[0]["dtype"]  # doctest: +SKIP
        'int64'
    """

    store = store or open_current()
    info, manifest = table_version(ref, store)
    columns = []
    for spec in manifest["columns"]:
        stats = spec["stats"]
        column: dict[str, Any] = {
            "name": spec["name"],
            "dtype": spec["dtype"],
            "nullable": stats["nulls"] > 0,
            "unique": bool(stats.get("unique")),
            "kind": stats["kind"],
        }
        if "min" in stats:
            column["min"], column["max"] = stats["min"], stats["max"]
        if stats["kind"] == "category" and spec.get("categories") is not None:
            column["allowed"] = spec["categories"]
        elif stats["kind"] == "text" and stats.get("values"):
            column["allowed"] = list(stats["values"])
        columns.append(column)
    return Schema(info.ref, columns)


@dataclasses.dataclass(repr=False)
class ValidationReport(Verdict):
    """Every discrepancy between some data and a schema, one row per column and check."""

    data: str
    against: str
    rows: int
    problems: list[dict[str, Any]]

    @property
    def findings(self) -> list[Finding]:
        return [
            Finding(p["problem"], p["column"], f"expected {p['expected']}, found {p['found']}")
            for p in self.problems
        ]

    def blocks(self) -> list[Block]:
        out: list[Block] = [
            Heading(f"{self.data} against the schema of {self.against}"),
            Fields([("rows", f"{self.rows:,}"), ("problems", len(self.problems))]),
        ]
        if self.passed:
            return [
                *out,
                Note(
                    f"{self.data} matches every column, type, range and value of {self.against}.",
                    "ok",
                ),
            ]
        out.append(
            Table(
                ["column", "problem", "expected", "found", "rows", "sample"],
                [
                    [p["column"], p["problem"], p["expected"], p["found"], p["rows"], p["sample"]]
                    for p in self.problems
                ],
                marked_rows=set(range(len(self.problems))),
            )
        )
        out.append(
            Note(
                f"{len(self.problems)} discrepanc{'y' if len(self.problems) == 1 else 'ies'} "
                f"against {self.against}.",
                "alert",
            )
        )
        return out


def _pandera_schema(schema: Schema) -> Any:
    import pandas as pd  # lazy: start-up time

    pa = require("pandera.pandas", package="pandera", extra="validate", feature="Data validation")
    columns = {}
    for c in schema.columns:
        checks = []
        if "min" in c and c["kind"] == "numeric":
            checks.append(pa.Check.in_range(c["min"], c["max"]))
        elif "min" in c and c["kind"] == "datetime":
            checks.append(pa.Check.in_range(pd.Timestamp(c["min"]), pd.Timestamp(c["max"])))
        if c.get("allowed"):
            checks.append(pa.Check.isin(c["allowed"]))
        dtype = "category" if c["kind"] == "category" else pd.api.types.pandas_dtype(c["dtype"])
        columns[c["name"]] = pa.Column(
            dtype, checks=checks, nullable=c["nullable"], unique=c["unique"]
        )
    return pa.DataFrameSchema(columns, strict=True, ordered=False)


def _problem(
    check: str,
    column: str | None,
    schema_col: dict[str, Any] | None,
    frame: pd.DataFrame,
    cases: pd.DataFrame,
) -> dict[str, Any]:
    sample = ", ".join(str(v) for v in cases["failure_case"].drop_duplicates().head(SAMPLE))
    rows = int(cases["index"].nunique()) if cases["index"].notna().any() else ""
    if check == "column_in_schema":
        return {
            "column": sample,
            "problem": "extra column",
            "expected": "",
            "found": str(frame[sample].dtype),
            "rows": "",
            "sample": "",
        }
    if check == "column_in_dataframe":
        return {
            "column": sample,
            "problem": "missing column",
            "expected": schema_col["dtype"] if schema_col else "",
            "found": "",
            "rows": "",
            "sample": "",
        }
    assert schema_col is not None and column is not None
    if check == "not_nullable":
        return {
            "column": column,
            "problem": "nulls where none were allowed",
            "expected": "no nulls",
            "found": f"{int(frame[column].isna().sum()):,} nulls",
            "rows": rows,
            "sample": "",
        }
    if check.startswith("dtype("):
        return {
            "column": column,
            "problem": "type changed",
            "expected": schema_col["dtype"],
            "found": str(frame[column].dtype),
            "rows": "",
            "sample": "",
        }
    if check.startswith("in_range"):
        return {
            "column": column,
            "problem": "out of range",
            "expected": f"{schema_col['min']} .. {schema_col['max']}",
            "found": f"{frame[column].min()} .. {frame[column].max()}",
            "rows": rows,
            "sample": sample,
        }
    if check.startswith("isin"):
        return {
            "column": column,
            "problem": "unseen values",
            "expected": f"{len(schema_col['allowed'])} known values",
            "found": f"{cases['failure_case'].nunique()} new",
            "rows": rows,
            "sample": sample,
        }
    if check == "field_uniqueness":
        return {
            "column": column,
            "problem": "duplicate values",
            "expected": "unique",
            "found": "duplicates",
            "rows": rows,
            "sample": sample,
        }
    return {
        "column": column,
        "problem": check,
        "expected": "",
        "found": "",
        "rows": rows,
        "sample": sample,
    }


def _data(data: Any, store: Store) -> tuple[Any, str]:
    import pandas as pd  # lazy: start-up time

    if isinstance(data, pd.DataFrame):
        return data, "the DataFrame"
    if isinstance(data, str):
        if Path(data).is_file():
            return read_table_file(Path(data)), data
        if "/" in data or data.lower().endswith(TABLE_SUFFIXES):
            raise NotFound(
                f"No file named {data!r}; give a CSV/Parquet file, a DataFrame or a version such "
                "as loans@3."
            )
        return load(data, store=store), data
    raise InvalidInput(
        f"Only a DataFrame, a CSV/Parquet file or a dataset version can be validated, "
        f"not {type(data).__name__}."
    )


def validate(
    data: Any, against: str, *, label: str | None = None, store: Store | None = None
) -> ValidationReport:
    """Check a DataFrame (or file, or version) against the schema inferred from ``against``; every
    problem at once.

    Example:
        >>> report = mo.data.validate(new_df, against="loans@latest")  # doctest: +SKIP
        >>> report.passed, report.to_frame()  # doctest: +SKIP
    """
    store = store or open_current()
    schema = infer_schema(against, store=store)
    frame, name = _data(data, store)

    check_frame(frame)
    pa = require("pandera.pandas", package="pandera", extra="validate", feature="Data validation")
    problems: list[dict[str, Any]] = []
    try:
        _pandera_schema(schema).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as e:
        by_name = {c["name"]: c for c in schema.columns}
        cases = e.failure_cases
        cases["check"] = cases["check"].astype(str)
        for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
            column = (
                None
                if column is None or (isinstance(column, float) and column != column)
                else column
            )
            problems.append(
                _problem(
                    check,
                    column,
                    by_name.get(column) or by_name.get(group["failure_case"].iloc[0]),
                    frame,
                    group,
                )
            )
    order = {c["name"]: i for i, c in enumerate(schema.columns)}
    problems.sort(key=lambda p: (order.get(p["column"], len(order)), p["problem"]))
    return ValidationReport(label or name, schema.ref, len(frame), problems)
