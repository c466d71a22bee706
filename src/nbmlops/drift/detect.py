"""``compare()``: compare a current sample with a reference and store the report as an
evaluation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ..data.versions import reads_recorded_on_success
from ..errors import InvalidInput, WorkspaceNotFound
from ..evaluate.inputs import ModelInput, feature_frame, load_model, predict
from ..evaluate.reports import record_report
from ..workspace import open_current
from .chunked import compare_batches
from .columns import DATETIME, MAX_CATEGORIES, compare_schema, dtype_name, kind_of, numeric_values
from .frames import compare_frames
from .methods import Options
from .performance import PerformanceTally, compare_performance, parse_window
from .report import DriftReport
from .sources import BATCH_ROWS, Source, open_source

if TYPE_CHECKING:
    from ..evaluate.inputs import ModelInput
    from ..store import Store

AUTO_WINDOWS = (("1h", 3600), ("1d", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400))
MAX_WINDOWS = 20


def time_column(frame: Any, time: str | None, skip: Iterable[str]) -> str | None:
    """The column that orders the rows in time: the one named, or the only datetime column
    ("auto")."""
    if time is None or str(time).lower() == "none":
        return None
    if time != "auto":
        if time not in frame.columns:
            raise InvalidInput(f"--time {time} names no column of the current data.")
        return time
    found = [c for c in frame.columns if c not in set(skip) and kind_of(frame[c]) == DATETIME]
    return found[0] if len(found) == 1 else None


def auto_window(frame: Any, column: str | None) -> str | None:
    """A window giving at most 20 windows over the current data's time span."""
    if column is None or column not in frame.columns:
        return None

    values, _ = numeric_values(frame[column])
    if not len(values):
        return None
    span = float(values.max() - values.min())
    for name, seconds in AUTO_WINDOWS:
        if span / seconds <= MAX_WINDOWS:
            return name
    return AUTO_WINDOWS[-1][0]


def _with_predictions(source: Source, model: ModelInput, column: str) -> Source:

    def add(frame: Any) -> Any:
        if column in frame.columns or not len(frame):
            return frame
        features = feature_frame(model, frame)
        predictions = predict(model, features)
        proba = getattr(model.model, "predict_proba", None)
        classes = list(getattr(model.model, "classes_", []))
        # the score of the second class, so AUC can be computed
        if callable(proba) and len(classes) == 2:
            predictions = proba(features)[:, 1]
        return frame.assign(**{column: predictions})

    if source.in_memory:
        return Source(source.label, source.description, frame=add(source.frame))
    batches = source.batches
    assert batches is not None
    return Source(
        source.label,
        source.description,
        batches=lambda cols: (add(b) for b in batches(cols)),
        once=source.once,
    )


def _record(
    report: DriftReport, model: ModelInput | None, record: bool | None, store: Store | None
) -> None:

    if record is False:
        return
    if store is None:
        try:
            store = open_current()
        except WorkspaceNotFound:
            if record:
                raise
            report.notes.append("Not stored: no workspace here (mlops init creates one).")
            return
    report.evaluation_id = record_report("drift", report, model, store=store)


