"""Drift over batches: two passes over the reference, one over the current data.

Pass 1 reads the reference (kinds, category counts, a sample and the moments of
each numeric column), the current data is read once (counts, binned values),
and pass 2 bins the reference numeric columns on the same edges. Memory holds
one batch plus small summaries per column, whatever the data size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .columns import (
    CATEGORICAL,
    EMPTY,
    NUMERIC,
    Schema,
    category_counts,
    compare_schema,
    dtype_name,
    kind_of,
    numeric_values,
)
from .frames import column_result, compare_categorical_counts
from .methods import Options
from .sketch import (
    BinnedSide,
    CategoryTally,
    ReferenceSample,
    binned_histogram,
    binned_numeric_stats,
)
from .sources import Source

Hook = Callable[[Any], None]


@dataclasses.dataclass
class Pass:
    """What one read of a side saw."""

    kinds: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    rows: int = 0
    batches: int = 0


def _batches(source: Source, columns: list[str] | None, what: str) -> Iterator[Any]:
    import pandas as pd  # lazy: start-up time
    from tqdm.auto import tqdm  # lazy: start-up time

    assert source.batches is not None
    for batch in tqdm(
        source.batches(columns), desc=f"drift: {what}", unit=" batches", leave=False, disable=None
    ):
        if not isinstance(batch, pd.DataFrame):
            raise InvalidInput(
                f"{source.label} yielded a {type(batch).__name__}; every batch must be a DataFrame."
            )
        yield batch


def _note_kinds(seen: Pass, batch: Any) -> None:
    for name in batch.columns:
        kind = kind_of(batch[name])
        if name not in seen.kinds or seen.kinds[name][0] == EMPTY:
            seen.kinds[name] = (kind, dtype_name(batch[name]))


def _reference_pass(
    source: Source, columns: list[str] | None, seed: int, hooks: list[Hook]
) -> tuple[Pass, dict[str, ReferenceSample], dict[str, CategoryTally]]:
    seen = Pass()
    samples: dict[str, ReferenceSample] = {}
    tallies: dict[str, CategoryTally] = {}
    for batch in _batches(source, columns, "reference, pass 1 of 2"):
        _note_kinds(seen, batch)
        seen.rows += len(batch)
        seen.batches += 1
        for name in batch.columns:
            kind = seen.kinds[name][0]
            if kind == CATEGORICAL:
                tallies.setdefault(name, CategoryTally()).add(category_counts(batch[name]))
            elif kind in (NUMERIC, "datetime"):
                values, missing = numeric_values(batch[name])
                samples.setdefault(name, ReferenceSample(seed + len(samples))).add(values, missing)
            elif kind == EMPTY:
                tallies.setdefault(name, CategoryTally()).add(category_counts(batch[name]))
        for hook in hooks:
            hook(batch)
    return seen, samples, tallies


def compare_batches(
    ref: Source,
    cur: Source,
    *,
    columns: list[str] | None,
    exclude: list[str],
    options: Options,
    max_categories: int,
    seed: int = 0,
    ref_hooks: list[Hook] = (),  # type: ignore[assignment]
    cur_hooks: list[Hook] = (),
) -> tuple[Schema, list[dict[str, Any]], dict[str, int]]:  # type: ignore[assignment]
    """Compare two batched sources column by column; returns the schema, column results and row
    counts.

    Example:
        >>> reference = open_source(f, "ref", chunked=True)  # doctest: +SKIP
        >>> current = open_source(g, "cur", chunked=True)  # doctest: +SKIP
        >>> schema, results, rows = compare_batches(
        ...     reference, current, columns=None, exclude=[], options=Options(), max_categories=100
        ... )  # doctest: +SKIP
    """
    if ref.once:
        raise InvalidInput(
            f"{ref.called('reference')} is an iterator that can be read only once, but drift reads "
            "the reference twice; pass a function that returns a new iterator, a file, or a "
            "dataset version."
        )
    ref_seen, samples, ref_tallies = _reference_pass(ref, columns, seed, list(ref_hooks))
    if ref_seen.rows == 0:
        raise InvalidInput(
            f"{ref.called('reference')} has no rows; drift needs at least one row on each side."
        )
    small = {name for name, s in samples.items() if s.small_range}
    edges = {
        name: s.edges() for name, s in samples.items() if name not in small and s.moments.n > 0
    }
    cur_seen = Pass()
    cur_tallies: dict[str, CategoryTally] = {}
    # numeric columns without reference values still count the current values (for the missing
    # share)
    cur_bins = {
        name: BinnedSide(edges.get(name, np.empty(0))) for name in samples if name not in small
    }
    for batch in _batches(cur, columns, "current data"):
        _note_kinds(cur_seen, batch)
        cur_seen.rows += len(batch)
        cur_seen.batches += 1
        for name in batch.columns:
            if name in cur_bins and cur_seen.kinds[name][0] in (NUMERIC, "datetime", EMPTY):
                cur_bins[name].add(*numeric_values(batch[name]))
            elif (
                name in small
                or cur_seen.kinds[name][0] in (CATEGORICAL, EMPTY)
                or name not in samples
            ):
                as_numbers = name in small and cur_seen.kinds[name][0] != CATEGORICAL
                cur_tallies.setdefault(name, CategoryTally()).add(
                    category_counts(batch[name], as_numbers=as_numbers)
                )
        for hook in cur_hooks:
            hook(batch)
    if cur_seen.rows == 0:
        raise InvalidInput(
            f"{cur.called('current data')} has no rows; drift needs at least one row on each side."
        )
    schema = compare_schema(ref_seen.kinds, cur_seen.kinds, columns, exclude)
    ref_bins = {name: BinnedSide(e) for name, e in edges.items() if name in schema.compared}
    if ref_bins:
        for batch in _batches(ref, list(ref_bins), "reference, pass 2 of 2"):
            for name in ref_bins:
                if name in batch.columns:
                    ref_bins[name].add(*numeric_values(batch[name]))
    results = []
    for name in schema.compared:
        kind, dtypes = schema.kinds[name], schema.dtypes[name]
        if name in ref_bins:
            results.append(
                _numeric_result(name, kind, dtypes, ref_bins[name], cur_bins[name], options)
            )
            continue
        if name in small or kind == CATEGORICAL:
            ref_counts = (
                samples[name].small_counts() if name in small else ref_tallies[name].result()
            )
            results.append(
                compare_categorical_counts(
                    name,
                    kind,
                    dtypes,
                    ref_counts,
                    cur_tallies.get(name, CategoryTally()).result(),
                    options,
                    max_categories,
                    compared_as=CATEGORICAL if name in small else None,
                )
            )
            continue
        # a numeric column with no value in the reference: only its missing share can be compared
        ref_missing = samples[name].missing if name in samples else ref_tallies[name].missing
        if name in cur_bins:
            cur_n, cur_missing = cur_bins[name].moments.n, cur_bins[name].missing
        else:
            found = cur_tallies.get(name, CategoryTally()).result()
            cur_n, cur_missing = int(found.counts.sum()), found.missing
        results.append(
            column_result(
                name,
                kind,
                dtypes,
                (0, cur_n),
                (ref_missing, cur_missing),
                None,
                options,
                notes=[
                    "every value is missing in the reference, so only the missing share is compared"
                ],
            )
        )
    rows = {
        "reference": ref_seen.rows,
        "current": cur_seen.rows,
        "reference_batches": ref_seen.batches,
        "current_batches": cur_seen.batches,
    }
    return schema, results, rows


def _numeric_result(
    name: str,
    kind: str,
    dtypes: tuple[str, str],
    ref: BinnedSide,
    cur: BinnedSide,
    options: Options,
) -> dict[str, Any]:
    counts = (ref.moments.n, cur.moments.n)
    if cur.moments.n == 0:
        return column_result(
            name,
            kind,
            dtypes,
            counts,
            (ref.missing, cur.missing),
            None,
            options,
            notes=[
                "every value is missing in the current data, so only the missing share is compared"
            ],
        )
    found = binned_numeric_stats(ref, cur)
    notes = ["computed in batches: " + found["ks"]["method"]]
    return column_result(
        name,
        kind,
        dtypes,
        counts,
        (ref.missing, cur.missing),
        found,
        options,
        notes=notes,
        histogram=binned_histogram(ref, cur, kind),
    )