@reads_recorded_on_success()
def compare(
    reference: Any,
    current: Any,
    *,
    target: str | None = None,
    prediction: str | None = None,
    model: Any = None,
    tests: Mapping[str, str] | Sequence[str] | None = None,
    thresholds: Mapping[str, float] | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    time: str | None = "auto",
    window: str | None = None,
    chunked: bool | None = None,
    batch_rows: int = BATCH_ROWS,
    max_categories: int = MAX_CATEGORIES,
    record: bool | None = None,
    labels: tuple[str, str] | None = None,
    in_notebook: bool = False,
    store: Store | None = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column; store and return the report.

    ``reference`` and ``current`` are DataFrames, CSV/Parquet paths, dataset versions
    (``loans@3``) or batches of DataFrames (a function returning an iterator, for
    data larger than memory). ``record=None`` stores the report when a workspace exists.
    ``labels`` name the two sides in the report (default: the path or version given,
    else "reference" and "current").

    Example:
        >>> report = compare(train_df, new_batch, target="default",
        ...                  prediction="score")  # doctest: +SKIP
        >>> report.drift_share, report.drifted_columns  # doctest: +SKIP
        (0.25, ['income', 'credit_score', 'purpose'])
    """
    started = perf_counter()
    options = Options.parse(tests, thresholds)
    if max_categories < 2:
        raise InvalidInput(f"max_categories must be at least 2, not {max_categories}.")
    names = labels or tuple(
        str(v) if isinstance(v, str) else side
        for v, side in ((reference, "reference"), (current, "current"))
    )
    ref_src = open_source(
        reference, names[0], chunked=chunked, batch_rows=batch_rows, in_notebook=in_notebook
    )
    cur_src = open_source(
        current, names[1], chunked=chunked, batch_rows=batch_rows, in_notebook=in_notebook
    )
    loaded = None
    if model is not None:
        loaded = model if isinstance(model, ModelInput) else load_model(model, "model", store=store)
        prediction = prediction or "prediction"
        ref_src, cur_src = (
            _with_predictions(ref_src, loaded, prediction),
            _with_predictions(cur_src, loaded, prediction),
        )
    specials = [c for c in (target, prediction) if c]
    window_seconds = parse_window(window)
    if ref_src.in_memory and cur_src.in_memory:
        found = _in_memory(
            ref_src,
            cur_src,
            options,
            columns,
            list(exclude),
            specials,
            target,
            prediction,
            time,
            window,
            max_categories,
        )
    else:
        found = _in_batches(
            ref_src,
            cur_src,
            options,
            columns,
            list(exclude),
            specials,
            target,
            prediction,
            time,
            window_seconds,
            window,
            max_categories,
        )
    results, schema, rows, mode, time_col, window = (
        found["results"],
        found["schema"],
        found["rows"],
        found["mode"],
        found["time"],
        found["window"],
    )
    special = {r["column"]: r for r in results if r["column"] in specials}
    features = [r for r in results if r["column"] not in specials]
    notes = []
    if time_col:
        notes.append(f"{time_col} is the time axis: not compared (use --time none to compare it).")
    perf = found.get("performance")
    subject = {
        "reference": ref_src.description,
        "current": cur_src.description,
        "data": cur_src.description,
        "model": loaded.label if loaded else None,
        "model_ref": loaded.ref if loaded else None,
    }
    report = DriftReport(
        reference={"label": ref_src.label, **ref_src.description},
        current={"label": cur_src.label, **cur_src.description},
        columns=features,
        schema=schema,
        options=options.to_dict(),
        rows=rows,
        target=special.get(target) if target else None,
        prediction=special.get(prediction) if prediction else None,
        performance=perf,
        mode=mode,
        time_column=time_col,
        window=window,
        model=loaded.label if loaded else None,
        notes=notes + found.get("notes", []),
        subject=subject,
        period=found.get("period"),
    )
    report.seconds = perf_counter() - started
    _record(report, loaded, record, store)
    return report


def _check_specials(names: Sequence[str], schema_columns: set[str], side: str) -> None:
    for name in names:
        if name not in schema_columns:
            raise InvalidInput(f"The {side} has no column {name!r}; check --target / --prediction.")


def _schema_dict(schema: Any, excluded: list[str]) -> dict[str, Any]:
    return {
        "only_reference": schema.only_reference,
        "only_current": schema.only_current,
        "type_changed": schema.type_changed,
        "excluded": excluded,
    }


def _in_memory(
    ref_src: Source,
    cur_src: Source,
    options: Options,
    columns: Sequence[str] | None,
    exclude: list[str],
    specials: list[str],
    target: str | None,
    prediction: str | None,
    time: str | None,
    window: str | None,
    max_categories: int,
) -> dict[str, Any]:
    ref, cur = ref_src.frame, cur_src.frame
    for source, side in ((ref_src, "reference"), (cur_src, "current data")):
        if len(source.frame) == 0:
            raise InvalidInput(
                f"{source.called(side)} has no rows; drift needs at least one row on each side."
            )
    if target:
        _check_specials([target], set(cur.columns), "current data")
    if prediction:
        _check_specials([prediction], set(cur.columns), "current data")
    time_col = time_column(cur, time, specials)
    skip = [*exclude, *([time_col] if time_col else [])]
    ref_kinds = {c: (kind_of(ref[c]), dtype_name(ref[c])) for c in ref.columns}
    cur_kinds = {c: (kind_of(cur[c]), dtype_name(cur[c])) for c in cur.columns}
    wanted = None if columns is None else [*columns, *[s for s in specials if s not in columns]]
    _check_wanted(wanted, set(ref.columns) | set(cur.columns))
    schema = compare_schema(ref_kinds, cur_kinds, wanted, skip)
    options.check_columns(
        schema.kinds, [*ref.columns, *[c for c in cur.columns if c not in ref.columns]]
    )
    cells = (len(ref) + len(cur)) * len(schema.compared)
    progress = None
    bar = None
    if cells > 50_000_000:
        from tqdm.auto import tqdm  # lazy: start-up time

        bar = tqdm(
            total=len(schema.compared), desc="drift", unit=" columns", leave=False, disable=None
        )
        progress = bar.update
    try:
        results = compare_frames(
            ref,
            cur,
            schema.compared,
            schema.kinds,
            schema.dtypes,
            options,
            max_categories=max_categories,
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    out: dict[str, Any] = {
        "results": results,
        "schema": _schema_dict(schema, list(exclude)),
        "mode": "in memory",
        "rows": {"reference": len(ref), "current": len(cur)},
        "time": time_col,
        "window": None,
        "period": _period(cur[time_col]) if time_col else None,
    }
    if target and prediction and target in ref.columns and prediction in ref.columns:
        window = window or auto_window(cur, time_col)
        seconds = parse_window(window) if time_col else None
        ref_tally = PerformanceTally(target, prediction)
        ref_tally.add(ref)
        cur_tally = PerformanceTally(
            target, prediction, time_column=time_col, window=seconds, task=ref_tally.task
        )
        cur_tally.add(cur)
        out["performance"] = compare_performance(
            ref_tally, cur_tally, options.thresholds["performance"]
        )
        out["window"] = window if time_col else None
    elif target and prediction:
        out["notes"] = [
            f"The reference has no {target!r} or {prediction!r} column, so quality is not compared."
        ]
    return out


def _period(stamps: Any, seen: list[float] | None = None) -> list[float] | None:
    """First and last time of a time column (epoch seconds), merged into ``seen``."""

    values, _ = numeric_values(stamps)
    if not len(values):
        return seen
    low, high = float(values.min()), float(values.max())
    return [min(low, seen[0]), max(high, seen[1])] if seen else [low, high]


def _check_wanted(wanted: Sequence[str] | None, known: set[str]) -> None:
    if wanted is None:
        return
    unknown = [c for c in wanted if c not in known]
    if unknown:
        raise InvalidInput(
            f"No column is called {', '.join(repr(c) for c in unknown)} on either side."
        )


def _in_batches(
    ref_src: Source,
    cur_src: Source,
    options: Options,
    columns: Sequence[str] | None,
    exclude: list[str],
    specials: list[str],
    target: str | None,
    prediction: str | None,
    time: str | None,
    window_seconds: float | None,
    window: str | None,
    max_categories: int,
) -> dict[str, Any]:

    tallies: dict[str, PerformanceTally] = {}
    state: dict[str, Any] = {"time": None, "settled": False}

    def on_reference(batch: Any) -> None:
        if target and prediction and target in batch.columns and prediction in batch.columns:
            tallies.setdefault(
                "reference", PerformanceTally(target, prediction, keep_scores=False)
            ).add(batch)

    def on_current(batch: Any) -> None:
        if not state["settled"]:
            state["time"] = time_column(batch, time, specials)
            state["settled"] = True
        if state["time"] in batch.columns:
            state["period"] = _period(batch[state["time"]], state.get("period"))
        if target and prediction and "reference" in tallies:
            if "current" not in tallies:
                tallies["current"] = PerformanceTally(
                    target,
                    prediction,
                    time_column=state["time"],
                    window=window_seconds or 7 * 86_400.0,
                    task=tallies["reference"].task,
                    keep_scores=False,
                )
            tallies["current"].add(batch)

    wanted = None if columns is None else [*columns, *[s for s in specials if s not in columns]]
    schema, results, rows = compare_batches(
        ref_src,
        cur_src,
        columns=wanted,
        exclude=list(exclude),
        options=options,
        max_categories=max_categories,
        ref_hooks=[on_reference],
        cur_hooks=[on_current],
    )
    options.check_columns(
        schema.kinds, [*schema.kinds, *schema.only_reference, *schema.only_current]
    )
    time_col = state["time"]
    results = [r for r in results if r["column"] != time_col]
    out: dict[str, Any] = {
        "results": results,
        "schema": _schema_dict(schema, list(exclude)),
        "rows": rows,
        "mode": f"in batches ({rows['reference_batches']} + {rows['current_batches']})",
        "time": time_col,
        "window": None,
        "period": state.get("period"),
    }
    if "current" in tallies:
        out["performance"] = compare_performance(
            tallies["reference"], tallies["current"], options.thresholds["performance"]
        )
        out["window"] = (window or "7d") if time_col else None
        out["notes"] = (
            ["ROC AUC is not computed in batches (it needs every score at once)."]
            if tallies["current"].task == "scores"
            else []
        )
    return out
